// The Canary state machine. Pure: (spec, status, observations) -> (status, actions).
// Every decision re-derives the routing and the canary's scale from the new
// status, so acting is idempotent and a restarted controller converges from
// status alone.
import type { CanaryPhase, CanarySpec, CanaryStatus } from "../api/canary.ts";
import type { Condition, WebhookType } from "../api/common.ts";
import type {
  Action,
  CheckResult,
  Decision,
  ManualAction,
  Routing,
  WebhookResult,
  WorkloadObservation,
} from "./decision.ts";
import { durationMs } from "./duration.ts";

/** What the reconciler observed for one Canary. */
export interface CanaryObservations {
  now: Date;
  generation: number;
  target: WorkloadObservation;
  primary: WorkloadObservation;
  /** This interval's metric checks; present only when the plan asked for analysis. */
  checks?: CheckResult[];
  /** Answers of the webhooks the plan asked for. */
  webhooks?: WebhookResult[];
  /** A manual action not yet consumed. */
  manualAction?: ManualAction;
  /** True when spec.window is unset or the clock is inside it. */
  windowOpen: boolean;
  /** The Canary is being deleted (deletionTimestamp set). */
  deleting?: boolean;
  /** What is wrong with the VirtualService named by spec.service.virtualServiceRef, if anything. */
  routingProblem?: string;
  /** Wren's finalizer is on the Canary. */
  finalizer?: boolean;
  /**
   * False when the VirtualService does not yet carry the routing the status records
   * (a controller stopped between recording a step and writing it).
   */
  routingApplied?: boolean;
  /** An object this Canary would write is already managed by another rollout (which, and what). */
  conflict?: string;
}

/** What the reconciler must observe before deciding: analysis and which webhook gates. */
export interface CanaryPlan {
  analyse: boolean;
  gates: WebhookType[];
}

type Status = CanaryStatus;
type Reason = { reason: string; message: string };

const progressing: ReadonlySet<CanaryPhase> = new Set(["Progressing", "WaitingPromotion"]);
const idle = 30_000;
const warningReasons: ReadonlySet<string> = new Set([
  "VirtualServiceNotFound",
  "RolledBack",
  "CheckFailed",
  "MetricsUnavailable",
  "TargetNotFound",
  "ProgressDeadlineExceeded",
]);

/** The canary weights of each step, e.g. stepWeight 20 to maxWeight 50 gives [20, 40, 50]. */
export function stepWeights(spec: CanarySpec): number[] {
  const a = spec.analysis;
  if (a.stepWeights) return a.stepWeights;
  if (a.stepWeight === undefined || a.maxWeight === undefined) return [];
  const weights: number[] = [];
  for (let w = a.stepWeight; w < a.maxWeight; w += a.stepWeight) weights.push(w);
  weights.push(a.maxWeight);
  return weights;
}

function isABTesting(spec: CanarySpec): boolean {
  return spec.analysis.iterations !== undefined;
}

/** Routing implied by a status: the single source of truth for the VirtualService. */
export function routingFor(spec: CanarySpec, status: Status): Routing {
  const phase = status.phase === "Paused" ? status.resumePhase : status.phase;
  const live = phase !== undefined && (progressing.has(phase) || phase === "Promoting");
  if (!live) return { weights: { primary: 100, canary: 0 }, match: false, mirrorWeight: 0 };
  const canary = status.canaryWeight ?? 0;
  // A/B traffic starts once the first step (after pre-rollout) is taken, and stops at promotion.
  const ab = isABTesting(spec) && phase !== "Promoting" && (status.stepIndex ?? 0) > 0;
  return {
    weights: { primary: 100 - canary, canary },
    match: ab && !spec.analysis.mirror,
    mirrorWeight: ab && spec.analysis.mirror ? (spec.analysis.mirrorWeight ?? 100) : 0,
  };
}

/** Replicas the target (the canary) should run in a status; undefined leaves it alone. */
function canaryReplicas(status: Status, obs: CanaryObservations): number | undefined {
  const phase = status.phase === "Paused" ? status.resumePhase : status.phase;
  // Never scale the target down before the primary serves: it may be the only version running.
  if (phase === undefined || phase === "Initializing" || status.lastPromotedSpec === undefined)
    return undefined;
  const up = progressing.has(phase) || phase === "Promoting";
  return up ? Math.max(obs.primary.replicas, 1) : 0;
}

function elapsed(since: string | undefined, now: Date): number {
  return since === undefined ? Number.POSITIVE_INFINITY : now.getTime() - Date.parse(since);
}

function stepDue(spec: CanarySpec, status: Status, now: Date): boolean {
  return elapsed(status.lastStepTime, now) >= durationMs(spec.analysis.interval);
}

