// The BlueGreen state machine. Pure: (spec, status, observations) -> (status, actions).
// Every decision re-derives the routing and the colours' scale from the new status,
// so acting is idempotent and a restarted controller converges from status alone.
// Routing always comes first among the actions: a rollback is one VirtualService
// write, and nothing (scaling, webhooks) waits in front of it.
import type { BlueGreenPhase, BlueGreenSpec, BlueGreenStatus, Colour } from "../api/bluegreen.ts";
import type { Condition, MetricCheck, WebhookType } from "../api/common.ts";
import type {
  CheckResult,
  Decision,
  EngineAction,
  ManualAction,
  WebhookResult,
  WorkloadObservation,
} from "./decision.ts";
import { durationMs } from "./duration.ts";

/** What the reconciler observed for one BlueGreen. */
export interface BlueGreenObservations {
  now: Date;
  generation: number;
  target: WorkloadObservation;
  /** The colour Deployments; their templateHash is the target revision they were copied from. */
  colours: Record<Colour, WorkloadObservation>;
  /** This round's metric checks; present only when the plan asked for them. */
  checks?: CheckResult[];
  /** Answers of the webhooks the plan asked for. */
  webhooks?: WebhookResult[];
  /** The manual action on the object (consumed or not; the strategy compares ids). */
  manualAction?: ManualAction;
  /**
   * False when the VirtualService (or the apex Service's selector) does not yet carry the
   * routing the status records: a controller stopped between recording a change and
   * writing it. Undefined when the status records no routing yet (or it was not observed).
   */
  routingApplied?: boolean;
  /** An object this BlueGreen would write is already managed by another rollout (which, and what). */
  conflict?: string;
}

/** Desired routing of the apex host. */
export interface BlueGreenRouting {
  /** The colour the apex Service selects (clients outside the mesh follow it). */
  active: Colour;
  /** Percent of non-preview requests on each colour. */
  weights: Record<Colour, number>;
  /** The colour preview requests go to, while preview routes are on. */
  preview?: Colour;
}

/** The BlueGreen kind's cluster-changing actions, carried out by its adapters in order. */
export type BlueGreenAction =
  /** Converge Services, DestinationRules and the VirtualService to this routing (the VirtualService first). */
  | { type: "SetRouting"; routing: BlueGreenRouting }
  /** Copy the target's pod template (which must still be `revision`) into a colour, at this scale. */
  | { type: "DeployColour"; colour: Colour; revision: string; replicas: number }
  /** Scale a colour without touching its pod template. */
  | { type: "ScaleColour"; colour: Colour; replicas: number }
  /** Scale the Deployment people edit (to 0 once a colour serves). */
  | { type: "ScaleTarget"; replicas: number }
  /** Call the informational webhooks of a type (post-rollout, event), without waiting on them. */
  | { type: "CallWebhooks"; webhookType: WebhookType; phase: string; message: string };

/** What the reconciler must observe before deciding. */
export interface BlueGreenPlan {
  /** The checks to run this round (empty: none). */
  metrics: MetricCheck[];
  gates: WebhookType[];
}

type Status = BlueGreenStatus;
type Action = BlueGreenAction | EngineAction;
type Reason = { reason: string; message: string };
type Result = Decision<Status, BlueGreenAction>;

/** Phases in which a release is under way and the candidate colour runs. */
const releasing: ReadonlySet<BlueGreenPhase> = new Set([
  "Progressing",
  "WaitingPromotion",
  "Switching",
  "Verifying",
]);
const idle = 30_000;
const warningReasons: ReadonlySet<string> = new Set([
  "RolledBack",
  "CheckFailed",
  "MetricsUnavailable",
  "TargetNotFound",
  "ProgressDeadlineExceeded",
  "ActiveColourNotFound",
]);

/** The colour that is not `c`. */
export function otherColour(c: Colour): Colour {
  return c === "blue" ? "green" : "blue";
}

/** The phase whose routing and scale apply: a paused BlueGreen keeps those of the phase it paused in. */
function effectivePhase(status: Status): BlueGreenPhase | undefined {
  return status.phase === "Paused" ? status.resumePhase : status.phase;
}

function isReleasing(status: Status): boolean {
  const phase = effectivePhase(status);
  return phase !== undefined && releasing.has(phase);
}

/** True once a colour has served: status.lastPromotedSpec is set by the first successful initialisation. */
function initialised(status: Status): boolean {
  return status.lastPromotedSpec !== undefined && status.activeColour !== undefined;
}

/** Routing implied by a status: the single source of truth for the VirtualService. Undefined before a colour serves. */
export function routingFor(spec: BlueGreenSpec, status: Status): BlueGreenRouting | undefined {
  const active = status.activeColour;
  if (!initialised(status) || active === undefined) return undefined;
  const candidate = status.candidateColour ?? otherColour(active);
  const live = isReleasing(status);
  const weight = live ? (status.canaryWeight ?? 0) : 0;
  const weights = { [active]: 100 - weight, [candidate]: weight } as Record<Colour, number>;
  const preview = live && spec.preview !== undefined && status.preRolloutPassed === true;
  return preview ? { active, weights, preview: candidate } : { active, weights };
}

/**
 * The checks that mean something after the switch: the previous colour gets no traffic
 * then, so comparisons with it (maxIncreaseOverPrimary) are dropped; a check that only
 * compared is skipped.
 */
