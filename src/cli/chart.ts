// Small text charts of a rollout's history: one sparkline per series.
import { age } from "./age.ts";
import type { History, MetricSeries, Point } from "./history.ts";
import { formatNumber } from "./summary.ts";
import { pad } from "./table.ts";

const blocks = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];
/** Drawn for a value that could not be measured. */
const gap = "·";

/** A sparkline of values between min and max; undefined values are drawn as a gap. */
export function sparkline(values: (number | undefined)[], min: number, max: number): string {
  return values
    .map((v) => {
      if (v === undefined || !Number.isFinite(v)) return gap;
      if (max <= min) return blocks[3];
      const level = Math.round(((v - min) / (max - min)) * (blocks.length - 1));
      // Only the minimum itself is drawn as the lowest block, so 0% and 10% never look alike.
      return blocks[Math.min(Math.max(level, v > min ? 1 : 0), blocks.length - 1)];
    })
    .join("");
}

export interface ChartOptions {
  /** Most points drawn per series; older ones are left out. */
  width?: number;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function weightText(points: Point[]): string {
  const values = points.map((p) => `${p.value ?? "?"}%`);
  if (values.length <= 10) return values.join(" → ");
  return `${values[0]} → … → ${values.slice(-4).join(" → ")} (${plural(values.length - 1, "change")})`;
}

function metricText(series: MetricSeries): string {
  const last = series.points.at(-1);
  if (last === undefined) return "no results yet";
  const values = series.points.map((p) => p.value).filter((v): v is number => v !== undefined);
  const shown = (v: number) => `${formatNumber(v)}${series.unit}`;
  const lastText = last.value === undefined ? "no value" : shown(last.value);
  const [low, high] = [Math.min(...values), Math.max(...values)];
  const range =
    values.length < 2
      ? ""
      : low === high
        ? `, all ${shown(low)}`
        : `, between ${shown(low)} and ${shown(high)}`;
  const verdict = last.verdict === undefined ? "" : ` ${last.verdict}`;
  const threshold = series.threshold === "-" ? "" : ` (${series.threshold})`;
  return `last ${lastText}${verdict}${threshold}; ${plural(series.points.length, "result")}${range}`;
}

/** Where the history comes from, honestly: what is known and what may be missing. */
export function historySource(history: History, now: Date): string {
  const events =
    history.events === undefined ? "no Events (they could not be read)" : plural(history.events, "Event");
  if (history.observations <= 1) {
    return `From ${events} and the current status. The controller writes an Event only when the phase or reason changes, so steps in between can be missing; kubectl wren watch records every change it sees.`;
  }
  return `From ${events} and ${`${history.observations} ${history.observations === 1 ? "status" : "statuses"}`} this watch has seen over the last ${age(history.since, now)}; before the watch, only changes of phase or reason are known.`;
}

/** The history as lines: a sparkline of the weight and of each metric, then where it comes from. */
export function renderHistory(history: History, now: Date, options: ChartOptions = {}): string[] {
  const width = options.width ?? 40;
  const rows: [string, string, string][] = [];
  if (history.weight.length > 0) {
    const points = history.weight.slice(-width);
    const values = points.map((p) => p.value);
    // From 0 to the highest weight shown: steps of 10% stay visible when the canary stops at 50%.
    const top = Math.max(1, ...values.filter((v): v is number => v !== undefined));
    rows.push(["canary weight", sparkline(values, 0, top), weightText(history.weight)]);
  }
  for (const series of history.metrics) {
    const points = series.points.slice(-width);
    const values = [...points.map((p) => p.value), ...series.bounds].filter(
      (v): v is number => v !== undefined,
    );
    const line =
      points.length === 0
        ? ""
        : sparkline(
            points.map((p) => p.value),
            Math.min(...values),
            Math.max(...values),
          );
    rows.push([series.name, line, metricText(series)]);
  }
  if (rows.length === 0) return ["no history yet", historySource(history, now)];
  const nameWidth = Math.max(...rows.map(([name]) => name.length));
  const lineWidth = Math.max(...rows.map(([, line]) => [...line].length));
  return [
    ...rows.map(([name, line, text]) =>
      [pad(name, nameWidth), ...(lineWidth > 0 ? [pad(line, lineWidth)] : []), text].join("   ").trimEnd(),
    ),
    historySource(history, now),
  ];
}
