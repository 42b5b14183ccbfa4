// A Notification: what happened to one rollout, where, and what happens next.
// Every provider renders the same Notification; the wording helpers here keep
// the facts and their labels identical across Slack, Teams, Discord and Chat.
import type { Severity } from "../api/common.ts";
import type { CheckResult, Weights } from "../strategies/decision.ts";

export type { Severity };

/** Traffic split and check results are the strategies' own types: one concept, one name. */
export type NotificationWeights = Weights;
export type NotificationCheck = CheckResult;

/** A manual action (kubectl wren) the message reports: what, who, when. */
export interface NotificationManualAction {
  action: string;
  requestedBy?: string;
  requestedAt?: string;
}

/** One labelled fact beyond the standard ones, e.g. a ControlPlaneUpgrade wave's result. */
export interface NotificationDetail {
  label: string;
  value: string;
}

/** Everything a provider needs to render one message. Holds no secrets. */
export interface Notification {
  /** Unique per notification and the same on every retry and provider, so receivers can deduplicate. */
  id: string;
  severity: Severity;
  /** The cluster the controller runs in (controller configuration). */
  cluster: string;
  namespace: string;
  kind: string;
  name: string;
  /** The version under release: a pod template hash, an image tag, or an Istio revision. */
  revision?: string;
  phase?: string;
  weights?: NotificationWeights;
  /** The event reason (the Ready condition's reason), e.g. RolledBack. */
  reason: string;
  /** What happened, in a sentence a person reads. */
  message: string;
  /** What happens next, e.g. "waiting for kubectl wren promote". */
  next?: string;
  checks?: NotificationCheck[];
  manualAction?: NotificationManualAction;
  details?: NotificationDetail[];
  /** When it happened, RFC 3339. */
  timestamp: string;
}

/** Ordering of severities: a provider with minimum `warn` receives warn and error. */
export const severityRank: Readonly<Record<Severity, number>> = { info: 0, warn: 1, error: 2 };

/** True when `severity` is at or above `minimum`. */
export function atLeast(severity: Severity, minimum: Severity): boolean {
  return severityRank[severity] >= severityRank[minimum];
}

/** "RolledBack" -> "Rolled back"; leaves text with spaces alone. */
export function reasonWords(reason: string): string {
  if (reason.includes(" ")) return reason;
  const words = reason.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The one-line summary every format leads with, e.g. "Canary shop/podinfo: Rolled back". */
export function headline(n: Notification): string {
  return `${n.kind} ${n.namespace}/${n.name}: ${reasonWords(n.reason)}`;
}

/** "primary 70% · canary 30%". */
export function weightsText(w: NotificationWeights): string {
  return `primary ${w.primary}% · canary ${w.canary}%`;
}

const verdictWords: Readonly<Record<NotificationCheck["verdict"], string>> = {
  Pass: "passed",
  Fail: "failed",
  Unavailable: "unavailable",
};

/** "request-success-rate failed: 92.1 (min 99)": the value against its threshold. */
export function checkText(c: NotificationCheck): string {
  const value = c.value === undefined ? "no value" : formatNumber(c.value);
  const bounds: string[] = [];
  if (c.thresholdRange?.min !== undefined) bounds.push(`min ${formatNumber(c.thresholdRange.min)}`);
  if (c.thresholdRange?.max !== undefined) bounds.push(`max ${formatNumber(c.thresholdRange.max)}`);
  if (c.primaryValue !== undefined) bounds.push(`primary ${formatNumber(c.primaryValue)}`);
  const against = bounds.length > 0 ? ` (${bounds.join(", ")})` : "";
  const why = c.message !== undefined && c.message !== "" ? `: ${c.message}` : "";
  return `${c.name} ${verdictWords[c.verdict]}: ${value}${against}${why}`;
}

/** The manual action as "promote by alice at 2024-05-01T10:00:00Z". */
export function manualActionText(a: NotificationManualAction): string {
  const who = a.requestedBy !== undefined ? ` by ${a.requestedBy}` : "";
  const when = a.requestedAt !== undefined ? ` at ${a.requestedAt}` : "";
  return `${a.action}${who}${when}`;
}

/** The labelled facts every format shows, in a fixed order; absent facts are left out. */
export function facts(n: Notification): NotificationDetail[] {
  const out: NotificationDetail[] = [
    { label: "Cluster", value: n.cluster },
    { label: "Namespace", value: n.namespace },
    { label: "Object", value: `${n.kind}/${n.name}` },
  ];
  if (n.revision !== undefined) out.push({ label: "Revision", value: n.revision });
  if (n.phase !== undefined) out.push({ label: "Phase", value: n.phase });
  if (n.weights !== undefined) out.push({ label: "Weights", value: weightsText(n.weights) });
  if (n.manualAction !== undefined)
    out.push({ label: "Manual action", value: manualActionText(n.manualAction) });
  return [...out, ...(n.details ?? [])];
}

/** The checks worth showing: failing and unavailable first; passing ones only when nothing failed. */
export function notableChecks(n: Notification): NotificationCheck[] {
  const checks = n.checks ?? [];
  const bad = checks.filter((c) => c.verdict !== "Pass");
  return bad.length > 0 ? bad : checks;
}

/** Cuts `text` to at most `max` characters, marking the cut. Chat tools reject oversize fields. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}
