// Go-style durations ("1m30s") to milliseconds. Pure.

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a duration such as `30s`, `1m30s` or `250ms`; throws on malformed input. */
export function durationMs(duration: string): number {
  const parts = [...duration.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== duration) {
    throw new Error(`malformed duration "${duration}"`);
  }
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * (unitMs[unit ?? ""] ?? 0), 0);
}
