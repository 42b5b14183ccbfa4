// Analysis rows of the kinds whose checks are MetricChecks (Canary, BlueGreen):
// units of the built-in metrics and thresholds in words, in the spec's order.
import type { MetricCheck } from "../api/common.ts";
import { rangeText } from "./base-view.ts";
import type { MetricRow } from "./summary.ts";

/** Units of the built-in metrics (src/engine/analysis/queries.ts computes them in these). */
const builtinUnits: Record<string, string> = {
  "request-success-rate": "%",
  "request-duration": "ms",
  "request-throughput": "/s",
};

export function unitOf(check: MetricCheck | undefined, name: string): string {
  if (check?.templateRef !== undefined) return "";
  return builtinUnits[name] ?? "";
}

/** The passing range of a check in words, including the comparison with the primary. */
function thresholdText(check: MetricCheck, unit: string): string {
  const parts: string[] = [];
  const range = rangeText(check.thresholdRange?.min, check.thresholdRange?.max, unit);
  if (range !== "-") parts.push(range);
  const pct = check.maxIncreaseOverPrimary;
  if (pct !== undefined) {
    // The judge reads request-success-rate in points below the primary, everything else in percent above.
    parts.push(check.name === "request-success-rate" ? `>= primary -${pct}pt` : `<= primary +${pct}%`);
  }
  return parts.length === 0 ? "-" : parts.join(", ");
}

/** One row per metric in the spec, in its order, then any results the spec no longer names. */
export function metricRows(checks: MetricCheck[], results: MetricRow[]): MetricRow[] {
  const rows: MetricRow[] = checks.map((check) => {
    const unit = unitOf(check, check.name);
    const result = results.find((r) => r.name === check.name);
    return {
      ...(result ?? { name: check.name }),
      unit,
      threshold: thresholdText(check, unit),
      range: check.thresholdRange,
    };
  });
  for (const result of results) {
    if (!checks.some((c) => c.name === result.name))
      rows.push({ ...result, unit: unitOf(undefined, result.name) });
  }
  return rows;
}