export function postSwitchMetrics(metrics: readonly MetricCheck[]): MetricCheck[] {
  return metrics
    .filter((m) => m.thresholdRange !== undefined)
    .map((m) => ({ ...m, maxIncreaseOverPrimary: undefined }));
}

function elapsed(since: string | undefined, now: Date): number {
  return since === undefined ? Number.POSITIVE_INFINITY : now.getTime() - Date.parse(since);
}

function interval(spec: BlueGreenSpec): number {
  return durationMs(spec.analysis.interval);
}

function roundDue(spec: BlueGreenSpec, status: Status, now: Date): boolean {
  return elapsed(status.lastStepTime, now) >= interval(spec);
}

/** The current switch step has been held for switch.stepInterval. */
function stepHeld(spec: BlueGreenSpec, status: Status, now: Date): boolean {
  const hold = spec.switch.stepInterval ? durationMs(spec.switch.stepInterval) : interval(spec);
  return elapsed(status.stepStartTime, now) >= hold;
}

/** The candidate colour runs the revision under release and all its pods are ready. */
export function candidateReady(status: Status, obs: Pick<BlueGreenObservations, "colours">): boolean {
  const candidate = status.candidateColour;
  if (candidate === undefined) return false;
  const c = obs.colours[candidate];
  return c.exists && c.ready && c.templateHash === status.lastAppliedSpec;
}

/** Which observations the next decision needs. Pure, so tests and the reconciler agree. */
export function planBlueGreen(
  spec: BlueGreenSpec,
  status: Status,
  facts: { now: Date; candidateReady: boolean; pendingAction: boolean; routingApplied?: boolean },
): BlueGreenPlan {
  const gates: WebhookType[] = [];
  const none = { metrics: [], gates };
  // A person's action is decided on at once: an abort must not wait for Prometheus or a webhook.
  if (spec.suspend || facts.pendingAction) return none;
  const phase = status.phase;
  if (phase === "Waiting") gates.push("confirm-rollout");
  if (phase === undefined || !releasing.has(phase) || !facts.candidateReady || status.fullPromotion)
    return none;
  const a = spec.analysis;
  if (phase === "Progressing" && !status.preRolloutPassed) {
    gates.push("pre-rollout");
    if (a.iterations === 0 && spec.autoPromote) gates.push("confirm-promotion");
    return none;
  }
  if (!roundDue(spec, status, facts.now)) return none;
  // A due round whose routing never reached the VirtualService is routed again, not analysed.
  if (facts.routingApplied === false) return none;
  gates.push("rollout", "rollback");
  const lastRound = (status.iterations ?? 0) + 1 >= a.iterations;
  if (spec.autoPromote && ((phase === "Progressing" && lastRound) || phase === "WaitingPromotion"))
    gates.push("confirm-promotion");
  if (phase === "Switching" && stepHeld(spec, status, facts.now)) gates.push("confirm-traffic-increase");
  return { metrics: phase === "Verifying" ? postSwitchMetrics(a.metrics) : a.metrics, gates };
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

/** Deployment name of a colour, for messages (the adapters use the same rule). */
function colourName(spec: BlueGreenSpec, colour: Colour | undefined): string {
  return `${spec.targetRef.name}-${colour ?? "?"}`;
}

/** Scale of the colours and the target implied by a status. Routing is never among these. */
function workloadActions(status: Status, obs: BlueGreenObservations): BlueGreenAction[] {
  const active = status.activeColour;
  if (!initialised(status) || active === undefined) return [];
  const actions: BlueGreenAction[] = [];
  const candidate = status.candidateColour;
  if (isReleasing(status) && candidate !== undefined && candidate !== active) {
    const replicas = Math.max(obs.colours[active].replicas, 1);
    const c = obs.colours[candidate];
    const revision = status.lastAppliedSpec;
    // Only the revision under release is ever copied; a newer target waits for the next decision.
    if (
      revision !== undefined &&
      obs.target.templateHash === revision &&
      (!c.exists || c.templateHash !== revision || c.replicas !== replicas)
    ) {
      actions.push({ type: "DeployColour", colour: candidate, revision, replicas });
    }
  } else {
    const idleColour = otherColour(active);
    const c = obs.colours[idleColour];
    const kept = status.scaleDownAt !== undefined && elapsed(status.scaleDownAt, obs.now) < 0;
    if (c.exists && c.replicas > 0 && !kept)
      actions.push({ type: "ScaleColour", colour: idleColour, replicas: 0 });
  }
  if (obs.target.exists && obs.target.replicas > 0) actions.push({ type: "ScaleTarget", replicas: 0 });
  return actions;
}

/** Builds the decision for a status: routing first, then the colours' scale, then extra actions. */
function decision(
  spec: BlueGreenSpec,
  previous: Status,
  next: Status,
  obs: BlueGreenObservations,
  r: Reason & { ready?: boolean; requeueMs?: number },
  extra: BlueGreenAction[] = [],
  events: EngineAction[] = [],
): Result {
  let status: Status = { ...next, observedGeneration: obs.generation };
  if (status.phase !== previous.phase) status.lastTransitionTime = obs.now.toISOString();
  status = setCondition(status, r.ready ?? false, r, obs.now, obs.generation);
  const actions: Action[] = [];
  const routing = routingFor(spec, status);
  if (routing) actions.push({ type: "SetRouting", routing });
  actions.push(...workloadActions(status, obs), ...extra, ...events);
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
      actions.push({
        type: "CallWebhooks",
        webhookType: "event",
        phase: status.phase ?? "Initializing",
        message: `${r.reason}: ${r.message}`,
      });
    }
    if (status.phase !== previous.phase) {
      actions.push({ type: "Notify", severity: warning ? "error" : "info", message: r.message });
    }
  }
  let requeueMs = r.requeueMs;
  if (status.scaleDownAt !== undefined && !isReleasing(status)) {
    // Wake up when the previous colour is due to be scaled down.
    const remaining = -elapsed(status.scaleDownAt, obs.now);
    if (remaining > 0) requeueMs = Math.min(requeueMs ?? remaining, Math.max(remaining, 100));
  }
  if (requeueMs !== undefined) actions.push({ type: "RequeueAfter", ms: requeueMs });
  return { status, actions, reason: r.message };
}

