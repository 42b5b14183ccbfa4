// How the CLI reads a Canary: steps from the spec's weights, traffic from the
// same routing function the controller applies, thresholds from the spec.
import { CanarySpec, CanaryStatus } from "../api/canary.ts";
import { routingFor, stepWeights } from "../strategies/canary.ts";
import { durationMs } from "../strategies/duration.ts";
import { humanDuration } from "./age.ts";
import { baseSummary, phaseOutcome } from "./base-view.ts";
import { metricRows, unitOf } from "./metric-rows.ts";
import { type LooseStatus, type RolloutObject, readStatus } from "./rollout.ts";
import type { Outcome, RolloutSummary, RolloutView } from "./summary.ts";

function looseTargetName(spec: unknown): string | undefined {
  const name = (spec as { targetRef?: { name?: unknown } } | undefined)?.targetRef?.name;
  return typeof name === "string" ? name : undefined;
}

function short(hash: string | undefined): string {
  return hash ?? "?";
}

/** What happens next, and how a person can step in. */
function next(spec: CanarySpec | undefined, status: LooseStatus, summary: RolloutSummary, now: Date): string {
  const target = summary.target?.name ?? "the target";
  if (summary.phase === undefined)
    return "no status yet: the Wren controller has not reconciled this canary (is it running?)";
  if (summary.generation !== undefined && (summary.observedGeneration ?? 0) < summary.generation)
    return `the controller has not yet acted on generation ${summary.generation} of this canary's spec`;
  if (spec?.suspend) return "spec.suspend is set: the controller changes nothing until it is cleared";
  const ready = status.conditions?.find((c) => c.type === "Ready");
  if (ready?.reason === "InvalidSpec" || ready?.reason === "VirtualServiceNotFound") {
    return `nothing moves until this is fixed: ${ready.message}`;
  }
  switch (summary.phase) {
    case "Initializing":
      return "creating the primary Deployment; all traffic goes to it once it is ready";
    case "Initialized":
    case "Succeeded":
      return `idle: change Deployment ${target} to release a new revision`;
    case "Waiting":
      return "a new revision waits for the rollout window or a confirm-rollout webhook";
    case "Progressing": {
      const interval = spec === undefined ? undefined : durationMs(spec.analysis.interval);
      const last = status.lastStepTime === undefined ? Number.NaN : Date.parse(status.lastStepTime);
      const due =
        interval === undefined || Number.isNaN(last)
          ? "next analysis when the interval is up"
          : last + interval - now.getTime() <= 0
            ? "next analysis is due now"
            : `next analysis in ${humanDuration(last + interval - now.getTime())}`;
      return `${due}; kubectl wren promote moves on a step now, abort rolls back, pause holds`;
    }
    case "WaitingPromotion":
      return "analysis passed; waiting for a confirm-promotion webhook, or kubectl wren promote";
    case "Promoting":
    case "Finalising":
      return `the primary is taking over revision ${short(status.lastAppliedSpec)}`;
    case "Paused":
      return `paused (returns to ${status.resumePhase ?? "Progressing"}); kubectl wren resume continues, abort rolls back`;
    case "Failed":
      return `rolled back; kubectl wren retry analyses revision ${short(status.lastAppliedSpec)} again, or change Deployment ${target}`;
    default:
      return `phase ${summary.phase}`;
  }
}

function summarize(object: RolloutObject, now: Date): RolloutSummary {
  const summary = baseSummary("Canary", object);
  const status = readStatus(object);
  const parsed = CanarySpec.safeParse(object.spec);
  const spec = parsed.success ? parsed.data : undefined;
  const started = status.phase !== undefined;
  const targetName = spec?.targetRef.name ?? looseTargetName(object.spec);
  if (targetName !== undefined) {
    summary.target = {
      kind: "Deployment",
      name: targetName,
      revision: status.lastAppliedSpec,
      promotedRevision: status.lastPromotedSpec,
    };
  }
  summary.checks = {
    failed: status.failedChecks ?? 0,
    threshold: spec?.analysis.threshold,
    unavailable: status.unavailableChecks ?? 0,
  };
  if (spec !== undefined) {
    const analysis = spec.analysis;
    summary.interval = analysis.interval;
    if (analysis.iterations !== undefined) {
      summary.plan = `${analysis.iterations} iterations of ${analysis.mirror ? "mirrored traffic" : "A/B testing"}`;
      if (started) summary.step = { index: status.iterations ?? 0, total: analysis.iterations };
    } else {
      const weights = stepWeights(spec);
      summary.plan = weights.map((w) => `${w}%`).join(" → ");
      if (started) summary.step = { index: status.stepIndex ?? 0, total: weights.length };
    }
    if (spec.skipAnalysis) summary.plan = `skipAnalysis: promote without analysis (${summary.plan})`;
    const typed = CanaryStatus.safeParse(object.status ?? {});
    if (started && typed.success) {
      const routing = routingFor(spec, typed.data);
      summary.weights = routing.weights;
      summary.weight = routing.match
        ? "A/B"
        : routing.mirrorWeight > 0
          ? `mirror ${routing.mirrorWeight}%`
          : `${routing.weights.canary}%`;
    }
    summary.metrics = metricRows(analysis.metrics, summary.metrics);
  } else {
    summary.metrics = summary.metrics.map((m) => ({ ...m, unit: unitOf(undefined, m.name) }));
    if (started && status.stepIndex !== undefined) summary.step = { index: status.stepIndex };
  }
  summary.next = next(spec, status, summary, now);
  return summary;
}

function outcome(object: RolloutObject, targetRevision?: string): Outcome {
  const status = readStatus(object);
  const generation = object.metadata?.generation;
  if (status.phase === undefined) return { state: "running", reason: "no status yet" };
  if (generation !== undefined && (status.observedGeneration ?? 0) < generation) {
    return { state: "running", reason: `the controller has not yet acted on generation ${generation}` };
  }
  const ended = status.phase === "Succeeded" || status.phase === "Initialized" || status.phase === "Failed";
  if (ended && targetRevision !== undefined && targetRevision !== status.lastAppliedSpec) {
    return {
      state: "running",
      reason: `revision ${targetRevision} of Deployment ${looseTargetName(object.spec) ?? "?"} is not picked up yet`,
    };
  }
  const ready = status.conditions?.find((c) => c.type === "Ready")?.message;
  if (status.phase === "Initialized") {
    return {
      state: "succeeded",
      reason: `initialized: primary runs revision ${short(status.lastPromotedSpec)}`,
    };
  }
  const base = phaseOutcome(status.phase);
  return base.state === "running" || ready === undefined ? base : { ...base, reason: ready };
}

/** The Canary view. */
export const canaryView: RolloutView = {
  summarize,
  targetDeployment: (object) => looseTargetName(object.spec),
  outcome,
};
