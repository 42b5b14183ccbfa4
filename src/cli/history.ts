// The weight and metric values of a rollout over time. Status holds only the
// latest values, so the history is pieced together from two sources, and says so:
// - the rollout's Events: the controller writes one when the phase or the reason
//   changes, so weights and failed-check values appear there, but steps that keep
//   the same reason do not;
// - observations: the statuses this process has seen (one for `status`, every
//   change for `watch`).
import type { RolloutEvent } from "./events.ts";
import type { RolloutSummary } from "./summary.ts";

/** One value at one time; value is undefined when it could not be measured. */
export interface Point {
  time: string;
  value?: number;
  verdict?: string;
}

export interface MetricSeries {
  name: string;
  unit: string;
  /** The passing range in words, "-" when unknown. */
  threshold: string;
  /** The passing bounds, used to scale the chart so a threshold means something. */
  bounds: number[];
  points: Point[];
}

export interface History {
  weight: Point[];
  metrics: MetricSeries[];
  /** Events the history was read from; undefined when they could not be read. */
  events?: number;
  /** Statuses this process observed (1 for `status`). */
  observations: number;
  /** When the first observation was made. */
  since?: string;
}

/** A status as observed at a moment. */
export interface Observation {
  at: string;
  summary: RolloutSummary;
}

const maxPoints = 200;

/** The canary weight an Event's message tells of, if any. */
export function weightFromEvent(event: RolloutEvent, kind = "Canary"): number | undefined {
  const m = event.message;
  const step = /canary weight \d+% -> (\d+)%/.exec(m);
  if (step) return Number(step[1]);
  const promotion = /primary weight \d+% -> (\d+)%/.exec(m);
  if (promotion) return 100 - Number(promotion[1]);
  if (/starting analysis of revision/.test(m)) return 0;
  // A Migration or upgrade ends with everything moved; a Canary or BlueGreen with the new
  // version as the stable one, so nothing is on a canary any more.
  const movesEverything = kind === "Migration" || kind === "ControlPlaneUpgrade";
  if (movesEverything && event.reason === "Succeeded") return 100;
  if (["RolledBack", "Succeeded", "Finalising", "Initialized"].includes(event.reason)) return 0;
  const primary = /promotion at (\d+)% primary/.exec(m);
  if (primary) return 100 - Number(primary[1]);
  const at = /\bat (\d+)%/.exec(m);
  if (at) return Number(at[1]);
  return undefined;
}

/** Failed-check values an Event's message tells of: "request-success-rate 80 is below the minimum 99". */
export function metricValuesFromEvent(event: RolloutEvent): { name: string; value: number }[] {
  const found: { name: string; value: number }[] = [];
  for (const m of event.message.matchAll(
    /([A-Za-z0-9][\w.-]*) (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?) is (?:below|above|more than)/g,
  )) {
    if (m[1] !== undefined) found.push({ name: m[1], value: Number(m[2]) });
  }
  return found;
}

function byTime(a: Point, b: Point): number {
  return Date.parse(a.time) - Date.parse(b.time);
}

/** Drops a point equal to the one before it: weights are a sequence of steps. */
function steps(points: Point[]): Point[] {
  return points.filter((p, i) => i === 0 || p.value !== points[i - 1]?.value);
}

/** Builds the history from Events and observed statuses (oldest first). */
export function buildHistory(
  events: RolloutEvent[],
  observations: Observation[],
  eventsRead = true,
  kind = "Canary",
): History {
  const weight: Point[] = [];
  const fromEvents = new Map<string, Point[]>();
  // From the first observation on, the observations are the better record: an Event's time is
  // only to the second, and an aggregated Event (count > 1) tells only its first and last time.
  const since = observations[0] === undefined ? Number.POSITIVE_INFINITY : Date.parse(observations[0].at);
  for (const event of events.filter((e) => Date.parse(e.first) < since)) {
    const w = weightFromEvent(event, kind);
    if (w !== undefined) {
      weight.push({ time: event.first, value: w });
      // An Event seen again (count > 1) happened again at its last time too.
      if (event.count > 1 && Date.parse(event.last) < since) weight.push({ time: event.last, value: w });
    }
    for (const { name, value } of metricValuesFromEvent(event)) {
      const list = fromEvents.get(name) ?? [];
      list.push({ time: event.first, value, verdict: "Fail" });
      fromEvents.set(name, list);
    }
  }
  const observed = new Map<string, Map<string, Point>>();
  const latest = observations.at(-1)?.summary;
  for (const { at, summary } of observations) {
    if (summary.canaryWeight !== undefined) weight.push({ time: at, value: summary.canaryWeight });
    for (const m of summary.metrics) {
      if (m.time === undefined || m.verdict === undefined) continue;
      const series = observed.get(m.name) ?? new Map<string, Point>();
      series.set(m.time, { time: m.time, value: m.value, verdict: m.verdict });
      observed.set(m.name, series);
    }
  }
  const names = [
    ...(latest?.metrics.map((m) => m.name) ?? []),
    ...fromEvents.keys(),
    ...observed.keys(),
  ].filter((n, i, all) => all.indexOf(n) === i);
  const metrics: MetricSeries[] = names.map((name) => {
    const seen = [...(observed.get(name)?.values() ?? [])];
    // An Event's value is the same measurement as a status result written within seconds of it.
    const told = (fromEvents.get(name) ?? []).filter(
      (p) => !seen.some((s) => Math.abs(Date.parse(s.time) - Date.parse(p.time)) < 5000),
    );
    const row = latest?.metrics.find((m) => m.name === name);
    return {
      name,
      unit: row?.unit ?? "",
      threshold: row?.threshold ?? "-",
      bounds: [row?.range?.min, row?.range?.max].filter((b): b is number => b !== undefined),
      points: [...seen, ...told].sort(byTime).slice(-maxPoints),
    };
  });
  return {
    weight: steps(weight.sort(byTime)).slice(-maxPoints),
    metrics,
    events: eventsRead ? events.length : undefined,
    observations: observations.length,
    since: observations[0]?.at,
  };
}