/**
 * Which observations the next decision needs. Pure, so tests and the reconciler agree.
 * A due round whose routing never reached the VirtualService is routed again, not
 * analysed: no checks and no gates of the round (`routingApplied` false).
 */
export function planCanary(
  spec: CanarySpec,
  status: Status,
  now: Date,
  routingApplied?: boolean,
): CanaryPlan {
  const gates: WebhookType[] = [];
  const phase = status.phase;
  if (spec.suspend) return { analyse: false, gates };
  if (phase === "Waiting") gates.push("confirm-rollout");
  if (phase === "Progressing" && (status.stepIndex ?? 0) === 0 && !status.preRolloutPassed)
    gates.push("pre-rollout");
  const due =
    phase !== undefined && progressing.has(phase) && stepDue(spec, status, now) && routingApplied !== false;
  if (due && !spec.skipAnalysis) gates.push("rollout", "rollback");
  // Ask the gate of the move this round can make: the next step, or promotion after the last one.
  const lastStep = isABTesting(spec)
    ? (status.iterations ?? 0) + 1 >= (spec.analysis.iterations ?? 0)
    : (status.stepIndex ?? 0) >= stepWeights(spec).length;
  if (due && phase === "Progressing" && !lastStep) gates.push("confirm-traffic-increase");
  if (due && (lastStep || phase === "WaitingPromotion")) gates.push("confirm-promotion");
  return { analyse: due && !spec.skipAnalysis && spec.analysis.metrics.length > 0, gates };
}

function setCondition(status: Status, ready: boolean, r: Reason, now: Date, generation: number): Status {
  const previous = status.conditions?.find((c) => c.type === "Ready");
  const value = ready ? "True" : "False";
  const changed = previous?.status !== value || previous.reason !== r.reason;
  const condition: Condition = {
    type: "Ready",
    status: value,
    reason: r.reason,
    message: r.message,
    lastTransitionTime: changed || !previous ? now.toISOString() : previous.lastTransitionTime,
    observedGeneration: generation,
  };
  return {
    ...status,
    conditions: [...(status.conditions ?? []).filter((c) => c.type !== "Ready"), condition],
  };
}

/** An informational webhook call that describes the decided status. */
function informational(status: Status, webhookType: WebhookType) {
  return {
    type: "CallWebhooks" as const,
    webhookType,
    phase: status.phase ?? "Initializing",
    canaryWeight: status.canaryWeight ?? 0,
  };
}

/** Builds the decision for a status: routing and scale always, plus extra actions. */
function decision(
  spec: CanarySpec,
  previous: Status,
  next: Status,
  obs: CanaryObservations,
  r: Reason & { ready?: boolean; requeueMs?: number },
  extra: Action[] = [],
): Decision<Status> {
  let status: Status = { ...next, observedGeneration: obs.generation };
  if (status.phase !== previous.phase) status.lastTransitionTime = obs.now.toISOString();
  status = setCondition(status, r.ready ?? false, r, obs.now, obs.generation);
  const actions: Action[] = [...extra];
  // Traffic moves to the primary only once it has served (or is ready to): a primary
  // that never became ready must not take the target's traffic, even after a failure.
  const served = status.lastPromotedSpec !== undefined || obs.primary.ready;
  if (served && (obs.primary.exists || actions.some((a) => a.type === "PromoteSpec"))) {
    actions.push({ type: "SetRouting", routing: routingFor(spec, status) });
  }
  if (obs.target.exists && obs.primary.exists) {
    const replicas = canaryReplicas(status, obs);
    if (replicas !== undefined && obs.target.replicas !== replicas)
      actions.push({ type: "ScaleTarget", replicas });
  }
  const previousReason = previous.conditions?.find((c) => c.type === "Ready")?.reason;
  const moved = (status.canaryWeight ?? 0) !== (previous.canaryWeight ?? 0);
  if (status.phase !== previous.phase || r.reason !== previousReason || moved) {
    const warning = warningReasons.has(r.reason) || status.phase === "Failed";
    actions.push({
      type: "Event",
      eventType: warning ? "Warning" : "Normal",
      reason: r.reason,
      message: r.message,
    });
    if (spec.analysis.webhooks.some((w) => w.type === "event")) {
      actions.push({ ...informational(status, "event"), message: `${r.reason}: ${r.message}` });
    }
    if (status.phase !== previous.phase) {
      actions.push({ type: "Notify", severity: warning ? "error" : "info", message: r.message });
    }
  }
  if ((obs.finalizer ?? false) !== spec.revertOnDeletion) {
    actions.push({ type: "SetFinalizer", present: spec.revertOnDeletion });
  }
  if (status.phase === "Succeeded" && previous.phase !== "Succeeded") {
    actions.push({ ...informational(status, "post-rollout"), message: r.message });
  }
  if (r.requeueMs !== undefined) actions.push({ type: "RequeueAfter", ms: r.requeueMs });
  return { status, actions, reason: r.message };
}