function waitFor(
  spec: BlueGreenSpec,
  status: Status,
  obs: BlueGreenObservations,
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

function gateAnswers(obs: BlueGreenObservations, type: WebhookType): WebhookResult[] {
  return (obs.webhooks ?? []).filter((w) => w.type === type);
}

/** All gates of a type passed (true when the spec has none). */
function gatesOpen(
  spec: BlueGreenSpec,
  obs: BlueGreenObservations,
  type: WebhookType,
): { open: boolean; message: string } {
  const declared = spec.analysis.webhooks.filter((w) => w.type === type);
  const answers = gateAnswers(obs, type);
  const closed = declared.filter((w) => !answers.some((a) => a.name === w.name && a.ok));
  return { open: closed.length === 0, message: closed.map((w) => `${type} webhook ${w.name}`).join(", ") };
}

/**
 * Creates the first colour from the target and routes everything to it once it is
 * ready; only then is the target scaled to 0, so it serves until a colour can.
 */
function initialise(spec: BlueGreenSpec, status: Status, obs: BlueGreenObservations): Result {
  const active = status.activeColour ?? "blue";
  const colour = obs.colours[active];
  const hash = obs.target.templateHash ?? "";
  const name = colourName(spec, active);
  let base: Status = {
    ...status,
    phase: status.phase === "Failed" ? "Failed" : "Initializing",
    activeColour: active,
  };
  const pending =
    obs.manualAction && obs.manualAction.id !== status.lastAction?.id ? obs.manualAction : undefined;
  if (pending?.action === "retry" && status.phase === "Failed") {
    base = {
      ...consume(base, pending, obs.now, "restarted"),
      phase: "Initializing",
      waitingSince: undefined,
    };
  } else if (pending) {
    const ignored = consume(base, pending, obs.now, "ignored: no colour serves yet");
    return decision(spec, status, ignored, obs, {
      reason: "ActionIgnored",
      message: `${pending.action}${who(pending)} ignored: no colour serves yet`,
      requeueMs: 1000,
    });
  }
  if (!colour.exists || colour.templateHash !== hash) {
    const replicas = Math.max(obs.target.replicas, colour.replicas, 1);
    return decision(
      spec,
      status,
      { ...base, waitingSince: base.waitingSince ?? obs.now.toISOString() },
      obs,
      {
        reason: "Initializing",
        message: `creating ${name} from ${spec.targetRef.name} (revision ${hash})`,
        requeueMs: 1000,
      },
      [{ type: "DeployColour", colour: active, revision: hash, replicas }],
    );
  }
  if (!colour.ready) {
    const wait = waitFor(spec, base, obs, `${name} to become ready`);
    if (wait.expired) {
      // The target keeps serving: no routing is written and it is not scaled down.
      return decision(spec, status, { ...wait.status, phase: "Failed" }, obs, {
        reason: "ProgressDeadlineExceeded",
        message: `${name} did not become ready within ${spec.progressDeadlineSeconds}s; ${spec.targetRef.name} still serves`,
        requeueMs: idle,
      });
    }
    return decision(spec, status, wait.status, obs, wait.r);
  }
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
      message: `${name} runs revision ${hash} and takes all traffic; ${spec.targetRef.name} scaled to 0`,
      ready: true,
    },
  );
}

/** Starts releasing the target's current revision into the colour that is not active. */
function start(spec: BlueGreenSpec, status: Status, obs: BlueGreenObservations, why: string): Result {
  const active = status.activeColour ?? "blue";
  const candidate = otherColour(active);
  const hash = obs.target.templateHash;
  const fresh: Status = {
    ...status,
    phase: "Progressing",
    candidateColour: candidate,
    lastAppliedSpec: hash,
    canaryWeight: 0,
    switchStep: 0,
    iterations: 0,
    postSwitchIterations: 0,
    failedChecks: 0,
    unavailableChecks: 0,
    preRolloutPassed: false,
    fullPromotion: false,
    lastStepTime: obs.now.toISOString(),
    stepStartTime: undefined,
    waitingSince: undefined,
    resumePhase: undefined,
    // The candidate colour is about to be overwritten: it can no longer be rolled back to.
    scaleDownAt: undefined,
    metrics: [],
  };
  return decision(spec, status, fresh, obs, {
    reason: "Progressing",
    message: `${why}; deploying revision ${hash} to ${colourName(spec, candidate)}`,
    requeueMs: 1000,
  });
}

