// From a rollout object and a Notify action to a Notification, and the hook the
// reconciler calls. Reads status fields every rollout kind shares (phase,
// canaryWeight, lastAppliedSpec, the Ready condition, metrics).
import { randomUUID } from "node:crypto";
import { AlertReference, Severity } from "../api/common.ts";
import type {
  Notification,
  NotificationCheck,
  NotificationDetail,
  NotificationManualAction,
} from "./message.ts";
import type { AlertRoute, Notifier } from "./notifier.ts";

/** The parts of a rollout object read here (a KubernetesObject fits). */
export interface RolloutLike {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: unknown;
  status?: unknown;
}

/** What a strategy wants said: the Notify action, optionally richer than severity and message. */
export interface RolloutEvent {
  severity: Severity;
  message: string;
  /** Defaults to the Ready condition's reason, then the phase. */
  reason?: string;
  /** Defaults to the kind's description of what follows the phase. */
  next?: string;
  /** Defaults to status.lastAppliedSpec. */
  revision?: string;
  /** Defaults to status.metrics (the last result per metric). */
  checks?: NotificationCheck[];
  manualAction?: NotificationManualAction;
  details?: NotificationDetail[];
}

export interface RolloutContext {
  cluster: string;
  now: Date;
  /** The status just decided; the object may still carry the one before it. */
  status?: unknown;
  id?: string;
}

interface SharedStatus {
  phase?: unknown;
  canaryWeight?: unknown;
  lastAppliedSpec?: unknown;
  conditions?: unknown;
  metrics?: unknown;
}

/** The Notification for `event` about `obj`. */
export function rolloutNotification(
  obj: RolloutLike,
  event: RolloutEvent,
  context: RolloutContext,
): Notification {
  const status = asRecord(context.status ?? obj.status) as SharedStatus;
  const kind = obj.kind ?? "Rollout";
  const namespace = obj.metadata?.namespace ?? "";
  const name = obj.metadata?.name ?? "";
  const phase = typeof status.phase === "string" ? status.phase : undefined;
  const canaryWeight = typeof status.canaryWeight === "number" ? status.canaryWeight : undefined;
  const revision =
    event.revision ?? (typeof status.lastAppliedSpec === "string" ? status.lastAppliedSpec : undefined);
  const next = event.next ?? nextStep(kind, phase, namespace, name);
  const checks = event.checks ?? statusChecks(status.metrics);
  return {
    id: context.id ?? randomUUID(),
    severity: event.severity,
    cluster: context.cluster,
    namespace,
    kind,
    name,
    ...(revision !== undefined ? { revision } : {}),
    ...(phase !== undefined ? { phase } : {}),
    // A split of traffic; a ControlPlaneUpgrade's percent counts namespaces, not requests.
    ...(canaryWeight !== undefined && kind !== "ControlPlaneUpgrade"
      ? { weights: { primary: 100 - canaryWeight, canary: canaryWeight } }
      : {}),
    reason: event.reason ?? readyReason(status.conditions) ?? phase ?? "Notice",
    message: event.message,
    ...(next !== undefined ? { next } : {}),
    ...(checks.length > 0 ? { checks } : {}),
    ...(event.manualAction !== undefined ? { manualAction: event.manualAction } : {}),
    ...(event.details !== undefined ? { details: event.details } : {}),
    timestamp: context.now.toISOString(),
  };
}

/** The rollout's `alerts[]` (spec.analysis.alerts, or spec.alerts); invalid entries are skipped. */
export function rolloutAlerts(obj: RolloutLike): AlertRoute[] {
  const spec = asRecord(obj.spec);
  const raw = asRecord(spec.analysis).alerts ?? spec.alerts;
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((entry) => {
    const parsed = AlertReference.safeParse(entry);
    return parsed.success ? [parsed.data] : [];
  });
}