/**
 * Deleting a Canary with revertOnDeletion: run the target again, send the apex
 * Service (and so all traffic) to it, then let the finalizer go so garbage
 * collection removes the primary and the routing Wren made.
 */
function revertOnDeletion(spec: CanarySpec, status: Status, obs: CanaryObservations): Decision<Status> {
  if (!obs.finalizer) return { status, actions: [], reason: "deleted" };
  const event = (reason: string, message: string): Action => ({
    type: "Event",
    eventType: "Normal",
    reason,
    message,
  });
  const replicas = Math.max(obs.primary.replicas, 1);
  if (obs.target.exists && !obs.target.ready) {
    const actions: Action[] = [{ type: "RequeueAfter", ms: 1000 }];
    if (obs.target.replicas !== replicas) {
      actions.unshift(
        { type: "ScaleTarget", replicas },
        event("Reverting", `scaling ${spec.targetRef.name} to ${replicas} before handing traffic back to it`),
      );
    }
    return { status, actions, reason: `waiting for ${spec.targetRef.name} to be ready before reverting` };
  }
  return {
    status,
    actions: [
      {
        type: "SetRouting",
        routing: { weights: { primary: 0, canary: 100 }, match: false, mirrorWeight: 0 },
      },
      { type: "ReleaseApexService" },
      { type: "SetFinalizer", present: false },
      event("Reverted", `all traffic on ${spec.targetRef.name}; the primary and Wren's routing are removed`),
    ],
    reason: "reverted to the target on deletion",
  };
}

function waitFor(
  spec: CanarySpec,
  status: Status,
  obs: CanaryObservations,
  what: string,
): { status: Status; expired: boolean; r: Reason & { requeueMs: number } } {
  const since = status.waitingSince ?? obs.now.toISOString();
  const deadline = spec.progressDeadlineSeconds * 1000;
  const waited = elapsed(since, obs.now);
  return {
    status: { ...status, waitingSince: since },
    expired: waited > deadline,
    r: {
      reason: "Waiting",
      message: `waiting for ${what} (${Math.round(waited / 1000)}s of ${spec.progressDeadlineSeconds}s)`,
      requeueMs: Math.min(Math.max(deadline - waited, 1000), 5000),
    },
  };
}

/** Starts the analysis of the target's current revision from weight 0. */
function start(spec: CanarySpec, status: Status, obs: CanaryObservations, why: string): Decision<Status> {
  const hash = obs.target.templateHash;
  const fresh: Status = {
    ...status,
    lastAppliedSpec: hash,
    canaryWeight: 0,
    stepIndex: 0,
    failedChecks: 0,
    unavailableChecks: 0,
    iterations: 0,
    preRolloutPassed: false,
    lastStepTime: obs.now.toISOString(),
    waitingSince: undefined,
    resumePhase: undefined,
    metrics: [],
  };
  if (spec.skipAnalysis) {
    return decision(spec, status, { ...fresh, phase: "Promoting" }, obs, {
      reason: "SkipAnalysis",
      message: `${why}; skipAnalysis is set, promoting revision ${hash} without analysis`,
      requeueMs: 1000,
    });
  }
  return decision(spec, status, { ...fresh, phase: "Progressing" }, obs, {
    reason: "Progressing",
    message: `${why}; starting analysis of revision ${hash}`,
    requeueMs: 1000,
  });
}

function rollback(spec: CanarySpec, status: Status, obs: CanaryObservations, why: string): Decision<Status> {
  return decision(
    spec,
    status,
    { ...status, phase: "Failed", canaryWeight: 0, waitingSince: undefined, resumePhase: undefined },
    obs,
    { reason: "RolledBack", message: `rolled back revision ${status.lastAppliedSpec}: ${why}` },
  );
}

function gateAnswers(obs: CanaryObservations, type: WebhookType): WebhookResult[] {
  return (obs.webhooks ?? []).filter((w) => w.type === type);
}

/** All gates of a type passed (true when the spec has none). */
function gatesOpen(
  spec: CanarySpec,
  obs: CanaryObservations,
  type: WebhookType,
): { open: boolean; message: string } {
  const declared = spec.analysis.webhooks.filter((w) => w.type === type);
  const answers = gateAnswers(obs, type);
  const closed = declared.filter((w) => !answers.some((a) => a.name === w.name && a.ok));
  return {
    open: closed.length === 0,
    message: closed.map((w) => `${type} webhook ${w.name}`).join(", "),
  };
}