function rollback(spec: BlueGreenSpec, status: Status, obs: BlueGreenObservations, why: string): Result {
  return decision(
    spec,
    status,
    {
      ...status,
      phase: "Failed",
      canaryWeight: 0,
      preRolloutPassed: false,
      fullPromotion: false,
      waitingSince: undefined,
      resumePhase: undefined,
    },
    obs,
    {
      reason: "RolledBack",
      message: `rolled back revision ${status.lastAppliedSpec}: ${why}; all traffic on ${colourName(spec, status.activeColour)}`,
    },
  );
}

/** The switch is complete: the candidate becomes the active colour; the previous one stays up for scaleDownDelay. */
function succeed(spec: BlueGreenSpec, status: Status, obs: BlueGreenObservations, why: string): Result {
  const candidate = status.candidateColour ?? otherColour(status.activeColour ?? "blue");
  const previous = otherColour(candidate);
  const scaleDownAt = new Date(obs.now.getTime() + durationMs(spec.scaleDownDelay)).toISOString();
  const message = `${why}; ${colourName(spec, candidate)} runs revision ${status.lastAppliedSpec} and takes all traffic; ${colourName(spec, previous)} stays up until ${scaleDownAt} (scaleDownDelay ${spec.scaleDownDelay})`;
  return decision(
    spec,
    status,
    {
      ...status,
      phase: "Succeeded",
      activeColour: candidate,
      candidateColour: undefined,
      canaryWeight: 0,
      lastPromotedSpec: status.lastAppliedSpec,
      scaleDownAt,
      preRolloutPassed: false,
      fullPromotion: false,
      waitingSince: undefined,
    },
    obs,
    {
      reason: "Succeeded",
      message,
      ready: true,
    },
    [{ type: "CallWebhooks", webhookType: "post-rollout", phase: "Succeeded", message }],
  );
}

/**
 * Moves to the next switch step. `manual` (kubectl wren promote) skips the
 * confirm-traffic-increase gate.
 */
function nextStep(
  spec: BlueGreenSpec,
  status: Status,
  obs: BlueGreenObservations,
  why: string,
  manual = false,
): Result {
  const steps = spec.switch.steps;
  const index = status.switchStep ?? 0;
  const weight = steps[index] ?? 100;
  const now = obs.now.toISOString();
  if (index > 0 && !manual) {
    const gate = gatesOpen(spec, obs, "confirm-traffic-increase");
    if (!gate.open) {
      return decision(spec, status, status, obs, {
        reason: "WaitingForGate",
        message: `holding at ${status.canaryWeight ?? 0}%: waiting for ${gate.message}`,
        requeueMs: interval(spec),
      });
    }
  }
  const next: Status = {
    ...status,
    phase: "Switching",
    switchStep: Math.min(index + 1, steps.length),
    canaryWeight: weight,
    stepStartTime: now,
    lastStepTime: now,
  };
  const candidate = colourName(spec, status.candidateColour);
  if (weight < 100) {
    return decision(spec, status, next, obs, {
      reason: "Switching",
      message: `${why}; ${weight}% of traffic on ${candidate} (step ${index + 1} of ${steps.length})`,
      requeueMs: interval(spec),
    });
  }
  const rounds = spec.analysis.postSwitchIterations;
  if (rounds > 0) {
    return decision(spec, status, { ...next, phase: "Verifying", postSwitchIterations: 0 }, obs, {
      reason: "Verifying",
      message: `${why}; all traffic on ${candidate}; ${rounds} rounds of checks before ${colourName(spec, status.activeColour)} is released`,
      requeueMs: interval(spec),
    });
  }
  return succeed(spec, next, obs, `${why}; switched`);
}

/** Pre-switch analysis is done: switch, or wait for a person or the confirm-promotion gate. */
function toSwitch(
  spec: BlueGreenSpec,
  status: Status,
  obs: BlueGreenObservations,
  why: string,
  manual = false,
): Result {
  if (!manual) {
    const gate = gatesOpen(spec, obs, "confirm-promotion");
    if (!spec.autoPromote || !gate.open) {
      // Without autoPromote only a person switches (the confirm-promotion gate is not asked).
      const waitingFor = spec.autoPromote ? gate.message : "kubectl wren promote (autoPromote is false)";
      return decision(spec, status, { ...status, phase: "WaitingPromotion" }, obs, {
        reason: spec.autoPromote ? "WaitingForGate" : "WaitingPromotion",
        message: `${why}; waiting for ${waitingFor} before the switch`,
        requeueMs: interval(spec),
      });
    }
  }
  return nextStep(spec, { ...status, switchStep: 0 }, obs, why, true);
}

