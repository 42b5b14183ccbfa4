// How the CLI reads a BlueGreen: colours and traffic from the same routing
// function the controller applies, switch steps and thresholds from the spec.
import { BlueGreenSpec, BlueGreenStatus } from "../api/bluegreen.ts";
import { routingFor } from "../strategies/bluegreen.ts";
import { baseSummary, phaseOutcome } from "./base-view.ts";
import { metricRows, unitOf } from "./metric-rows.ts";
import { type LooseStatus, type RolloutObject, readStatus } from "./rollout.ts";
import type { Outcome, RolloutSummary, RolloutView } from "./summary.ts";

function looseTargetName(spec: unknown): string | undefined {
  const name = (spec as { targetRef?: { name?: unknown } } | undefined)?.targetRef?.name;
  return typeof name === "string" ? name : undefined;
}

function colours(object: RolloutObject): { active?: string; candidate?: string } {
  const status = (object.status ?? {}) as { activeColour?: unknown; candidateColour?: unknown };
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  return { active: text(status.activeColour), candidate: text(status.candidateColour) };
}

/** What happens next, and how a person can step in. */
function next(spec: BlueGreenSpec | undefined, status: LooseStatus, summary: RolloutSummary): string {
  const target = summary.target?.name ?? "the target";
  const { candidate } = colours({ status });
  if (summary.phase === undefined)
    return "no status yet: the Wren controller has not reconciled this BlueGreen (is it running?)";
  if (summary.generation !== undefined && (summary.observedGeneration ?? 0) < summary.generation)
    return `the controller has not yet acted on generation ${summary.generation} of this BlueGreen's spec`;
  if (spec?.suspend) return "spec.suspend is set: the controller changes nothing until it is cleared";
  const ready = status.conditions?.find((c) => c.type === "Ready");
  if (ready?.reason === "InvalidSpec") return `nothing moves until this is fixed: ${ready.message}`;
  switch (summary.phase) {
    case "Initializing":
      return "creating the first colour; all traffic goes to it once it is ready";
    case "Initialized":
    case "Succeeded":
      return `idle: change Deployment ${target} to release a new revision`;
    case "Waiting":
      return "a new revision waits for a confirm-rollout webhook";
    case "Progressing":
      return `checking the ${candidate ?? "candidate"} colour, which only preview requests reach; kubectl wren promote switches a step now, abort rolls back`;
    case "WaitingPromotion":
      return "checks passed; waiting at the switch for kubectl wren promote (or a confirm-promotion webhook)";
    case "Switching":
      return "moving traffic to the candidate step by step; kubectl wren abort sends everything back at once";
    case "Verifying":
      return "all traffic is on the new colour; post-switch checks can still roll back, abort sends everything back at once";
    case "Paused":
      return `paused (returns to ${status.resumePhase ?? "Progressing"}); kubectl wren resume continues, abort rolls back`;
    case "Failed":
      return `rolled back; kubectl wren retry tries revision ${status.lastAppliedSpec ?? "?"} again, or change Deployment ${target}`;
    default:
      return `phase ${summary.phase}`;
  }
}

function summarize(object: RolloutObject): RolloutSummary {
  const summary = baseSummary("BlueGreen", object);
  const status = readStatus(object);
  const parsed = BlueGreenSpec.safeParse(object.spec);
  const spec = parsed.success ? parsed.data : undefined;
  const { active, candidate } = colours(object);
  const targetName = spec?.targetRef.name ?? looseTargetName(object.spec);
  if (targetName !== undefined) {
    summary.target = {
      kind: "Deployment",
      name: targetName,
      revision: status.lastAppliedSpec,
      promotedRevision: status.lastPromotedSpec,
    };
  }
  if (active !== undefined) {
    const value = candidate === undefined ? `${active} active` : `${active} active, ${candidate} candidate`;
    summary.details = [{ label: "Colours", value }];
  }
  summary.checks = {
    failed: status.failedChecks ?? 0,
    threshold: spec?.analysis.threshold,
    unavailable: status.unavailableChecks ?? 0,
  };
  if (spec === undefined) {
    summary.metrics = summary.metrics.map((m) => ({ ...m, unit: unitOf(undefined, m.name) }));
    return { ...summary, next: next(spec, status, summary) };
  }
  summary.interval = spec.analysis.interval;
  const steps = spec.switch.steps;
  summary.plan = `${spec.analysis.iterations} rounds on the candidate, then ${steps.map((w) => `${w}%`).join(" → ")}`;
  const switchStep = (object.status as { switchStep?: unknown } | undefined)?.switchStep;
  if (typeof switchStep === "number") summary.step = { index: switchStep, total: steps.length };
  const typed = BlueGreenStatus.safeParse(object.status ?? {});
  const routing = typed.success ? routingFor(spec, typed.data) : undefined;
  if (routing !== undefined) {
    const parts = Object.entries(routing.weights).map(([colour, w]) => `${colour} ${w}%`);
    const preview = routing.preview === undefined ? "" : ` (preview requests: ${routing.preview})`;
    summary.traffic = `${parts.join(", ")}${preview}`;
    summary.weight = `${routing.weights[routing.active === "blue" ? "green" : "blue"]}%`;
  }
  summary.metrics = metricRows(spec.analysis.metrics, summary.metrics);
  summary.next = next(spec, status, summary);
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
  if (status.phase === "Initialized") {
    return { state: "succeeded", reason: `initialized: ${colours(object).active ?? "?"} serves all traffic` };
  }
  const ready = status.conditions?.find((c) => c.type === "Ready")?.message;
  const base = phaseOutcome(status.phase);
  return base.state === "running" || ready === undefined ? base : { ...base, reason: ready };
}

/** The BlueGreen view. */
export const blueGreenView: RolloutView = {
  summarize,
  targetDeployment: (object) => looseTargetName(object.spec),
  outcome,
};