/** Consumes a pending manual action; returns the status with it recorded. */
function consume(status: Status, action: ManualAction, now: Date, result: string): Status {
  return {
    ...status,
    lastAction: {
      id: action.id,
      action: action.action,
      requestedBy: action.requestedBy,
      requestedAt: action.requestedAt,
      consumedAt: now.toISOString(),
      result,
    },
  };
}

function who(action: ManualAction): string {
  return action.requestedBy ? ` by ${action.requestedBy}` : "";
}

/**
 * Moves to the next step, or towards promotion when the last step passed.
 * `manual` (kubectl wren promote) skips the confirm-traffic-increase gate.
 */
function advance(
  spec: CanarySpec,
  status: Status,
  obs: CanaryObservations,
  why: string,
  manual = false,
): Decision<Status> {
  const now = obs.now.toISOString();
  if (isABTesting(spec) && (status.stepIndex ?? 0) === 0) {
    const match = spec.analysis.mirror
      ? "mirroring traffic to the canary"
      : "routing matching requests to the canary";
    return decision(spec, status, { ...status, stepIndex: 1, lastStepTime: now }, obs, {
      reason: "Progressing",
      message: `${why}; ${match} for ${spec.analysis.iterations} iterations`,
      requeueMs: durationMs(spec.analysis.interval),
    });
  }
  if (isABTesting(spec)) {
    const iterations = (status.iterations ?? 0) + 1;
    const target = spec.analysis.iterations ?? 0;
    if (iterations < target) {
      return decision(spec, status, { ...status, iterations, lastStepTime: now }, obs, {
        reason: "Progressing",
        message: `${why}; iteration ${iterations} of ${target}`,
        requeueMs: durationMs(spec.analysis.interval),
      });
    }
    return promote(spec, { ...status, iterations }, obs, `${why}; ${target} iterations passed`);
  }
  const weights = stepWeights(spec);
  const index = status.stepIndex ?? 0;
  const nextWeight = weights[index];
  if (nextWeight === undefined)
    return promote(spec, status, obs, `${why}; analysis at ${status.canaryWeight}% passed`);
  if (index > 0 && !manual) {
    const gate = gatesOpen(spec, obs, "confirm-traffic-increase");
    if (!gate.open) {
      return decision(spec, status, { ...status, lastStepTime: now }, obs, {
        reason: "WaitingForGate",
        message: `holding at ${status.canaryWeight}%: waiting for ${gate.message}`,
        requeueMs: durationMs(spec.analysis.interval),
      });
    }
  }
  return decision(
    spec,
    status,
    { ...status, phase: "Progressing", stepIndex: index + 1, canaryWeight: nextWeight, lastStepTime: now },
    obs,
    {
      reason: "Progressing",
      message: `${why}; canary weight ${status.canaryWeight ?? 0}% -> ${nextWeight}% (step ${index + 1} of ${weights.length})`,
      requeueMs: durationMs(spec.analysis.interval),
    },
  );
}

function promote(spec: CanarySpec, status: Status, obs: CanaryObservations, why: string): Decision<Status> {
  const gate = gatesOpen(spec, obs, "confirm-promotion");
  if (!gate.open) {
    return decision(
      spec,
      status,
      { ...status, phase: "WaitingPromotion", lastStepTime: obs.now.toISOString() },
      obs,
      {
        reason: "WaitingPromotion",
        message: `${why}; waiting for ${gate.message} before promotion`,
        requeueMs: durationMs(spec.analysis.interval),
      },
    );
  }
  return decision(spec, status, { ...status, phase: "Promoting", lastStepTime: obs.now.toISOString() }, obs, {
    reason: "Promoting",
    message: `${why}; promoting revision ${status.lastAppliedSpec} to the primary`,
    requeueMs: 1000,
  });
}

