// What every rollout kind's view fills the same way: names, phase, conditions,
// metrics and manual actions, read from the status fields all rollouts share.
import { pendingAction, type RolloutObject, readStatus } from "./rollout.ts";
import type { MetricRow, Outcome, RolloutSummary } from "./summary.ts";

/** Fields every view fills the same way: names, phase, conditions, actions. */
export function baseSummary(kind: string, object: RolloutObject): RolloutSummary {
  const status = readStatus(object);
  const conditions = status.conditions ?? [];
  const summary: RolloutSummary = {
    kind,
    name: object.metadata?.name ?? "",
    namespace: object.metadata?.namespace ?? "",
    uid: object.metadata?.uid,
    created: object.metadata?.creationTimestamp,
    generation: object.metadata?.generation,
    observedGeneration: status.observedGeneration,
    phase: status.phase,
    resumePhase: status.resumePhase,
    ready: conditions.find((c) => c.type === "Ready"),
    conditions,
    weight: status.canaryWeight === undefined ? "-" : `${status.canaryWeight}%`,
    canaryWeight: status.canaryWeight,
    lastStepTime: status.lastStepTime,
    lastTransitionTime: status.lastTransitionTime,
    waitingSince: status.waitingSince,
    metrics: (status.metrics ?? []).map(
      (m): MetricRow => ({
        name: m.name,
        value: m.value,
        primaryValue: m.primaryValue,
        unit: "",
        threshold: rangeText(m.thresholdRange?.min, m.thresholdRange?.max, ""),
        range: m.thresholdRange,
        verdict: m.verdict,
        message: m.message,
        time: m.time,
      }),
    ),
    lastAction: status.lastAction,
    pendingAction: pendingAction(object),
  };
  if (status.stepIndex !== undefined) summary.step = { index: status.stepIndex };
  return summary;
}

/** A threshold range in words: "99..100", ">= 99", "<= 500", or "-". */
export function rangeText(min: number | undefined, max: number | undefined, unit: string): string {
  const f = (n: number) => `${Number(n.toPrecision(6))}${unit}`;
  if (min !== undefined && max !== undefined) return `${f(min)}..${f(max)}`;
  if (min !== undefined) return `>= ${f(min)}`;
  if (max !== undefined) return `<= ${f(max)}`;
  return "-";
}

/** Succeeded and Failed end a rollout; anything else is still running. */
export function phaseOutcome(phase: string | undefined): Outcome {
  if (phase === "Succeeded") return { state: "succeeded", reason: "the rollout succeeded" };
  if (phase === "Failed") return { state: "failed", reason: "the rollout failed" };
  return { state: "running", reason: phase === undefined ? "no status yet" : `phase ${phase}` };
}
