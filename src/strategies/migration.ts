// The Migration state machine. Pure: (spec, status, observations) -> (status, actions).
// Phases run one at a time in spec order; the active phase climbs its steps, one
// step per passing validation after the step's duration, and a failure sends its
// requests (or, with rollback: all, every phase's) back to the monolith. Every
// decision re-derives the routing from the new status, so acting is idempotent
// and a restarted controller converges from status alone.
import type { Condition } from "../api/common.ts";
import type {
  MigrationPhase,
  MigrationPhaseState,
  MigrationPhaseStatus,
  MigrationSpec,
  MigrationStatus,
  MigrationValidationResult,
} from "../api/migration.ts";
import type { CheckResult, Decision, ManualAction } from "./decision.ts";
import { durationMs } from "./duration.ts";
import { type MigrationRouting, routingFor, splitPercent } from "./migration-routing.ts";

/** One new service's validation: a result per configured check (errorRate, p99Latency, throughput). */
export interface ServiceValidation {
  service: string;
  checks: CheckResult[];
}

/** What the reconciler observed for one Migration. */
export interface MigrationObservations {
  now: Date;
  generation: number;
  /**
   * What is wrong with the objects the spec names (a missing Service, a port the
   * Service does not expose, another VirtualService for the host), each naming its field.
   */
  specProblems: string[];
  /** The active phase's validation; present only when the plan asked for one. */
  validation?: ServiceValidation[];
  /** A manual action not yet consumed. */
  manualAction?: ManualAction;
  /**
   * False when the VirtualService does not carry the routing the status implies
   * (statusRouting): a controller stopped between recording a step and writing its
   * routes. Undefined when unknown, which is taken as applied.
   */
  routingApplied?: boolean;
}

/** The Migration kind's cluster-changing action: converge the VirtualService (write only on change). */
export type MigrationAction = { type: "SetRouting"; routing: MigrationRouting };

/** What the reconciler must observe before deciding. */
export interface MigrationPlan {
  /** Validate these services of the active phase, over `range`. */
  /** `routedSince`: when the phase's routes began (its startTime), to tell "none yet" from "none". */
  validate?: { phase: string; services: string[]; range: string; routedSince?: string };
}

type Status = MigrationStatus;
type Phase = MigrationPhaseStatus;
type Outcome = { reason: string; message: string; ready?: boolean; requeueMs?: number };
type MigrationDecision = Decision<Status, MigrationAction>;

/** How long a held Migration waits before looking again (informers wake it sooner). */
const idle = 30_000;
const warningReasons: ReadonlySet<string> = new Set([
  "InvalidSpec",
  "CheckFailed",
  "MetricsUnavailable",
  "RolledBack",
  "ProgressDeadlineExceeded",
]);

const active = (p: Phase) => p.state === "Progressing" || p.state === "Paused";
const halted = (p: Phase) => p.state === "Failed" || p.state === "RolledBack";

function elapsed(since: string | undefined, now: Date): number {
  return since === undefined ? Number.POSITIVE_INFINITY : now.getTime() - Date.parse(since);
}

/** The percent a phase's state and step imply. */
function percentOf(spec: MigrationPhase, p: Phase): number {
  if (p.state === "Succeeded") return 100;
  if (!active(p)) return 0;
  return spec.steps[Math.min(p.stepIndex ?? 0, spec.steps.length - 1)] ?? 0;
}

/**
 * Each spec phase's status, in spec order, matched by name: phases added to the
 * spec start Pending, removed ones are dropped, and a changed steps list is
 * followed at once (the step index is clamped to it).
 */
export function phaseStates(spec: MigrationSpec, status: Status): Phase[] {
  return spec.phases.map((ps) => {
    const known = status.phases?.find((p) => p.name === ps.name);
    if (known === undefined) return { name: ps.name, state: "Pending", percent: 0 };
    const stepIndex =
      known.stepIndex === undefined ? undefined : Math.min(known.stepIndex, ps.steps.length - 1);
    const p = { ...known, ...(stepIndex !== undefined ? { stepIndex } : {}) };
    return { ...p, percent: percentOf(ps, p) };
  });
}