/** One analysis round: checks, then rollback, hold or advance. */
function analyse(spec: CanarySpec, status: Status, obs: CanaryObservations): Decision<Status> {
  const now = obs.now.toISOString();
  const interval = durationMs(spec.analysis.interval);
  const rollbackHook = gateAnswers(obs, "rollback").find((w) => w.ok);
  if (rollbackHook) return rollback(spec, status, obs, `rollback webhook ${rollbackHook.name} asked for it`);

  const checks = spec.skipAnalysis ? [] : (obs.checks ?? []);
  const hooks = spec.skipAnalysis ? [] : gateAnswers(obs, "rollout");
  const failed = [
    ...checks.filter((c) => c.verdict === "Fail").map((c) => `${c.name} ${c.message ?? "failed"}`),
    ...hooks.filter((h) => !h.ok).map((h) => `rollout webhook ${h.name}: ${h.message ?? "failed"}`),
  ];
  const unavailable = checks.filter((c) => c.verdict === "Unavailable");
  const measured: Status = {
    ...status,
    lastStepTime: now,
    metrics: checks.map((c) => ({
      name: c.name,
      value: c.value,
      primaryValue: c.primaryValue,
      thresholdRange: c.thresholdRange,
      verdict: c.verdict,
      message: c.message,
      time: now,
    })),
  };
  if (failed.length > 0) {
    const failedChecks = (status.failedChecks ?? 0) + 1;
    const next = { ...measured, failedChecks, unavailableChecks: 0 };
    const why = failed.join("; ");
    if (failedChecks >= spec.analysis.threshold) {
      return rollback(
        spec,
        next,
        obs,
        `${failedChecks} failed checks (threshold ${spec.analysis.threshold}): ${why}`,
      );
    }
    return decision(spec, status, next, obs, {
      reason: "CheckFailed",
      message: `check failed (${failedChecks} of ${spec.analysis.threshold}): ${why}`,
      requeueMs: interval,
    });
  }
  if (unavailable.length > 0) {
    const unavailableChecks = (status.unavailableChecks ?? 0) + 1;
    const policy = spec.analysis.metricsUnavailable;
    const why = unavailable.map((c) => `${c.name}: ${c.message ?? "no data"}`).join("; ");
    const next = { ...measured, unavailableChecks };
    if (policy.action === "rollback" && unavailableChecks >= policy.after) {
      return rollback(spec, next, obs, `metrics unavailable for ${unavailableChecks} intervals: ${why}`);
    }
    return decision(spec, status, next, obs, {
      reason: "MetricsUnavailable",
      message: `holding at ${status.canaryWeight ?? 0}%: metrics unavailable (${unavailableChecks} in a row, policy ${policy.action}): ${why}`,
      requeueMs: interval,
    });
  }
  const passed = { ...measured, unavailableChecks: 0 };
  if (!obs.windowOpen) {
    return decision(spec, status, passed, obs, {
      reason: "OutsideWindow",
      message: `checks passed; holding at ${status.canaryWeight ?? 0}% outside the rollout window`,
      requeueMs: interval,
    });
  }
  if (status.phase === "WaitingPromotion") return promote(spec, passed, obs, "checks passed");
  return advance(spec, passed, obs, "checks passed");
}

function handleManual(
  spec: CanarySpec,
  status: Status,
  obs: CanaryObservations,
  action: ManualAction,
): Decision<Status> {
  const phase = status.phase;
  const by = who(action);
  const ignore = (why: string): Decision<Status> =>
    decision(spec, status, consume(status, action, obs.now, `ignored: ${why}`), obs, {
      reason: "ActionIgnored",
      message: `${action.action}${by} ignored: ${why}`,
      ready: phase === "Succeeded" || phase === "Initialized",
      requeueMs: 1000,
    });
  // A revision waiting at its gate is the one the action is about.
  const waitingRevision = phase === "Waiting" || (phase === "Paused" && status.resumePhase === "Waiting");
  switch (action.action) {
    case "abort":
      if (waitingRevision) {
        // Declined before it started: mark it as released-and-failed so it is not picked up again.
        const declined = {
          ...consume(status, action, obs.now, "declined"),
          lastAppliedSpec: obs.target.templateHash,
        };
        return rollback(spec, declined, obs, `revision ${obs.target.templateHash} declined${by}`);
      }
      if (phase !== undefined && (progressing.has(phase) || phase === "Paused")) {
        return rollback(spec, consume(status, action, obs.now, "rolled back"), obs, `aborted${by}`);
      }
      return ignore(`nothing to abort in phase ${phase}`);
    case "pause":
      if (phase !== undefined && (progressing.has(phase) || phase === "Waiting")) {
        return decision(
          spec,
          status,
          { ...consume(status, action, obs.now, "paused"), phase: "Paused", resumePhase: phase },
          obs,
          {
            reason: "Paused",
            message: `paused${by} at ${status.canaryWeight ?? 0}%`,
          },
        );
      }
      return ignore(`cannot pause in phase ${phase}`);
    case "resume":
      if (phase === "Paused") {
        const resumed = {
          ...consume(status, action, obs.now, "resumed"),
          phase: status.resumePhase ?? "Progressing",
        };
        return decision(
          spec,
          status,
          { ...resumed, resumePhase: undefined, lastStepTime: obs.now.toISOString() },
          obs,
          {
            reason: "Resumed",
            message: `resumed${by} at ${status.canaryWeight ?? 0}%`,
            requeueMs: durationMs(spec.analysis.interval),
          },
        );
      }
      return ignore("not paused");
    case "retry":
      if (phase === "Failed") {
        return start(spec, consume(status, action, obs.now, "restarted"), obs, `retry${by}`);
      }
      return ignore(`only a failed canary can be retried (phase ${phase})`);
    case "promote":
      if (phase === "Waiting") {
        return start(
          spec,
          consume(status, action, obs.now, "rollout approved"),
          obs,
          `rollout approved${by}`,
        );
      }
      if (phase === "Progressing") {
        const next = consume(status, action, obs.now, "advanced one step");
        return advance(spec, next, obs, `promoted one step${by}`, true);
      }
      if (phase === "WaitingPromotion") {
        const next = consume(status, action, obs.now, "promoted");
        return decision(spec, status, { ...next, phase: "Promoting" }, obs, {
          reason: "Promoting",
          message: `promotion approved${by}`,
          requeueMs: 1000,
        });
      }
      return ignore(`nothing to promote in phase ${phase}`);
    case "promote-full":
      if (phase === "Waiting") {
        const begun = start(
          spec,
          consume(status, action, obs.now, "promoted fully"),
          obs,
          `full promotion${by}`,
        );
        return decision(spec, status, { ...begun.status, phase: "Promoting" }, obs, {
          reason: "Promoting",
          message: `full promotion${by} of revision ${obs.target.templateHash}, skipping the analysis`,
          requeueMs: 1000,
        });
      }
      if (phase !== undefined && progressing.has(phase)) {
        const next = consume(status, action, obs.now, "promoted fully");
        return decision(
          spec,
          status,
          { ...next, phase: "Promoting", lastStepTime: obs.now.toISOString() },
          obs,
          {
            reason: "Promoting",
            message: `full promotion${by}, skipping the remaining steps`,
            requeueMs: 1000,
          },
        );
      }
      return ignore(`nothing to promote in phase ${phase}`);
  }
}

