// The status view: everything a person needs to decide what to do about a
// rollout. Pure: a report and a clock in, text out.
import { age } from "./age.ts";
import { renderHistory } from "./chart.ts";
import type { RolloutEvent } from "./events.ts";
import type { History } from "./history.ts";
import { type Outcome, type RolloutSummary, stepText, withUnit } from "./summary.ts";
import { renderTable } from "./table.ts";

/** What the status view shows about one rollout. */
export interface StatusReport {
  summary: RolloutSummary;
  events: RolloutEvent[];
  history: History;
  /** Whether the rollout has ended (watch). */
  outcome?: Outcome;
  /** Things the CLI could not find out, said plainly. */
  notes?: string[];
}

function eventsSection(report: StatusReport, now: Date, options: StatusRenderOptions): string[] {
  if (report.history.events === undefined) return ["Events: could not be read (see the note below)"];
  return events(report.events, now, options);
}

export interface StatusRenderOptions {
  now: Date;
  /** -o wide: every Event, not only the latest. */
  wide?: boolean;
  /** Events shown when not wide. */
  eventLimit?: number;
}

function field(label: string, value: string): string {
  return `  ${`${label}:`.padEnd(12)} ${value}`;
}

function phaseLine(s: RolloutSummary, now: Date): string {
  if (s.phase === undefined) return "unknown (no status yet)";
  const since = s.lastTransitionTime === undefined ? "" : ` for ${age(s.lastTransitionTime, now)}`;
  return `${s.phase}${since}`;
}

function targetLine(s: RolloutSummary): string | undefined {
  const t = s.target;
  if (t === undefined) return undefined;
  const parts: string[] = [];
  const live = s.phase !== "Succeeded" && s.phase !== "Initialized" && t.revision !== t.promotedRevision;
  if (live && t.revision !== undefined) parts.push(`releasing revision ${t.revision}`);
  if (t.promotedRevision !== undefined) parts.push(`primary runs revision ${t.promotedRevision}`);
  return parts.length === 0 ? `${t.kind} ${t.name}` : `${t.kind} ${t.name} (${parts.join("; ")})`;
}

function checksLine(s: RolloutSummary): string | undefined {
  const c = s.checks;
  if (c === undefined) return undefined;
  const rollback = c.threshold === undefined ? "" : ` (rolls back at ${c.threshold})`;
  const unavailable = c.unavailable === 0 ? "" : `; metrics unavailable ${c.unavailable} times in a row`;
  return `${c.failed} failed${rollback}${unavailable}`;
}

function overview(s: RolloutSummary, now: Date): string[] {
  const lines = [`${s.kind} ${s.namespace}/${s.name}`, field("Phase", phaseLine(s, now))];
  if (s.ready !== undefined) {
    lines.push(field("Why", `${s.ready.reason}: ${s.ready.message} (Ready=${s.ready.status})`));
  }
  if (s.next !== undefined) lines.push(field("Next", s.next));
  const target = targetLine(s);
  if (target !== undefined) lines.push(field("Target", target));
  if (s.traffic !== undefined) {
    lines.push(field("Traffic", s.traffic));
  } else if (s.weights !== undefined) {
    const mode = s.weight === "A/B" || s.weight.startsWith("mirror") ? ` (${s.weight})` : "";
    lines.push(field("Traffic", `primary ${s.weights.primary}%, canary ${s.weights.canary}%${mode}`));
  } else if (s.weight !== "-") {
    lines.push(field("Weight", s.weight));
  }
  if (s.step !== undefined || s.plan !== undefined) {
    const step = s.step === undefined ? "not started" : `${stepText(s.step).replace("/", " of ")}`;
    lines.push(field("Step", s.plan === undefined ? step : `${step} (${s.plan})`));
  }
  const checks = checksLine(s);
  if (checks !== undefined) lines.push(field("Checks", checks));
  for (const d of s.details ?? []) lines.push(field(d.label, d.value));
  if (s.lastStepTime !== undefined) {
    const interval = s.interval === undefined ? "" : `, interval ${s.interval}`;
    lines.push(field("Last step", `${age(s.lastStepTime, now)} ago${interval}`));
  }
  return lines;
}

