// A small Prometheus text-format (0.0.4) writer. meshsim observes thousands of
// requests a second into a few thousand series; prom-client's per-call label
// hashing would dominate the cost, so callers resolve a series once to a cell and
// increment it directly.
//
// Istio's label set makes every line ~900 bytes, and a histogram series has 22
// lines, so a large mesh scrapes to tens of MB. Building that as JS strings costs
// more than generating the traffic; instead each series encodes its line prefixes
// (`name{labels} `) to bytes once, and a scrape is mostly copying those bytes.

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** `a="x",b="y"` (no braces), in the given name order. */
export function formatLabels(names: readonly string[], values: readonly string[]): string {
  let out = "";
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += ",";
    out += `${names[i]}="${escapeLabelValue(values[i] ?? "")}"`;
  }
  return out;
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

/** An append-only byte buffer for one scrape. */
export class ExpositionWriter {
  private buf: Buffer;
  private length = 0;

  constructor(sizeHint = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(1024, sizeHint));
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  text(s: string): void {
    const n = Buffer.byteLength(s);
    this.reserve(n);
    this.length += this.buf.write(s, this.length, n, "utf8");
  }

  /** A pre-encoded prefix followed by a value and a newline (the hot path of a scrape). */
  sample(prefix: Uint8Array, value: number): void {
    const digits = formatValue(value); // always ASCII
    this.reserve(prefix.length + digits.length + 1);
    const buf = this.buf;
    buf.set(prefix, this.length);
    let at = this.length + prefix.length;
    for (let i = 0; i < digits.length; i++) buf[at++] = digits.charCodeAt(i);
    buf[at++] = 10;
    this.length = at;
  }

  header(name: string, help: string, type: string): void {
    this.text(
      `# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n# TYPE ${name} ${type}\n`,
    );
  }

  /** Empties the writer, keeping its memory: reuse it once the previous output is no longer read. */
  reset(): void {
    this.length = 0;
  }

  get size(): number {
    return this.length;
  }

  toBuffer(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  toString(): string {
    return this.buf.toString("utf8", 0, this.length);
  }
}

/** `name{labels} ` as bytes, ready to be followed by a value. */
export function encodePrefix(name: string, labels: string): Buffer {
  return Buffer.from(labels === "" ? `${name} ` : `${name}{${labels}} `);
}

interface EncodedHistogram {
  readonly key: string;
  readonly buckets: Buffer[];
  readonly inf: Buffer;
  readonly sum: Buffer;
  readonly count: Buffer;
}

/** One histogram series: per-bucket (non-cumulative) counts, sum and count. */
export class HistogramCell {
  readonly buckets: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  private encoded: EncodedHistogram | undefined;

  constructor(buckets: readonly number[]) {
    this.buckets = buckets;
    this.counts = new Float64Array(buckets.length);
  }

  observe(value: number, times = 1): void {
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (value <= (b[i] ?? Number.POSITIVE_INFINITY)) {
        this.counts[i] = (this.counts[i] ?? 0) + times;
        break;
      }
    }
    this.sum += value * times;
    this.count += times;
  }

  /** `labels` is the formatted label list without braces (may be empty). */
  render(w: ExpositionWriter, name: string, labels: string): void {
    const key = `${name}\u0000${labels}`;
    if (this.encoded?.key !== key) {
      const sep = labels === "" ? "" : ",";
      const bucket = (le: string) => encodePrefix(`${name}_bucket`, `${labels}${sep}le="${le}"`);
      this.encoded = {
        key,
        buckets: this.buckets.map((le) => bucket(formatValue(le))),
        inf: bucket("+Inf"),
        sum: encodePrefix(`${name}_sum`, labels),
        count: encodePrefix(`${name}_count`, labels),
      };
    }
    const e = this.encoded;
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.counts[i] ?? 0;
      w.sample(e.buckets[i] as Buffer, cumulative);
    }
    w.sample(e.inf, this.count);
    w.sample(e.sum, this.sum);
    w.sample(e.count, this.count);
  }
}