/**
 * The step's interval ran out but its weights never reached the VirtualService (the
 * controller stopped between recording the step and routing it): route them now and
 * observe the step for a whole interval from here, so no step goes unserved.
 */
function reapplyStep(spec: CanarySpec, previous: Status, status: Status, obs: CanaryObservations) {
  const weight = status.canaryWeight ?? 0;
  return decision(spec, previous, { ...status, lastStepTime: obs.now.toISOString() }, obs, {
    reason: "RoutingReapplied",
    message: `the VirtualService did not carry canary weight ${weight}% recorded in status; routing it now and observing it for ${spec.analysis.interval}`,
    requeueMs: durationMs(spec.analysis.interval),
  });
}

/** Touches nothing, says why once (a Warning Event when the reason or message is new), looks again later. */
function hold(status: Status, obs: CanaryObservations, r: Reason, first: Action[] = []): Decision<Status> {
  const previous = status.conditions?.find((c) => c.type === "Ready");
  const actions: Action[] = [...first];
  if (previous?.reason !== r.reason || previous.message !== r.message) {
    actions.push({ type: "Event", eventType: "Warning", ...r });
  }
  actions.push({ type: "RequeueAfter", ms: idle });
  return { status: setCondition(status, false, r, obs.now, obs.generation), actions, reason: r.message };
}