/** One round of checks: then rollback, hold, or the phase's next move. */
function analyse(spec: BlueGreenSpec, status: Status, obs: BlueGreenObservations): Result {
  const now = obs.now.toISOString();
  const rollbackHook = gateAnswers(obs, "rollback").find((w) => w.ok);
  if (rollbackHook) return rollback(spec, status, obs, `rollback webhook ${rollbackHook.name} asked for it`);
  const checks = obs.checks ?? [];
  const hooks = gateAnswers(obs, "rollout");
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
  const weight = `${status.canaryWeight ?? 0}%`;
  if (failed.length > 0) {
    const failedChecks = (status.failedChecks ?? 0) + 1;
    const next = { ...measured, failedChecks, unavailableChecks: 0 };
    const why = failed.join("; ");
    const threshold = spec.analysis.threshold;
    if (failedChecks >= threshold) {
      return rollback(spec, next, obs, `${failedChecks} failed checks (threshold ${threshold}): ${why}`);
    }
    return decision(spec, status, next, obs, {
      reason: "CheckFailed",
      message: `check failed (${failedChecks} of ${threshold}) at ${weight}: ${why}`,
      requeueMs: interval(spec),
    });
  }
  if (unavailable.length > 0) {
    const unavailableChecks = (status.unavailableChecks ?? 0) + 1;
    const policy = spec.analysis.metricsUnavailable;
    const why = unavailable.map((c) => `${c.name}: ${c.message ?? "no data"}`).join("; ");
    const next = { ...measured, unavailableChecks };
    if (policy.action === "rollback" && unavailableChecks >= policy.after) {
      return rollback(spec, next, obs, `metrics unavailable for ${unavailableChecks} rounds: ${why}`);
    }
    return decision(spec, status, next, obs, {
      reason: "MetricsUnavailable",
      message: `holding at ${weight}: metrics unavailable (${unavailableChecks} in a row, policy ${policy.action}): ${why}`,
      requeueMs: interval(spec),
    });
  }
  const passed: Status = { ...measured, unavailableChecks: 0 };
  switch (status.phase) {
    case "Progressing": {
      const iterations = (status.iterations ?? 0) + 1;
      const target = spec.analysis.iterations;
      if (iterations >= target) {
        return toSwitch(spec, { ...passed, iterations }, obs, `${iterations} of ${target} rounds passed`);
      }
      return decision(spec, status, { ...passed, iterations }, obs, {
        reason: "Progressing",
        message: `round ${iterations} of ${target} passed on ${colourName(spec, status.candidateColour)}`,
        requeueMs: interval(spec),
      });
    }
    case "WaitingPromotion":
      return toSwitch(spec, passed, obs, "checks passed");
    case "Switching":
      if (!stepHeld(spec, status, obs.now)) {
        return decision(spec, status, passed, obs, {
          reason: "Switching",
          message: `checks passed at ${weight}; holding for switch.stepInterval`,
          requeueMs: interval(spec),
        });
      }
      return nextStep(spec, passed, obs, `checks passed at ${weight}`);
    default: {
      const rounds = (status.postSwitchIterations ?? 0) + 1;
      const target = spec.analysis.postSwitchIterations;
      if (rounds >= target)
        return succeed(
          spec,
          { ...passed, postSwitchIterations: rounds },
          obs,
          `${rounds} post-switch rounds passed`,
        );
      return decision(spec, status, { ...passed, postSwitchIterations: rounds }, obs, {
        reason: "Verifying",
        message: `post-switch round ${rounds} of ${target} passed`,
        requeueMs: interval(spec),
      });
    }
  }
}

/** The routing in words, for messages: "90% of traffic on shop-blue, 10% of traffic on shop-green, ...". */
function describeRouting(spec: BlueGreenSpec, routing: BlueGreenRouting): string {
  const parts = (Object.entries(routing.weights) as [Colour, number][])
    .filter(([, weight]) => weight > 0)
    .map(([c, weight]) => `${weight === 100 ? "all" : `${weight}% of`} traffic on ${colourName(spec, c)}`);
  if (routing.preview !== undefined) parts.push(`preview requests on ${colourName(spec, routing.preview)}`);
  return parts.join(", ");
}

/**
 * A round is due but the routing the status records never reached the VirtualService (the
 * controller stopped between recording it and writing it): the always-emitted SetRouting
 * writes it now, and the period it is observed for starts from here (the round's clock,
 * and in Switching the step's hold too), so no step, preview or post-switch period goes unserved.
 */
function reapplyRouting(
  spec: BlueGreenSpec,
  previous: Status,
  status: Status,
  obs: BlueGreenObservations,
): Result {
  const now = obs.now.toISOString();
  const switching = status.phase === "Switching";
  const next: Status = { ...status, lastStepTime: now, ...(switching ? { stepStartTime: now } : {}) };
  const routing = routingFor(spec, next);
  const what = routing ? describeRouting(spec, routing) : "no routing";
  const period = switching
    ? `holding the step for ${spec.switch.stepInterval ? `${spec.switch.stepInterval} (switch.stepInterval)` : `${spec.analysis.interval} (one analysis.interval)`}`
    : `observing it for ${spec.analysis.interval} before the next round of checks`;
  return decision(spec, previous, next, obs, {
    reason: "RoutingReapplied",
    message: `the VirtualService did not carry the routing recorded in status (${what}); routing it now and ${period}`,
    requeueMs: interval(spec),
  });
}

