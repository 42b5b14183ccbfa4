// Reading meshsim's own exposition back, for tests and the benchmark: a parser
// for the Prometheus text format and a histogram_quantile that interpolates exactly
// as Prometheus does (promql/quantile.go, classic buckets), so assertions are about
// what a PromQL query would return.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/g;

function unescapeLabel(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

function parseValue(v: string): number {
  if (v === "+Inf") return Number.POSITIVE_INFINITY;
  if (v === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(v);
}

/** Parses text exposition; throws on a line that is neither a comment nor a sample. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`bad exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1] ?? ""] = unescapeLabel(l[2] ?? "");
    out.push({ name: m[1] ?? "", labels, value: parseValue(m[3] ?? "") });
  }
  return out;
}

export type LabelFilter = Readonly<Record<string, string | RegExp>>;

function matches(labels: Readonly<Record<string, string>>, filter: LabelFilter): boolean {
  for (const [k, want] of Object.entries(filter)) {
    const v = labels[k] ?? "";
    if (typeof want === "string" ? v !== want : !new RegExp(`^(?:${want.source})$`).test(v)) return false;
  }
  return true;
}

export function select(samples: readonly Sample[], name: string, filter: LabelFilter = {}): Sample[] {
  return samples.filter((s) => s.name === name && matches(s.labels, filter));
}

/** `sum(name{filter})` */
export function sumOf(samples: readonly Sample[], name: string, filter: LabelFilter = {}): number {
  return select(samples, name, filter).reduce((acc, s) => acc + s.value, 0);
}

/** Buckets `le -> cumulative count` of `sum by (le) (name_bucket{filter})`. */
export function bucketsOf(
  samples: readonly Sample[],
  name: string,
  filter: LabelFilter = {},
): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of select(samples, `${name}_bucket`, filter)) {
    const le = parseValue(s.labels.le ?? "NaN");
    out.set(le, (out.get(le) ?? 0) + s.value);
  }
  return out;
}

/** Prometheus' histogram_quantile over classic buckets. */
export function histogramQuantile(q: number, buckets: ReadonlyMap<number, number>): number {
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const sorted = [...buckets.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  const last = sorted[sorted.length - 1];
  if (sorted.length < 2 || !last || last.le !== Number.POSITIVE_INFINITY) return Number.NaN;
  // Prometheus repairs non-monotonic counts (from scrape races) before interpolating.
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (prev && cur && cur.count < prev.count) cur.count = prev.count;
  }
  const observations = last.count;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  const b = sorted.findIndex((x) => x.count >= rank);
  if (b === sorted.length - 1) return sorted[sorted.length - 2]?.le ?? Number.NaN;
  const bucket = sorted[b];
  if (!bucket) return Number.NaN;
  if (b === 0 && bucket.le <= 0) return bucket.le;
  let start = 0;
  let count = bucket.count;
  if (b > 0) {
    const prev = sorted[b - 1];
    start = prev?.le ?? 0;
    count -= prev?.count ?? 0;
    rank -= prev?.count ?? 0;
  }
  return start + (bucket.le - start) * (rank / count);
}