/**
 * The routing a status implies, phases normalised to the spec as every decision
 * does: what the VirtualService carries once the status's decision has been acted on.
 */
export function statusRouting(spec: MigrationSpec, status: Status): MigrationRouting {
  return routingFor(spec, phaseStates(spec, status));
}

/** The shortest time at step `index` of a phase. */
export function stepDurationMs(phase: MigrationPhase, index: number): number {
  return durationMs(phase.stepDurations?.[index] ?? phase.stepInterval ?? "1m");
}

function checkDue(phase: MigrationPhase, p: Phase, now: Date): boolean {
  return elapsed(p.lastCheckTime, now) >= durationMs(phase.validation.interval);
}

/**
 * Which observations the next decision needs. Pure, so tests and the reconciler agree.
 * A due validation whose routing never reached the VirtualService is not run: that round
 * routes the step again instead (`routingApplied` false).
 */
export function planMigration(
  spec: MigrationSpec,
  status: Status,
  now: Date,
  routingApplied?: boolean,
): MigrationPlan {
  const phases = phaseStates(spec, status);
  const i = phases.findIndex((p) => p.state === "Progressing");
  const ps = spec.phases[i];
  const p = phases[i];
  if (ps === undefined || p === undefined || !checkDue(ps, p, now) || routingApplied === false) return {};
  // A service whose share rounds to 0% at this step receives no requests to judge.
  const services = splitPercent(p.percent, ps.to)
    .filter((s) => s.percent > 0)
    .map((s) => s.service);
  return {
    validate: {
      phase: ps.name,
      services,
      range: ps.validation.range ?? ps.validation.interval,
      ...(p.startTime !== undefined ? { routedSince: p.startTime } : {}),
    },
  };
}

/** The overall phase, the current phase and its percent, as the phases imply them. */
function summarize(phases: readonly Phase[]): Pick<Status, "phase" | "currentPhase" | "canaryWeight"> {
  const running = phases.find(active);
  if (running) {
    return {
      phase: running.state === "Paused" ? "Paused" : "Progressing",
      currentPhase: running.name,
      canaryWeight: running.percent,
    };
  }
  const failed = phases.find((p) => p.state === "Failed") ?? phases.find(halted);
  if (failed) return { phase: "Failed", currentPhase: failed.name, canaryWeight: 0 };
  const next = phases.find((p) => p.state === "Pending");
  if (next) return { phase: "Progressing", currentPhase: next.name, canaryWeight: 0 };
  return { phase: "Succeeded", currentPhase: undefined, canaryWeight: 100 };
}