/** A release under way: the candidate's readiness, the pre-rollout gate, then rounds of checks. */
function progress(spec: BlueGreenSpec, status: Status, obs: BlueGreenObservations): Result {
  const candidate = colourName(spec, status.candidateColour);
  if (!candidateReady(status, obs)) {
    const wait = waitFor(
      spec,
      status,
      obs,
      `${candidate} (revision ${status.lastAppliedSpec}) to become ready`,
    );
    if (wait.expired) {
      return rollback(
        spec,
        wait.status,
        obs,
        `${candidate} not ready within ${spec.progressDeadlineSeconds}s`,
      );
    }
    return decision(spec, status, wait.status, obs, wait.r);
  }
  const ready: Status = { ...status, waitingSince: undefined };
  if (ready.fullPromotion) return succeed(spec, ready, obs, `${candidate} ready; full promotion`);
  if (ready.phase === "Progressing" && !ready.preRolloutPassed) {
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
      return decision(spec, status, { ...ready, failedChecks, lastStepTime: obs.now.toISOString() }, obs, {
        reason: "CheckFailed",
        message: `${gate.message} did not pass (${failedChecks} of ${spec.analysis.threshold})`,
        requeueMs: interval(spec),
      });
    }
    const previewing: Status = { ...ready, preRolloutPassed: true, lastStepTime: obs.now.toISOString() };
    const preview = spec.preview ? "; preview requests reach it" : "";
    if (spec.analysis.iterations === 0)
      return toSwitch(spec, previewing, obs, `${candidate} ready${preview}`);
    return decision(spec, status, previewing, obs, {
      reason: "Progressing",
      message: `${candidate} ready with revision ${ready.lastAppliedSpec}${preview}; ${spec.analysis.iterations} rounds of checks before the switch`,
      requeueMs: interval(spec),
    });
  }
  if (!roundDue(spec, ready, obs.now)) {
    // Between rounds nothing new is known: keep the last reason (no Event churn).
    const remaining = interval(spec) - elapsed(ready.lastStepTime, obs.now);
    const current = ready.conditions?.find((c) => c.type === "Ready");
    return decision(spec, status, ready, obs, {
      reason: current?.reason ?? ready.phase ?? "Progressing",
      message: current?.message ?? `at ${ready.canaryWeight ?? 0}%`,
      requeueMs: Math.max(remaining, 100),
    });
  }
  if (obs.routingApplied === false) return reapplyRouting(spec, status, ready, obs);
  return analyse(spec, ready, obs);
}

function handleManual(
  spec: BlueGreenSpec,
  status: Status,
  obs: BlueGreenObservations,
  action: ManualAction,
): Result {
  const phase = status.phase;
  const effective = effectivePhase(status);
  const by = who(action);
  const ignore = (why: string): Result =>
    decision(spec, status, consume(status, action, obs.now, `ignored: ${why}`), obs, {
      reason: "ActionIgnored",
      message: `${action.action}${by} ignored: ${why}`,
      ready: phase === "Succeeded" || phase === "Initialized",
      requeueMs: 1000,
    });
  const live = effective !== undefined && releasing.has(effective);
  const ready = candidateReady(status, obs);
  switch (action.action) {
    case "abort": {
      if (effective === "Waiting") {
        // Declined before it started: marked as released-and-failed so it is not picked up again.
        const declined = {
          ...consume(status, action, obs.now, "declined"),
          lastAppliedSpec: obs.target.templateHash,
        };
        return rollback(spec, declined, obs, `revision ${obs.target.templateHash} declined${by}`);
      }
      if (live) return rollback(spec, consume(status, action, obs.now, "rolled back"), obs, `aborted${by}`);
      if (phase === "Succeeded") return abortAfterSwitch(spec, status, obs, action);
      return ignore(`nothing to abort in phase ${phase}`);
    }
    case "pause":
      if (live || phase === "Waiting") {
        return decision(
          spec,
          status,
          { ...consume(status, action, obs.now, "paused"), phase: "Paused", resumePhase: phase },
          obs,
          { reason: "Paused", message: `paused${by} at ${status.canaryWeight ?? 0}%` },
        );
      }
      return ignore(`cannot pause in phase ${phase}`);
    case "resume":
      if (phase === "Paused") {
        const resumed: Status = {
          ...consume(status, action, obs.now, "resumed"),
          phase: status.resumePhase ?? "Progressing",
          resumePhase: undefined,
          lastStepTime: obs.now.toISOString(),
        };
        return decision(spec, status, resumed, obs, {
          reason: "Resumed",
          message: `resumed${by} at ${status.canaryWeight ?? 0}%`,
          requeueMs: interval(spec),
        });
      }
      return ignore("not paused");
    case "retry":
      if (phase === "Failed")
        return start(spec, consume(status, action, obs.now, "restarted"), obs, `retry${by}`);
      return ignore(`only a failed release can be retried (phase ${phase})`);
    case "promote":
      if (phase === "Waiting") {
        return start(
          spec,
          consume(status, action, obs.now, "rollout approved"),
          obs,
          `rollout approved${by}`,
        );
      }
      if (phase === "Progressing" || phase === "WaitingPromotion") {
        if (!ready) return ignore(`${colourName(spec, status.candidateColour)} is not ready yet`);
        const next = { ...consume(status, action, obs.now, "switch started"), waitingSince: undefined };
        return toSwitch(spec, next, obs, `switch approved${by}`, true);
      }
      if (phase === "Switching") {
        const next = consume(status, action, obs.now, "advanced one step");
        return nextStep(spec, next, obs, `promoted one step${by}`, true);
      }
      if (phase === "Verifying") {
        const next = consume(status, action, obs.now, "promoted");
        return succeed(spec, next, obs, `promoted${by}, skipping the remaining post-switch rounds`);
      }
      return ignore(`nothing to promote in phase ${phase}`);
    case "promote-full": {
      if (phase === "Waiting") {
        const begun = start(
          spec,
          consume(status, action, obs.now, "promoted fully"),
          obs,
          `full promotion${by}`,
        );
        return decision(spec, status, { ...begun.status, fullPromotion: true }, obs, {
          reason: "Progressing",
          message: `full promotion${by}: switching to revision ${obs.target.templateHash} as soon as ${colourName(spec, begun.status.candidateColour)} is ready`,
          requeueMs: 1000,
        });
      }
      if (phase !== undefined && releasing.has(phase)) {
        const next = consume(status, action, obs.now, "promoted fully");
        if (ready) return succeed(spec, next, obs, `full promotion${by}`);
        return decision(spec, status, { ...next, fullPromotion: true }, obs, {
          reason: "Progressing",
          message: `full promotion${by}: switching as soon as ${colourName(spec, status.candidateColour)} is ready`,
          requeueMs: 1000,
        });
      }
      return ignore(`nothing to promote in phase ${phase}`);
    }
  }
}