function analysis(s: RolloutSummary, now: Date): string[] {
  if (s.metrics.length === 0) return ["Analysis: no metrics"];
  const times = s.metrics.map((m) => m.time).filter((t): t is string => t !== undefined);
  const latest = times.sort().at(-1);
  const header =
    latest === undefined ? "Analysis (not run yet)" : `Analysis (last results, ${age(latest, now)} ago)`;
  const withPrimary = s.metrics.some((m) => m.primaryValue !== undefined);
  const headers = ["METRIC", "VALUE", ...(withPrimary ? ["PRIMARY"] : []), "THRESHOLD", "VERDICT", "MESSAGE"];
  const rows = s.metrics.map((m) => [
    m.name,
    withUnit(m.value, m.unit),
    ...(withPrimary ? [withUnit(m.primaryValue, m.unit)] : []),
    m.threshold,
    m.verdict ?? "-",
    m.verdict === undefined ? "not measured yet" : (m.message ?? ""),
  ]);
  return [header, renderTable(headers, rows, { indent: "  " })];
}

function kindSections(s: RolloutSummary): string[][] {
  return (s.sections ?? []).map((section) => [
    section.title,
    renderTable(section.headers, section.rows, { indent: "  " }),
  ]);
}

function conditions(s: RolloutSummary, now: Date): string[] {
  if (s.conditions.length === 0) return ["Conditions: none"];
  const rows = s.conditions.map((c) => [
    c.type,
    c.status,
    c.reason,
    age(c.lastTransitionTime, now),
    c.message,
  ]);
  return ["Conditions", renderTable(["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"], rows, { indent: "  " })];
}

function actions(s: RolloutSummary, now: Date): string[] {
  const lines: string[] = [];
  const a = s.lastAction;
  if (a === undefined) {
    lines.push("Last manual action: none");
  } else {
    const by = a.requestedBy === undefined ? "" : ` by ${a.requestedBy}`;
    const when = [
      a.requestedAt === undefined ? undefined : `requested ${age(a.requestedAt, now)} ago`,
      a.consumedAt === undefined ? undefined : `consumed ${age(a.consumedAt, now)} ago`,
      `id ${a.id}`,
    ].filter((w) => w !== undefined);
    lines.push(`Last manual action: ${a.action}${by}: ${a.result ?? "?"} (${when.join(", ")})`);
  }
  const p = s.pendingAction;
  if (p !== undefined) {
    const by = p.requestedBy === undefined ? "" : ` by ${p.requestedBy}`;
    const when = p.requestedAt === undefined ? "" : `, requested ${age(p.requestedAt, now)} ago`;
    lines.push(`Pending manual action: ${p.action}${by}${when}, not consumed yet (id ${p.id})`);
  }
  return lines;
}

function lastSeen(e: RolloutEvent, now: Date): string {
  const last = age(e.last, now);
  return e.count > 1 ? `${last} (x${e.count} over ${age(e.first, now)})` : last;
}

function events(list: RolloutEvent[], now: Date, options: StatusRenderOptions): string[] {
  if (list.length === 0) return ["Events: none (the API server keeps Events for about an hour)"];
  const limit = options.wide ? list.length : (options.eventLimit ?? 10);
  const shown = list.slice(-limit);
  const header =
    shown.length === list.length
      ? "Events (oldest first)"
      : `Events (last ${shown.length} of ${list.length}; -o wide shows all)`;
  const rows = shown.map((e) => [lastSeen(e, now), e.type, e.reason, e.message]);
  return [header, renderTable(["LAST SEEN", "TYPE", "REASON", "MESSAGE"], rows, { indent: "  " })];
}

/** Renders the status view as text. */
export function renderStatus(report: StatusReport, options: StatusRenderOptions): string {
  const { now } = options;
  const s = report.summary;
  const sections: string[][] = [
    overview(s, now),
    ...kindSections(s),
    analysis(s, now),
    conditions(s, now),
    actions(s, now),
    ["History", ...renderHistory(report.history, now).map((l) => `  ${l}`)],
    eventsSection(report, now, options),
  ];
  if (report.notes !== undefined && report.notes.length > 0) {
    sections.push(report.notes.map((n) => `Note: ${n}`));
  }
  return `${sections.map((lines) => lines.join("\n")).join("\n\n")}\n`;
}

/** The status report as data, for -o json and -o yaml. */
export function statusData(report: StatusReport): Record<string, unknown> {
  return {
    ...report.summary,
    events: report.events,
    history: report.history,
    ...(report.outcome === undefined ? {} : { outcome: report.outcome }),
    ...(report.notes === undefined || report.notes.length === 0 ? {} : { notes: report.notes }),
  };
}