/** The Canary state machine. */
export function decideCanary(spec: CanarySpec, status: Status, obs: CanaryObservations): Decision<Status> {
  const phase = status.phase;
  if (spec.suspend) {
    return {
      status: setCondition(
        status,
        false,
        { reason: "Suspended", message: "spec.suspend is set; nothing changes" },
        obs.now,
        obs.generation,
      ),
      actions: [],
      reason: "suspended",
    };
  }
  if (obs.conflict) {
    // Writing would start a fight over the same objects, each rollout undoing the other.
    // The finalizer goes, so deleting the Canary that lost is never blocked.
    const release: Action[] = obs.finalizer ? [{ type: "SetFinalizer", present: false }] : [];
    return hold(status, obs, { reason: "ResourceConflict", message: obs.conflict }, release);
  }
  if (obs.deleting) return revertOnDeletion(spec, status, obs);
  if (obs.routingProblem) {
    // Nothing can move safely while the routes to move are missing: hold everything, say why.
    return hold(status, obs, { reason: "VirtualServiceNotFound", message: obs.routingProblem });
  }
  if (!obs.target.exists) {
    return decision(spec, status, { ...status, phase: phase ?? "Initializing" }, obs, {
      reason: "TargetNotFound",
      message: `Deployment ${spec.targetRef.name} not found`,
      requeueMs: idle,
    });
  }

  // Initialisation: copy the target to the primary, route all traffic there, scale the target down.
  if (phase === undefined || phase === "Initializing") {
    const base: Status = { ...status, phase: "Initializing" };
    if (!obs.primary.exists || obs.primary.templateHash !== obs.target.templateHash) {
      return decision(
        spec,
        status,
        { ...base, waitingSince: status.waitingSince ?? obs.now.toISOString() },
        obs,
        {
          reason: "Initializing",
          message: `creating the primary from ${spec.targetRef.name} (revision ${obs.target.templateHash})`,
          requeueMs: 1000,
        },
        [{ type: "PromoteSpec", replicas: Math.max(obs.target.replicas, 1) }],
      );
    }
    if (!obs.primary.ready) {
      const wait = waitFor(spec, base, obs, "the primary to become ready");
      if (wait.expired) {
        return decision(spec, status, { ...wait.status, phase: "Failed" }, obs, {
          reason: "ProgressDeadlineExceeded",
          message: `the primary did not become ready within ${spec.progressDeadlineSeconds}s`,
        });
      }
      return decision(spec, status, wait.status, obs, wait.r);
    }
    const hash = obs.target.templateHash;
    return decision(
      spec,
      status,
      {
        ...base,
        phase: "Initialized",
        canaryWeight: 0,
        lastAppliedSpec: hash,
        lastPromotedSpec: hash,
        waitingSince: undefined,
      },
      obs,
      {
        reason: "Initialized",
        message: `primary runs revision ${hash}; all traffic on the primary`,
        ready: true,
      },
    );
  }

  const pending =
    obs.manualAction && obs.manualAction.id !== status.lastAction?.id ? obs.manualAction : undefined;
  const newRevision = obs.target.templateHash !== status.lastAppliedSpec;

  const act = (action: ManualAction): Decision<Status> => {
    const handled = handleManual(spec, status, obs, action);
    // Every consumed action leaves an Event, even when the phase and reason stay the same.
    if (!handled.actions.some((a) => a.type === "Event")) {
      handled.actions.push({
        type: "Event",
        eventType: "Normal",
        reason: "ManualAction",
        message: `${action.action}${who(action)}: ${handled.status.lastAction?.result ?? handled.reason}; ${handled.reason}`,
      });
    }
    return handled;
  };
  // A waiting or paused canary hears a person first: approving, aborting or resuming is why they came.
  if (pending && (phase === "Waiting" || phase === "Paused")) return act(pending);
  if (newRevision && phase === "Paused") {
    return decision(spec, status, status, obs, {
      reason: "Paused",
      message: `paused; new revision ${obs.target.templateHash} starts when resumed`,
    });
  }

  if (
    newRevision &&
    phase !== "Promoting" &&
    phase !== "Finalising" &&
    obs.target.templateHash === status.lastPromotedSpec
  ) {
    // Reverted to what the primary runs (e.g. after a rollback): nothing to analyse.
    const hash = obs.target.templateHash;
    return decision(
      spec,
      status,
      { ...status, phase: "Succeeded", canaryWeight: 0, lastAppliedSpec: hash },
      obs,
      {
        reason: "Succeeded",
        message: `target reverted to revision ${hash}, which the primary already runs`,
        ready: true,
      },
    );
  }
  if (newRevision && phase !== "Promoting" && phase !== "Finalising") {
    const why =
      phase !== undefined && (progressing.has(phase) || phase === "Paused")
        ? `new revision ${obs.target.templateHash} during analysis of ${status.lastAppliedSpec}, restarting from 0%`
        : `new revision ${obs.target.templateHash} detected`;
    const gate = gatesOpen(spec, obs, "confirm-rollout");
    const waiting = !gate.open || !obs.windowOpen;
    if (waiting) {
      const held: Status = {
        ...status,
        phase: "Waiting",
        canaryWeight: 0,
        lastAppliedSpec: status.lastAppliedSpec,
      };
      return decision(spec, status, held, obs, {
        reason: gate.open ? "OutsideWindow" : "WaitingForGate",
        message: `${why}; waiting for ${gate.open ? "the rollout window" : gate.message}`,
        requeueMs: durationMs(spec.analysis.interval),
      });
    }
    return start(spec, status, obs, why);
  }

  if (pending) return act(pending);

  switch (phase) {
    case "Initialized":
    case "Succeeded":
    case "Failed":
      return decision(spec, status, status, obs, {
        reason: phase === "Failed" ? "RolledBack" : phase,
        message:
          phase === "Failed"
            ? (status.conditions?.find((c) => c.type === "Ready")?.message ?? "rolled back")
            : `primary runs revision ${status.lastPromotedSpec}`,
        ready: phase !== "Failed",
      });
    case "Waiting":
      // The target went back to the revision last analysed while it waited: nothing to release.
      return decision(spec, status, { ...status, phase: "Succeeded" }, obs, {
        reason: "Succeeded",
        message: `target is back at revision ${status.lastAppliedSpec}; nothing to release`,
        ready: true,
      });
    case "Paused":
      return decision(spec, status, status, obs, {
        reason: "Paused",
        message: `paused at ${status.canaryWeight ?? 0}%; kubectl wren resume continues`,
      });
    case "Progressing":
    case "WaitingPromotion": {
      if (!obs.target.ready) {
        const wait = waitFor(
          spec,
          status,
          obs,
          `the canary Deployment ${spec.targetRef.name} to become ready`,
        );
        if (wait.expired)
          return rollback(spec, wait.status, obs, `canary not ready within ${spec.progressDeadlineSeconds}s`);
        return decision(spec, status, wait.status, obs, wait.r);
      }
      const ready: Status = { ...status, waitingSince: undefined };
      if ((ready.stepIndex ?? 0) === 0 && !ready.preRolloutPassed) {
        const gate = gatesOpen(spec, obs, "pre-rollout");
        if (!gate.open) {
          const failedChecks = (ready.failedChecks ?? 0) + 1;
          if (failedChecks >= spec.analysis.threshold) {
            return rollback(
              spec,
              { ...ready, failedChecks },
              obs,
              `${gate.message} failed ${failedChecks} times`,
            );
          }
          return decision(
            spec,
            status,
            { ...ready, failedChecks, lastStepTime: obs.now.toISOString() },
            obs,
            {
              reason: "CheckFailed",
              message: `${gate.message} did not pass (${failedChecks} of ${spec.analysis.threshold})`,
              requeueMs: durationMs(spec.analysis.interval),
            },
          );
        }
        return advance(spec, { ...ready, preRolloutPassed: true }, obs, "canary ready");
      }
      if (!stepDue(spec, ready, obs.now)) {
        // Between steps nothing new is known: keep the last step's reason (no Event churn).
        const remaining = durationMs(spec.analysis.interval) - elapsed(ready.lastStepTime, obs.now);
        const current = ready.conditions?.find((c) => c.type === "Ready");
        return decision(spec, status, ready, obs, {
          reason: current?.reason ?? phase,
          message: current?.message ?? `at ${ready.canaryWeight ?? 0}%`,
          requeueMs: Math.max(remaining, 100),
        });
      }
      if (obs.routingApplied === false) return reapplyStep(spec, status, ready, obs);
      return analyse(spec, ready, obs);
    }
    case "Promoting": {
      const promoted = obs.primary.templateHash === status.lastAppliedSpec;
      if (!promoted) {
        return decision(
          spec,
          status,
          status,
          obs,
          {
            reason: "Promoting",
            message: `copying revision ${status.lastAppliedSpec} to the primary`,
            requeueMs: 1000,
          },
          [{ type: "PromoteSpec", replicas: obs.primary.replicas }],
        );
      }
      if (!obs.primary.ready) {
        const wait = waitFor(spec, status, obs, "the promoted primary to become ready");
        if (wait.expired)
          return rollback(spec, wait.status, obs, "the promoted primary did not become ready");
        return decision(spec, status, wait.status, obs, wait.r);
      }
      const weight = status.canaryWeight ?? 0;
      const step = spec.analysis.stepWeightPromotion;
      if (step !== undefined && weight > 0) {
        if (stepDue(spec, status, obs.now) && obs.routingApplied === false)
          return reapplyStep(spec, status, status, obs);
        if (!stepDue(spec, status, obs.now) && weight < 100) {
          return decision(spec, status, status, obs, {
            reason: "Promoting",
            message: `promotion at ${100 - weight}% primary`,
            requeueMs: durationMs(spec.analysis.interval),
          });
        }
        const canaryWeight = Math.max(weight - step, 0);
        return decision(
          spec,
          status,
          { ...status, canaryWeight, waitingSince: undefined, lastStepTime: obs.now.toISOString() },
          obs,
          {
            reason: "Promoting",
            message: `primary weight ${100 - weight}% -> ${100 - canaryWeight}%`,
            requeueMs: canaryWeight === 0 ? 1000 : durationMs(spec.analysis.interval),
          },
        );
      }
      return decision(
        spec,
        status,
        { ...status, phase: "Finalising", canaryWeight: 0, waitingSince: undefined },
        obs,
        {
          reason: "Finalising",
          message: `primary runs revision ${status.lastAppliedSpec}; all traffic back on the primary, scaling the canary down`,
          requeueMs: 1000,
        },
      );
    }
    case "Finalising":
      return decision(
        spec,
        status,
        { ...status, phase: "Succeeded", lastPromotedSpec: status.lastAppliedSpec },
        obs,
        {
          reason: "Succeeded",
          message: `promoted revision ${status.lastAppliedSpec}`,
          ready: true,
        },
      );
  }
}