/**
 * An abort after a successful switch, while the previous colour still runs
 * (scaleDownDelay): all traffic goes back to it at once.
 */
function abortAfterSwitch(
  spec: BlueGreenSpec,
  status: Status,
  obs: BlueGreenObservations,
  action: ManualAction,
): Result {
  const active = status.activeColour ?? "blue";
  const previous = otherColour(active);
  const p = obs.colours[previous];
  const kept = status.scaleDownAt !== undefined && elapsed(status.scaleDownAt, obs.now) < 0;
  if (!kept || !p.exists || p.replicas === 0) {
    const next = consume(status, action, obs.now, "ignored: the previous colour is already scaled down");
    return decision(spec, status, next, obs, {
      reason: "ActionIgnored",
      message: `abort${who(action)} ignored: ${colourName(spec, previous)} is already scaled down; change ${spec.targetRef.name} back to release the previous revision`,
      ready: true,
      requeueMs: 1000,
    });
  }
  const rolledBack: Status = {
    ...consume(status, action, obs.now, "rolled back"),
    phase: "Failed",
    activeColour: previous,
    candidateColour: active,
    canaryWeight: 0,
    lastPromotedSpec: p.templateHash ?? status.lastPromotedSpec,
    scaleDownAt: undefined,
  };
  return decision(spec, status, rolledBack, obs, {
    reason: "RolledBack",
    message: `rolled back revision ${status.lastAppliedSpec}: aborted${who(action)} after the switch; all traffic on ${colourName(spec, previous)} (revision ${p.templateHash})`,
  });
}