function setCondition(status: Status, ready: boolean, r: Outcome, now: Date, generation: number): Status {
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

function readyCondition(status: Status): Condition | undefined {
  return status.conditions?.find((c) => c.type === "Ready");
}

/** The last outcome, kept while nothing new is known; a spec problem since fixed is not kept. */
function lastOutcome(status: Status, fallback: Outcome): Outcome {
  const ready = readyCondition(status);
  if (ready === undefined || ready.reason === "InvalidSpec") return fallback;
  return { ...fallback, reason: ready.reason, message: ready.message };
}

/** A phase in a new state, with the time it changed. */
function withState(p: Phase, state: MigrationPhaseState, now: Date, fields: Partial<Phase> = {}): Phase {
  return { ...p, ...fields, state, lastTransitionTime: now.toISOString() };
}

function replace(phases: readonly Phase[], i: number, p: Phase): Phase[] {
  return phases.map((q, k) => (k === i ? p : q));
}

function targets(phase: MigrationPhase): string {
  return phase.to.map((d) => d.service).join(", ");
}

/** Builds the decision for a status: the routing always, Events and notifications on change. */
function decision(
  spec: MigrationSpec,
  previous: Status,
  next: Status,
  obs: MigrationObservations,
  r: Outcome,
): MigrationDecision {
  const phases = next.phases ?? [];
  let status: Status = { ...next, ...summarize(phases), observedGeneration: obs.generation };
  if (status.phase !== previous.phase) status.lastTransitionTime = obs.now.toISOString();
  status = setCondition(status, r.ready ?? status.phase === "Succeeded", r, obs.now, obs.generation);
  const actions: MigrationDecision["actions"] = [{ type: "SetRouting", routing: routingFor(spec, phases) }];
  const phaseChanged = phases.some((p) => previous.phases?.find((q) => q.name === p.name)?.state !== p.state);
  const moved = (status.canaryWeight ?? 0) !== (previous.canaryWeight ?? 0);
  if (
    status.phase !== previous.phase ||
    r.reason !== readyCondition(previous)?.reason ||
    moved ||
    phaseChanged
  ) {
    const warning = warningReasons.has(r.reason) || status.phase === "Failed";
    actions.push({
      type: "Event",
      eventType: warning ? "Warning" : "Normal",
      reason: r.reason,
      message: r.message,
    });
    if (status.phase !== previous.phase || phaseChanged) {
      actions.push({ type: "Notify", severity: warning ? "error" : "info", message: r.message });
    }
  }
  if (r.requeueMs !== undefined) actions.push({ type: "RequeueAfter", ms: r.requeueMs });
  return { status, actions, reason: r.message };
}

/** Starts phase i at its first step. */
function start(
  spec: MigrationSpec,
  previous: Status,
  current: Status,
  phases: Phase[],
  i: number,
  obs: MigrationObservations,
  why?: string,
): MigrationDecision {
  const ps = spec.phases[i] as MigrationPhase;
  const now = obs.now.toISOString();
  const percent = ps.steps[0] ?? 0;
  const message = `${why ? `${why}; ` : ""}phase ${ps.name} started at ${percent}% of its requests on ${targets(ps)}; requests with ${spec.optInHeader}: ${ps.name} all go there`;
  const started = withState({ name: ps.name, state: "Pending", percent: 0 }, "Progressing", obs.now, {
    percent,
    stepIndex: 0,
    startTime: now,
    stepStartTime: now,
    lastCheckTime: now,
    failedChecks: 0,
    unavailableChecks: 0,
    message,
  });
  return decision(spec, previous, { ...current, phases: replace(phases, i, started), metrics: [] }, obs, {
    reason: "Progressing",
    message,
    requeueMs: durationMs(ps.validation.interval),
  });
}

/**
 * Fails phase i and sends its requests back to the monolith; with rollback: all,
 * every other routed phase (completed ones too) goes back with it.
 */
function fail(
  spec: MigrationSpec,
  previous: Status,
  current: Status,
  phases: Phase[],
  i: number,
  obs: MigrationObservations,
  r: { reason: string; message: string },
): MigrationDecision {
  const ps = spec.phases[i] as MigrationPhase;
  const all = ps.rollback === "all";
  const next = phases.map((p, k) => {
    if (k === i)
      return withState(p, "Failed", obs.now, { percent: 0, waitingSince: undefined, message: r.message });
    if (all && (active(p) || p.state === "Succeeded")) {
      return withState(p, "RolledBack", obs.now, {
        percent: 0,
        waitingSince: undefined,
        message: `rolled back with phase ${ps.name} (rollback: all)`,
      });
    }
    return p;
  });
  const scope = all
    ? "every phase's requests are back on the monolith (rollback: all)"
    : `phase ${ps.name}'s requests are back on the monolith`;
  return decision(spec, previous, { ...current, phases: next }, obs, {
    reason: r.reason,
    message: `${r.message}; ${scope}`,
  });
}

/** Moves phase i one step up, or completes it after its last step. */
function advance(
  spec: MigrationSpec,
  previous: Status,
  current: Status,
  phases: Phase[],
  i: number,
  obs: MigrationObservations,
  why: string,
): MigrationDecision {
  const ps = spec.phases[i] as MigrationPhase;
  const p = phases[i] as Phase;
  const now = obs.now.toISOString();
  const index = (p.stepIndex ?? 0) + 1;
  const percent = ps.steps[index];
  if (percent === undefined) {
    const message = `${why}; phase ${ps.name} succeeded: all its requests on ${targets(ps)}`;
    const done = withState(p, "Succeeded", obs.now, { percent: 100, waitingSince: undefined, message });
    const next = replace(phases, i, done);
    const last = !next.some((q) => q.state !== "Succeeded");
    return decision(spec, previous, { ...current, phases: next }, obs, {
      reason: last ? "Succeeded" : "PhaseSucceeded",
      message: last ? `${message}; every phase migrated` : message,
      requeueMs: last ? undefined : 1000,
    });
  }
  // "at N%" first: kubectl wren reads the weight of a step from its Event.
  const message = `${why}; phase ${ps.name} at ${percent}% of its requests on ${targets(ps)} (was ${p.percent}%; step ${index + 1} of ${ps.steps.length})`;
  const stepped: Phase = {
    ...p,
    stepIndex: index,
    percent,
    stepStartTime: now,
    lastCheckTime: now,
    waitingSince: undefined,
    message,
  };
  return decision(spec, previous, { ...current, phases: replace(phases, i, stepped) }, obs, {
    reason: "Progressing",
    message,
    requeueMs: durationMs(ps.validation.interval),
  });
}

function fmt(n: number): string {
  return String(Number(n.toPrecision(4)));
}

/** The phase's last validation: the worst value of each check across its services. */
function summarizeValidation(
  results: readonly ServiceValidation[],
  verdict: MigrationValidationResult["verdict"],
  message: string,
  time: string,
): MigrationValidationResult {
  const values = (name: string) =>
    results.flatMap((s) =>
      s.checks.filter((c) => c.name === name && c.value !== undefined).map((c) => c.value as number),
    );
  const errorRate = values("errorRate");
  const p99 = values("p99Latency");
  const throughput = values("throughput");
  return {
    time,
    verdict,
    ...(errorRate.length > 0 ? { errorRate: Math.max(...errorRate) } : {}),
    ...(p99.length > 0 ? { p99Latency: Math.max(...p99) } : {}),
    ...(throughput.length > 0 ? { throughput: Math.min(...throughput) } : {}),
    message,
  };
}

/** One validation round of the active phase i: roll back, hold or advance. */
function validate(
  spec: MigrationSpec,
  previous: Status,
  current: Status,
  phases: Phase[],
  i: number,
  obs: MigrationObservations,
): MigrationDecision {
  const ps = spec.phases[i] as MigrationPhase;
  const p = phases[i] as Phase;
  const now = obs.now.toISOString();
  const interval = durationMs(ps.validation.interval);
  const results = obs.validation ?? [];
  const flat = results.flatMap((s) => s.checks.map((c) => ({ ...c, service: s.service })));
  const say = (c: (typeof flat)[number]) => `${c.service} ${c.name}: ${c.message ?? c.verdict}`;
  const failed = flat.filter((c) => c.verdict === "Fail");
  const unavailable = flat.filter((c) => c.verdict === "Unavailable");
  if (obs.validation === undefined || flat.length === 0) {
    unavailable.push({
      name: "validation",
      verdict: "Unavailable",
      service: ps.name,
      message: "did not run",
    });
  }
  const verdict = failed.length > 0 ? "Fail" : unavailable.length > 0 ? "Unavailable" : "Pass";
  const why = (failed.length > 0 ? failed : unavailable.length > 0 ? unavailable : flat).map(say).join("; ");
  const measured: Phase = {
    ...p,
    lastCheckTime: now,
    lastValidation: summarizeValidation(results, verdict, why, now),
  };
  const withMetrics: Status = {
    ...current,
    metrics: flat.map((c) => ({
      name: `${c.service}/${c.name}`,
      ...(c.value !== undefined ? { value: c.value } : {}),
      ...(c.thresholdRange !== undefined ? { thresholdRange: c.thresholdRange } : {}),
      verdict: c.verdict,
      ...(c.message !== undefined ? { message: c.message } : {}),
      time: now,
    })),
  };
  const deadline = spec.progressDeadlineSeconds * 1000;
  const hold = (held: Phase, r: { reason: string; message: string }): MigrationDecision => {
    if (elapsed(held.waitingSince, obs.now) > deadline) {
      return fail(spec, previous, withMetrics, replace(phases, i, held), i, obs, {
        reason: "ProgressDeadlineExceeded",
        message: `phase ${ps.name}: no passing validation for ${Math.round(elapsed(held.waitingSince, obs.now) / 1000)}s (progressDeadlineSeconds ${spec.progressDeadlineSeconds}): ${r.message}`,
      });
    }
    const message = `${r.message}; holding phase ${ps.name} at ${p.percent}%`;
    return decision(
      spec,
      previous,
      { ...withMetrics, phases: replace(phases, i, { ...held, message }) },
      obs,
      {
        reason: r.reason,
        message,
        requeueMs: interval,
      },
    );
  };

  if (failed.length > 0) {
    const failedChecks = (p.failedChecks ?? 0) + 1;
    const threshold = ps.validation.threshold;
    const held: Phase = {
      ...measured,
      failedChecks,
      unavailableChecks: 0,
      waitingSince: p.waitingSince ?? now,
    };
    if (failedChecks >= threshold) {
      return fail(spec, previous, withMetrics, replace(phases, i, held), i, obs, {
        reason: "RolledBack",
        message: `phase ${ps.name} failed ${failedChecks} validations (threshold ${threshold}) at ${p.percent}%: ${why}`,
      });
    }
    return hold(held, {
      reason: "CheckFailed",
      message: `phase ${ps.name}: validation failed (${failedChecks} of ${threshold}): ${why}`,
    });
  }
  if (unavailable.length > 0) {
    const unavailableChecks = (p.unavailableChecks ?? 0) + 1;
    const policy = ps.validation.metricsUnavailable;
    const held: Phase = { ...measured, unavailableChecks, waitingSince: p.waitingSince ?? now };
    if (policy.action === "rollback" && unavailableChecks >= policy.after) {
      return fail(spec, previous, withMetrics, replace(phases, i, held), i, obs, {
        reason: "RolledBack",
        message: `phase ${ps.name}: metrics unavailable for ${unavailableChecks} validations in a row (metricsUnavailable: rollback after ${policy.after}): ${why}`,
      });
    }
    return hold(held, {
      reason: "MetricsUnavailable",
      message: `phase ${ps.name}: metrics unavailable (${unavailableChecks} in a row, policy ${policy.action}): ${why}`,
    });
  }
  const passed: Phase = { ...measured, unavailableChecks: 0, waitingSince: undefined };
  const stepLeft = stepDurationMs(ps, p.stepIndex ?? 0) - elapsed(p.stepStartTime, obs.now);
  if (stepLeft > 0) {
    const message = `phase ${ps.name} at ${p.percent}%: validation passed (${why}); the step lasts ${fmt(stepLeft / 1000)}s more`;
    return decision(
      spec,
      previous,
      { ...withMetrics, phases: replace(phases, i, { ...passed, message }) },
      obs,
      {
        reason: "Progressing",
        message,
        requeueMs: interval,
      },
    );
  }
  return advance(
    spec,
    previous,
    withMetrics,
    replace(phases, i, passed),
    i,
    obs,
    `validation passed (${why})`,
  );
}

/**
 * Phase i's validation is due but the VirtualService does not carry the routing the
 * status records (the controller stopped between recording a step, a phase start or a
 * resume and routing it): the requests a validation would count, and the time the
 * step has run, belong to a split that never happened. Route it now and restart the
 * step's clock and the validation window (stepStartTime, and lastCheckTime: the next
 * validation is due an interval from here, so with the default range, the interval,
 * its queries see only requests routed at this step; a longer validation.range reaches
 * back before it, as after any step change). No step goes unserved and none is judged
 * on requests of a split that never happened: the plan asks for no validation this
 * round, and any given is set aside.
 */
function reapplyStep(
  spec: MigrationSpec,
  previous: Status,
  current: Status,
  phases: Phase[],
  i: number,
  obs: MigrationObservations,
): MigrationDecision {
  const ps = spec.phases[i] as MigrationPhase;
  const p = phases[i] as Phase;
  const now = obs.now.toISOString();
  const step = fmt(stepDurationMs(ps, p.stepIndex ?? 0) / 1000);
  const message = `the VirtualService did not carry phase ${ps.name} at ${p.percent}% recorded in status; routing it now and observing it from now: the step lasts ${step}s, the next validation is in ${ps.validation.interval}`;
  const restarted: Phase = { ...p, stepStartTime: now, lastCheckTime: now, message };
  return decision(spec, previous, { ...current, phases: replace(phases, i, restarted) }, obs, {
    reason: "RoutingReapplied",
    message,
    requeueMs: durationMs(ps.validation.interval),
  });
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

/** A manual action (kubectl wren) on the current phase. */
function handleManual(
  spec: MigrationSpec,
  previous: Status,
  phases: Phase[],
  obs: MigrationObservations,
  action: ManualAction,
): MigrationDecision {
  const by = who(action);
  const i = phases.findIndex(active);
  const ps = spec.phases[i];
  const p = phases[i];
  const current = (result: string) => consume(previous, action, obs.now, result);
  const ignore = (why: string): MigrationDecision => {
    return decision(
      spec,
      previous,
      { ...current(`ignored: ${why}`), phases },
      obs,
      lastOutcome(previous, {
        reason: "ActionIgnored",
        message: `${action.action}${by} ignored: ${why}`,
        requeueMs: 1000,
      }),
    );
  };
  switch (action.action) {
    case "abort":
      if (ps === undefined || p === undefined) return ignore("no phase is in progress");
      return fail(spec, previous, current("rolled back"), phases, i, obs, {
        reason: "RolledBack",
        message: `phase ${ps.name} aborted${by} at ${p.percent}%`,
      });
    case "pause":
      if (ps === undefined || p === undefined || p.state !== "Progressing")
        return ignore("no phase is progressing");
      return decision(
        spec,
        previous,
        {
          ...current("paused"),
          phases: replace(
            phases,
            i,
            withState(p, "Paused", obs.now, { message: `paused${by} at ${p.percent}%` }),
          ),
        },
        obs,
        {
          reason: "Paused",
          message: `phase ${ps.name} paused${by} at ${p.percent}%; kubectl wren resume continues`,
        },
      );
    case "resume": {
      if (ps === undefined || p === undefined || p.state !== "Paused") return ignore("not paused");
      const now = obs.now.toISOString();
      const message = `phase ${ps.name} resumed${by} at ${p.percent}%`;
      const resumed = withState(p, "Progressing", obs.now, {
        stepStartTime: now,
        lastCheckTime: now,
        waitingSince: undefined,
        message,
      });
      return decision(spec, previous, { ...current("resumed"), phases: replace(phases, i, resumed) }, obs, {
        reason: "Resumed",
        message,
        requeueMs: durationMs(ps.validation.interval),
      });
    }
    case "promote":
      if (ps === undefined || p === undefined) return ignore("no phase is in progress");
      if (p.state === "Paused") return ignore(`phase ${ps.name} is paused; resume it first, or promote-full`);
      return advance(spec, previous, current("advanced one step"), phases, i, obs, `promoted one step${by}`);
    case "promote-full": {
      if (ps === undefined || p === undefined) return ignore("no phase is in progress");
      const last: Phase = { ...p, stepIndex: ps.steps.length - 1, percent: 100 };
      return advance(
        spec,
        previous,
        current("promoted fully"),
        replace(phases, i, last),
        i,
        obs,
        `full promotion${by} of phase ${ps.name}, skipping its remaining steps`,
      );
    }
    case "retry": {
      if (i >= 0 || !phases.some(halted)) return ignore("only a failed migration can be retried");
      const reset = phases.map((q) =>
        halted(q)
          ? withState({ name: q.name, state: "Pending", percent: 0 }, "Pending", obs.now, {
              message: `retry requested${by}`,
            })
          : q,
      );
      const first = reset.findIndex((q) => q.state === "Pending");
      return start(spec, previous, current("restarted"), reset, first, obs, `retry${by}`);
    }
  }
}

/** The Migration state machine. */
export function decideMigration(
  spec: MigrationSpec,
  status: Status,
  obs: MigrationObservations,
): MigrationDecision {
  if (obs.specProblems.length > 0) {
    // The spec names objects that are not there: change nothing, say what to fix.
    const r = { reason: "InvalidSpec", message: obs.specProblems.join("; ") };
    const previous = readyCondition(status);
    const actions: MigrationDecision["actions"] = [{ type: "RequeueAfter", ms: idle }];
    if (previous?.reason !== r.reason || previous.message !== r.message) {
      actions.unshift({ type: "Event", eventType: "Warning", ...r });
    }
    const held = setCondition(
      { ...status, observedGeneration: obs.generation },
      false,
      r,
      obs.now,
      obs.generation,
    );
    return { status: held, actions, reason: r.message };
  }
  const phases = phaseStates(spec, status);
  const pending =
    obs.manualAction && obs.manualAction.id !== status.lastAction?.id ? obs.manualAction : undefined;
  if (pending) {
    const handled = handleManual(spec, status, phases, obs, pending);
    // Every consumed action leaves an Event, even when the phase and reason stay the same.
    if (!handled.actions.some((a) => a.type === "Event")) {
      handled.actions.push({
        type: "Event",
        eventType: "Normal",
        reason: "ManualAction",
        message: `${pending.action}${who(pending)}: ${handled.status.lastAction?.result ?? handled.reason}`,
      });
    }
    return handled;
  }
  const current: Status = { ...status, phases };

  const i = phases.findIndex(active);
  const running = phases[i];
  const ps = spec.phases[i];
  if (running !== undefined && ps !== undefined) {
    if (running.state === "Paused") {
      return decision(spec, status, current, obs, {
        reason: "Paused",
        message: `phase ${ps.name} paused at ${running.percent}%; kubectl wren resume continues`,
      });
    }
    if (!checkDue(ps, running, obs.now)) {
      // Between validations nothing new is known: keep the last reason (no Event churn).
      const remaining = durationMs(ps.validation.interval) - elapsed(running.lastCheckTime, obs.now);
      return decision(
        spec,
        status,
        current,
        obs,
        lastOutcome(status, {
          reason: "Progressing",
          message: running.message ?? `phase ${ps.name} at ${running.percent}%`,
          requeueMs: Math.max(remaining, 100),
        }),
      );
    }
    if (obs.routingApplied === false) return reapplyStep(spec, status, current, phases, i, obs);
    return validate(spec, status, current, phases, i, obs);
  }
  if (phases.some(halted)) {
    const failed = phases.find((p) => p.state === "Failed") ?? phases.find(halted);
    return decision(
      spec,
      status,
      current,
      obs,
      lastOutcome(status, {
        reason: "RolledBack",
        message: `${failed?.message ?? "rolled back"}; kubectl wren retry starts again`,
      }),
    );
  }
  const next = phases.findIndex((p) => p.state === "Pending");
  if (next >= 0) return start(spec, status, current, phases, next, obs);
  return decision(spec, status, current, obs, {
    reason: "Succeeded",
    message: `every phase migrated: ${spec.phases.map((p) => `${p.name} -> ${targets(p)}`).join(", ")}`,
    ready: true,
  });
}