/** What follows each phase of each kind, in words and commands a person can act on. */
function nextSteps(cli: string): Record<string, Record<string, string>> {
  const paused = `Nothing moves until kubectl wren resume ${cli}.`;
  return {
    Canary: {
      Initializing: "Wren creates the primary Deployment and routes all traffic to it.",
      Initialized: "Nothing until the Deployment changes; a change starts a canary analysis.",
      Waiting: "Waiting for the canary's pods or a gate; the wait fails after progressDeadlineSeconds.",
      Progressing:
        "Analysis continues: the canary's weight rises each interval while checks pass; it rolls back when failed checks reach the threshold.",
      WaitingPromotion: `Waiting for a person: kubectl wren promote ${cli} (or kubectl wren abort ${cli}).`,
      Promoting: "The primary is being updated to the new revision; then traffic returns to it.",
      Finalising: "Traffic returns to the updated primary and the canary scales to zero.",
      Succeeded:
        "Nothing: the primary runs the new revision. The next change to the Deployment starts a new analysis.",
      Failed: `All traffic is on the primary (the previous revision). Change the Deployment to try again, or kubectl wren retry ${cli}.`,
      Paused: paused,
    },
    BlueGreen: {
      Initializing: "Wren creates the first colour and routes all traffic to it once it is ready.",
      Initialized: "Nothing until the Deployment changes; a change starts the other colour.",
      Waiting:
        "Waiting for the candidate colour's pods or a gate; the wait fails after progressDeadlineSeconds.",
      Progressing: `Checks run on the candidate, which only preview requests reach. kubectl wren abort ${cli} drops it.`,
      WaitingPromotion: `Waiting at the switch for a person: kubectl wren promote ${cli} (or kubectl wren abort ${cli}).`,
      Switching: `Traffic moves to the candidate step by step; kubectl wren abort ${cli} sends it all back at once.`,
      Verifying: `All traffic is on the new colour; post-switch checks can still roll back (so can kubectl wren abort ${cli}).`,
      Succeeded: "The new colour serves everything; the old one scales to zero after scaleDownDelay.",
      Failed: `All traffic is on the previous colour. Change the Deployment to try again, or kubectl wren retry ${cli}.`,
      Paused: paused,
    },
    Migration: {
      Progressing: `The current phase's share of its matched requests rises each step while validation passes; kubectl wren abort ${cli} sends them back to the monolith.`,
      Succeeded: "Every phase is migrated; the monolith serves only requests no phase matches.",
      Failed: `The failed phase's requests (or all, with rollback: all) are back on the monolith. kubectl wren retry ${cli} runs it again.`,
      Paused: paused,
    },
    ControlPlaneUpgrade: {
      WaitingForControlPlane: "Waiting for the new istiod to be ready; nothing is relabelled until it is.",
      WaitingPromotion: `The next wave waits at its manual gate: kubectl wren promote ${cli} (or kubectl wren abort ${cli}).`,
      Progressing: `Namespaces move wave by wave; a failed wave moves every moved namespace back (so does kubectl wren abort ${cli}).`,
      RollingBack:
        "Moved namespaces are being relabelled back and their workloads restarted on the old revision.",
      Finalising: "Every wave is done; the revision tag moves to the new revision.",
      Succeeded:
        "Every selected namespace runs on the new revision; the old control plane is still installed.",
      Failed: `Moved namespaces are back on the old revision. kubectl wren retry ${cli} starts again.`,
      Paused: paused,
    },
  };
}

/** What follows `phase`, in words and commands a person can act on. */
export function nextStep(
  kind: string,
  phase: string | undefined,
  namespace: string,
  name: string,
): string | undefined {
  if (phase === undefined) return undefined;
  return nextSteps(`${name} -n ${namespace}`)[kind]?.[phase];
}

/** The reconciler's notify hook: builds the Notification and routes it by the object's alerts[]. */
export function reconcilerNotify(
  notifier: Pick<Notifier, "notify">,
  options: { cluster: string; now?: () => Date },
): (obj: RolloutLike, severity: string, message: string, status?: unknown) => void {
  const now = options.now ?? (() => new Date());
  return (obj, severity, message, status) => {
    const parsed = Severity.safeParse(severity);
    const event: RolloutEvent = { severity: parsed.success ? parsed.data : "warn", message };
    const n = rolloutNotification(obj, event, { cluster: options.cluster, now: now(), status });
    notifier.notify(n, rolloutAlerts(obj));
  };
}

function readyReason(conditions: unknown): string | undefined {
  if (!Array.isArray(conditions)) return undefined;
  const ready = conditions.map(asRecord).find((c) => c.type === "Ready");
  return typeof ready?.reason === "string" && ready.reason !== "" ? ready.reason : undefined;
}

function statusChecks(metrics: unknown): NotificationCheck[] {
  if (!Array.isArray(metrics)) return [];
  return metrics.map(asRecord).flatMap((m): NotificationCheck[] => {
    if (typeof m.name !== "string") return [];
    if (m.verdict !== "Pass" && m.verdict !== "Fail" && m.verdict !== "Unavailable") return [];
    const range = asRecord(m.thresholdRange);
    return [
      {
        name: m.name,
        verdict: m.verdict,
        ...(typeof m.value === "number" ? { value: m.value } : {}),
        ...(typeof m.primaryValue === "number" ? { primaryValue: m.primaryValue } : {}),
        ...(typeof range.min === "number" || typeof range.max === "number"
          ? {
              thresholdRange: {
                ...(typeof range.min === "number" ? { min: range.min } : {}),
                ...(typeof range.max === "number" ? { max: range.max } : {}),
              },
            }
          : {}),
        ...(typeof m.message === "string" ? { message: m.message } : {}),
      },
    ];
  });
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