/** The BlueGreen state machine. */
export function decideBlueGreen(spec: BlueGreenSpec, status: Status, obs: BlueGreenObservations): Result {
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
    // Writing would start a fight with the rollout that has these objects: touch nothing, say so once.
    const previous = status.conditions?.find((c) => c.type === "Ready");
    const r = { reason: "ResourceConflict", message: obs.conflict };
    const actions: Action[] = [{ type: "RequeueAfter", ms: idle }];
    if (previous?.reason !== r.reason || previous.message !== r.message)
      actions.unshift({ type: "Event", eventType: "Warning", ...r });
    return { status: setCondition(status, false, r, obs.now, obs.generation), actions, reason: r.message };
  }
  if (!obs.target.exists) {
    return decision(spec, status, { ...status, phase: phase ?? "Initializing" }, obs, {
      reason: "TargetNotFound",
      message: `Deployment ${spec.targetRef.name} not found`,
      requeueMs: idle,
    });
  }
  if (!initialised(status)) return initialise(spec, status, obs);

  const active = status.activeColour ?? "blue";
  if (!obs.colours[active].exists) {
    // Someone deleted the colour that serves. Re-create it only from the revision it ran.
    const name = colourName(spec, active);
    const same = obs.target.templateHash === status.lastPromotedSpec;
    const replicas = Math.max(obs.colours[otherColour(active)].replicas, 1);
    return decision(
      spec,
      status,
      status,
      obs,
      {
        reason: "ActiveColourNotFound",
        message: same
          ? `${name} (the active colour) not found; re-creating it from ${spec.targetRef.name}`
          : `${name} (the active colour, revision ${status.lastPromotedSpec}) not found; set ${spec.targetRef.name}'s pod template back to revision ${status.lastPromotedSpec} to re-create it`,
        requeueMs: same ? 1000 : idle,
      },
      same
        ? [{ type: "DeployColour", colour: active, revision: status.lastPromotedSpec ?? "", replicas }]
        : [],
    );
  }

  const pending =
    obs.manualAction && obs.manualAction.id !== status.lastAction?.id ? obs.manualAction : undefined;
  const act = (action: ManualAction): Result => {
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
  // A person comes first when waiting or paused; an abort always does (rollback must not wait).
  if (pending && (phase === "Waiting" || phase === "Paused" || pending.action === "abort"))
    return act(pending);

  const newRevision = obs.target.templateHash !== status.lastAppliedSpec;
  if (newRevision && phase === "Paused") {
    return decision(spec, status, status, obs, {
      reason: "Paused",
      message: `paused; new revision ${obs.target.templateHash} starts when resumed`,
    });
  }
  if (newRevision && obs.target.templateHash === status.lastPromotedSpec) {
    // Reverted to what the active colour runs (e.g. after a rollback): nothing to release.
    const hash = obs.target.templateHash;
    return decision(
      spec,
      status,
      {
        ...status,
        phase: "Succeeded",
        canaryWeight: 0,
        lastAppliedSpec: hash,
        candidateColour: undefined,
        preRolloutPassed: false,
        fullPromotion: false,
        waitingSince: undefined,
      },
      obs,
      {
        reason: "Succeeded",
        message: `target reverted to revision ${hash}, which ${colourName(spec, active)} already runs`,
        ready: true,
      },
    );
  }
  if (newRevision) {
    const why =
      phase !== undefined && releasing.has(phase)
        ? `new revision ${obs.target.templateHash} during the release of ${status.lastAppliedSpec}, starting again`
        : `new revision ${obs.target.templateHash} detected`;
    const gate = gatesOpen(spec, obs, "confirm-rollout");
    if (!gate.open) {
      return decision(
        spec,
        status,
        { ...status, phase: "Waiting", canaryWeight: 0, preRolloutPassed: false, fullPromotion: false },
        obs,
        {
          reason: "WaitingForGate",
          message: `${why}; waiting for ${gate.message}`,
          requeueMs: interval(spec),
        },
      );
    }
    return start(spec, status, obs, why);
  }

  if (pending) return act(pending);

  switch (phase) {
    case "Initializing":
    case "Initialized":
    case "Succeeded":
    case "Failed": {
      // Keep the message that says how the phase was reached; anything else (an ignored action) gives way.
      const current = status.conditions?.find((c) => c.type === "Ready");
      const steady = phase === "Initializing" ? "Initialized" : phase;
      const natural = steady === "Failed" ? ["RolledBack", "ProgressDeadlineExceeded"] : [steady];
      const keep = current !== undefined && natural.includes(current.reason);
      const idleColour = obs.colours[otherColour(active)];
      if (
        steady === "Succeeded" &&
        status.scaleDownAt !== undefined &&
        elapsed(status.scaleDownAt, obs.now) >= 0 &&
        obs.routingApplied === false &&
        idleColour.exists &&
        idleColour.replicas > 0
      ) {
        // The switch was recorded but never reached the VirtualService or the apex Service: the
        // previous colour still takes traffic. Route the switch now and keep the previous colour
        // for a whole scaleDownDelay from here, the window in which an abort can go back to it.
        const routing = routingFor(spec, status);
        const scaleDownAt = new Date(obs.now.getTime() + durationMs(spec.scaleDownDelay)).toISOString();
        return decision(spec, status, { ...status, phase: steady, scaleDownAt }, obs, {
          reason: "RoutingReapplied",
          message: `the VirtualService and apex Service did not carry the switch recorded in status (${routing ? describeRouting(spec, routing) : "no routing"}); routing it now; ${colourName(spec, otherColour(active))} stays up until ${scaleDownAt} (scaleDownDelay ${spec.scaleDownDelay})`,
          ready: true,
        });
      }
      if (status.scaleDownAt !== undefined && elapsed(status.scaleDownAt, obs.now) >= 0) {
        // scaleDownDelay is over: the previous colour goes, and with it the chance of an instant rollback.
        const previous = colourName(spec, otherColour(active));
        const scaled = `${previous} scaled to 0 after scaleDownDelay ${spec.scaleDownDelay}`;
        // A failure keeps saying why it failed; a success now says what runs.
        const message =
          steady === "Failed" && keep
            ? `${current?.message}; ${scaled}`
            : `${colourName(spec, active)} runs revision ${status.lastPromotedSpec} and takes all traffic; ${scaled}`;
        return decision(
          spec,
          status,
          { ...status, phase: steady, scaleDownAt: undefined },
          obs,
          { reason: keep ? (current?.reason ?? steady) : steady, message, ready: steady !== "Failed" },
          [],
          [
            {
              type: "Event",
              eventType: "Normal",
              reason: "ScaledDown",
              message: `${previous} scaled to 0 after scaleDownDelay ${spec.scaleDownDelay}`,
            },
          ],
        );
      }
      return decision(spec, status, { ...status, phase: steady }, obs, {
        reason: keep ? current.reason : steady === "Failed" ? "RolledBack" : steady,
        message: keep
          ? current.message
          : `${colourName(spec, active)} runs revision ${status.lastPromotedSpec} and takes all traffic`,
        ready: steady !== "Failed",
      });
    }
    case "Waiting": {
      // The target went back to the revision last released while it waited: nothing to release.
      const succeeded = status.lastAppliedSpec === status.lastPromotedSpec;
      return decision(spec, status, { ...status, phase: succeeded ? "Succeeded" : "Failed" }, obs, {
        reason: succeeded ? "Succeeded" : "RolledBack",
        message: `target is back at revision ${status.lastAppliedSpec}; nothing to release`,
        ready: succeeded,
      });
    }
    case "Paused":
      return decision(spec, status, status, obs, {
        reason: "Paused",
        message: `paused at ${status.canaryWeight ?? 0}%; kubectl wren resume continues`,
      });
    case "Progressing":
    case "WaitingPromotion":
    case "Switching":
    case "Verifying":
    case undefined:
      return progress(spec, status, obs);
  }
}
