// The ControlPlaneUpgrade state machine. Pure: (spec, status, observations) ->
// (status, actions). Which namespaces a wave moves, the labels they must carry
// and the restartedAt value their Deployments must carry are all recorded in
// status before anything is written, so every decision re-derives the same
// writes from status: a restarted controller repeats none and loses none.
import type { Condition } from "../api/common.ts";
import {
  type ControlPlaneUpgradePhase,
  type ControlPlaneUpgradeSpec,
  type ControlPlaneUpgradeStatus,
  defaultRevision,
  type HistoryEntry,
  injectionLabel,
  optOutValue,
  type PreviousLabels,
  revisionLabel,
  type Wave,
  type WaveGateway,
} from "../api/control-plane-upgrade.ts";
import type { CheckResult, Decision, ManualAction } from "./decision.ts";
import { durationMs } from "./duration.ts";

type Spec = ControlPlaneUpgradeSpec;
type Status = ControlPlaneUpgradeStatus;
type Phase = ControlPlaneUpgradePhase;

/** A namespace as observed: its injection labels, and whether spec.namespaceSelector matches it. */
export interface NamespaceObservation {
  name: string;
  selected: boolean;
  /** istio-injection label. */
  injection?: string;
  /** istio.io/rev label. */
  revision?: string;
  /** wren.dev/control-plane-upgrade label. */
  optOut?: string;
}

/** A Deployment in a namespace being moved, and the revisions its pods run. */
export interface MeshWorkload {
  namespace: string;
  name: string;
  /** Matches spec.gateways.selector. */
  gateway: boolean;
  /** Its pod template does not opt out of injection (sidecar.istio.io/inject: "false"). */
  injectable: boolean;
  /** The pod template's kubectl.kubernetes.io/restartedAt annotation. */
  restartedAt?: string;
  /** The pod template's istio.io/rev label. */
  revisionLabel?: string;
  /** The latest template is fully rolled out: no old pods, every replica updated and ready. */
  rolledOut: boolean;
  /** The istio.io/rev annotation of each live pod ("" when it has no sidecar). */
  podRevisions: string[];
}

/** The istiod Deployment of the revision being moved to. */
export interface IstiodObservation {
  exists: boolean;
  ready: boolean;
  /** e.g. "istiod-1-24-0 in istio-system: 0 of 1 replicas ready". */
  message: string;
}

/** The revision tag's MutatingWebhookConfiguration. */
export interface TagObservation {
  exists: boolean;
  /** Its istio.io/rev label. */
  revision?: string;
  /** The Services its webhooks call. */
  services: string[];
  /** Webhooks that call a URL instead of a Service: Wren cannot point those at istiod-<to>. */
  urlWebhooks?: string[];
}

/** What the reconciler observed for one ControlPlaneUpgrade. */
export interface ControlPlaneObservations {
  now: Date;
  generation: number;
  /** Every namespace the selector matches, plus every namespace a wave moved. */
  namespaces: NamespaceObservation[];
  /** Deployments of the namespaces the plan named. */
  workloads?: MeshWorkload[];
  /** Gateway Deployments (spec.gateways.selector), cluster-wide. */
  gateways?: MeshWorkload[];
  istiod?: IstiodObservation;
  tag?: TagObservation;
  /** This interval's checks of the current wave, when the plan asked for them. */
  checks?: CheckResult[];
  manualAction?: ManualAction;
}

/** The cluster-changing actions of a ControlPlaneUpgrade. */
export type ControlPlaneAction =
  /** Set (string) or remove (null) labels of namespaces. */
  | { type: "RelabelNamespaces"; namespaces: { name: string; labels: Record<string, string | null> }[] }
  /**
   * Set the restartedAt annotation on the pod templates (and, for gateways chosen by
   * their pod label, the istio.io/rev label), which rolls their pods.
   */
  | {
      type: "RestartWorkloads";
      restartedAt: string;
      workloads: { namespace: string; name: string; revisionLabel?: string }[];
    }
  /** Point every webhook of istio-revision-tag-<tag> at istiod-<revision>. */
  | { type: "MoveRevisionTag"; tag: string; revision: string };

/** What the next decision needs observed. Pure, so tests and the reconciler agree. */
export interface ControlPlanePlan {
  /** Namespaces whose Deployments and pods to list. */
  workloadNamespaces: string[];
  gateways: boolean;
  istiod: boolean;
  tag: boolean;
  /** Run the checks over the traffic of these namespaces. */
  analyse?: { namespaces: string[] };
}

type Reason = { reason: string; message: string };

const pollMs = 2000;
const idleMs = 30_000;
const historyLimit = 50;
const systemNamespaces = new Set(["kube-system", "kube-public", "kube-node-lease"]);
const warningReasons: ReadonlySet<string> = new Set([
  "ControlPlaneNotReady",
  "RevisionTagNotFound",
  "RevisionTagNotMovable",
  "ProgressDeadlineExceeded",
  "CheckFailed",
  "MetricsUnavailable",
  "RollingBack",
  "RolledBack",
  "RollbackIncomplete",
]);

/** The revisions being moved between: as recorded at the start, else the spec's. */
function revisions(spec: Spec, status: Status): { from: string; to: string } {
  return { from: status.from ?? spec.from, to: status.to ?? spec.to };
}

function elapsed(since: string | undefined, now: Date): number {
  return since === undefined ? 0 : now.getTime() - Date.parse(since);
}

/** When a wait that began at `since` runs out; stated in messages instead of a ticking count, so status is not rewritten every poll. */
function deadlineAt(since: string, spec: Spec): string {
  return new Date(Date.parse(since) + spec.progressDeadlineSeconds * 1000).toISOString();
}

function terminal(phase: Phase | undefined): boolean {
  return phase === "Succeeded" || phase === "Failed";
}

/** Where a namespace stands for this upgrade: on `from` (to be moved), on `to`, or left alone. */
export function classifyNamespace(
  ns: NamespaceObservation,
  spec: Spec,
  from: string,
  to: string,
): "from" | "to" | "excluded" {
  if (systemNamespaces.has(ns.name) || ns.name === spec.istioNamespace) return "excluded";
  if (ns.optOut === optOutValue) return "excluded";
  // istio-injection wins over istio.io/rev, as in Istio's injector.
  if (ns.injection === "disabled") return "excluded";
  if (ns.injection === "enabled") return to === defaultRevision ? "to" : "from";
  if (ns.revision === from) return "from";
  if (ns.revision === to) return "to";
  return "excluded";
}

/** Every namespace a wave of this upgrade moved (relabelled, or about to be). */
export function movedNamespaces(status: Status): string[] {
  return (status.waves ?? []).flatMap((w) => w.namespaces);
}

function previousLabelsOf(status: Status): Map<string, PreviousLabels> {
  const all = new Map<string, PreviousLabels>();
  for (const w of status.waves ?? []) {
    for (const [ns, labels] of Object.entries(w.previousLabels ?? {})) all.set(ns, labels);
  }
  return all;
}

function gatewaysOf(status: Status): WaveGateway[] {
  return (status.waves ?? []).flatMap((w) => w.gateways ?? []);
}

/** Which observations the next decision needs. */
export function planControlPlaneUpgrade(spec: Spec, status: Status, now: Date): ControlPlanePlan {
  const plan: ControlPlanePlan = { workloadNamespaces: [], gateways: false, istiod: false, tag: false };
  const phase = status.phase;
  if (spec.suspend || phase === "Paused") return plan;
  const revisionsChanged = spec.from !== status.from || spec.to !== status.to;
  if (phase === undefined || (terminal(phase) && revisionsChanged)) {
    return { ...plan, istiod: true, tag: spec.revisionTag !== undefined };
  }
  if (terminal(phase)) return plan;
  const wave = status.waves?.at(-1);
  if (phase === "RollingBack") {
    return { ...plan, workloadNamespaces: movedNamespaces(status), gateways: gatewaysOf(status).length > 0 };
  }
  if (phase === "WaitingForControlPlane") {
    return { ...plan, istiod: true, tag: spec.revisionTag !== undefined };
  }
  if (phase === "Finalising") return { ...plan, tag: true };
  // Progressing or WaitingPromotion: the next wave may start (istiod, gateways), the current one moves or is analysed.
  plan.istiod = true;
  plan.gateways = spec.gateways !== undefined;
  if (phase === "Progressing" && wave?.state === "Moving" && !wave.gateways) {
    plan.workloadNamespaces = wave.namespaces;
  }
  if (phase === "Progressing" && wave?.state === "Analysing" && analysisDue(spec, wave, now)) {
    const namespaces = wave.gateways ? movedNamespaces(status) : wave.namespaces;
    if (spec.analysis.metrics.length > 0 && !status.promotedFully) plan.analyse = { namespaces };
  }
  return plan;
}

function analysisDue(spec: Spec, wave: Wave, now: Date): boolean {
  return elapsed(wave.lastCheckTime ?? wave.movedAt, now) >= durationMs(spec.analysis.interval);
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

/** `phase/wave/state`: what a history line records a change of. */
function milestone(s: Status): string {
  const wave = s.waves?.at(-1);
  return `${s.phase}/${s.currentWave ?? ""}/${wave?.state ?? ""}`;
}

/** Builds the decision: condition, history, Events and notifications for what changed. */
function decision(
  previous: Status,
  next: Status,
  obs: ControlPlaneObservations,
  r: Reason & { ready?: boolean; requeueMs?: number },
  extra: ControlPlaneAction[] = [],
): Decision<Status, ControlPlaneAction> {
  let status: Status = { ...next, observedGeneration: obs.generation };
  if (status.phase !== previous.phase) status.lastTransitionTime = obs.now.toISOString();
  status = setCondition(status, r.ready ?? false, r, obs.now, obs.generation);
  const actions: Decision<Status, ControlPlaneAction>["actions"] = [...extra];
  const moved = milestone(status) !== milestone(previous);
  if (moved) {
    const entry: HistoryEntry = {
      time: obs.now.toISOString(),
      phase: status.phase ?? "",
      wave: status.currentWave,
      reason: r.reason,
      message: r.message,
    };
    status.history = [...(previous.history ?? []), entry].slice(-historyLimit);
  }
  const previousReason = previous.conditions?.find((c) => c.type === "Ready")?.reason;
  if (moved || r.reason !== previousReason) {
    const warning = warningReasons.has(r.reason) || status.phase === "Failed";
    actions.push({ type: "Event", eventType: warning ? "Warning" : "Normal", ...r });
    if (status.phase !== previous.phase) {
      actions.push({ type: "Notify", severity: warning ? "error" : "info", message: r.message });
    }
  }
  if (r.requeueMs !== undefined) actions.push({ type: "RequeueAfter", ms: r.requeueMs });
  return { status, actions, reason: r.message };
}

/** A fresh upgrade of spec.from -> spec.to: first, istiod-<to> must be ready. */
function begin(spec: Spec, status: Status, obs: ControlPlaneObservations, why: string) {
  const fresh: Status = {
    ...status,
    phase: "WaitingForControlPlane",
    from: spec.from,
    to: spec.to,
    lastAppliedSpec: spec.to,
    canaryWeight: 0,
    currentWave: undefined,
    waves: [],
    rollback: undefined,
    resumePhase: undefined,
    promotedFully: undefined,
    metrics: [],
    waitingSince: obs.now.toISOString(),
  };
  return waitForControlPlane(spec, status, fresh, obs, why);
}

/** Before the first wave: istiod-<to> ready and, if asked for, the revision tag present. */
function waitForControlPlane(
  spec: Spec,
  previous: Status,
  status: Status,
  obs: ControlPlaneObservations,
  why?: string,
) {
  const { to } = revisions(spec, status);
  const problem = controlPlaneProblem(spec, obs, to);
  if (problem === undefined) {
    return nextWave(
      spec,
      previous,
      { ...status, waitingSince: undefined },
      obs,
      why ?? "control plane ready",
    );
  }
  const deadline = spec.progressDeadlineSeconds * 1000;
  const waited = elapsed(status.waitingSince, obs.now);
  if (waited > deadline) {
    return decision(previous, { ...status, phase: "Failed", waitingSince: undefined }, obs, {
      reason: problem.reason,
      message: `${problem.message} for ${spec.progressDeadlineSeconds}s (progressDeadlineSeconds); no namespace was touched`,
    });
  }
  return decision(previous, status, obs, {
    reason: problem.reason,
    message: `${why ? `${why}; ` : ""}waiting: ${problem.message} (fails at ${deadlineAt(status.waitingSince ?? obs.now.toISOString(), spec)})`,
    requeueMs: Math.min(Math.max(deadline - waited, 500), pollMs),
  });
}

function urlWebhooksMessage(tag: string, t: TagObservation | undefined): string {
  return `istio-revision-tag-${tag}: webhooks ${(t?.urlWebhooks ?? []).join(", ")} call a URL, not an istiod Service; Wren cannot move them`;
}

function controlPlaneProblem(spec: Spec, obs: ControlPlaneObservations, to: string): Reason | undefined {
  const istiod = obs.istiod;
  if (!istiod?.exists || !istiod.ready) {
    return {
      reason: "ControlPlaneNotReady",
      message: istiod?.message ?? `istiod-${to} in ${spec.istioNamespace} not observed`,
    };
  }
  // The tag is checked before the first wave (fail early); Finalising checks it again.
  if (spec.revisionTag !== undefined && obs.tag !== undefined && !obs.tag.exists) {
    return {
      reason: "RevisionTagNotFound",
      message: `MutatingWebhookConfiguration istio-revision-tag-${spec.revisionTag} not found`,
    };
  }
  if (spec.revisionTag !== undefined && (obs.tag?.urlWebhooks ?? []).length > 0) {
    return { reason: "RevisionTagNotMovable", message: urlWebhooksMessage(spec.revisionTag, obs.tag) };
  }
  return undefined;
}

/** Selected namespaces still on `from`, not yet moved, sorted by name. */
function remainingNamespaces(spec: Spec, status: Status, obs: ControlPlaneObservations): string[] {
  const { from, to } = revisions(spec, status);
  const moved = new Set(movedNamespaces(status));
  return obs.namespaces
    .filter((ns) => ns.selected && !moved.has(ns.name) && classifyNamespace(ns, spec, from, to) === "from")
    .map((ns) => ns.name)
    .sort();
}

function skippedCount(spec: Spec, status: Status, obs: ControlPlaneObservations): number {
  const { from, to } = revisions(spec, status);
  const moved = new Set(movedNamespaces(status));
  return obs.namespaces.filter(
    (ns) => ns.selected && !moved.has(ns.name) && classifyNamespace(ns, spec, from, to) !== "from",
  ).length;
}

function weight(moved: number, total: number): number {
  return total === 0 ? 100 : Math.round((moved * 100) / total);
}

/**
 * After a wave (or before the first): start the next one, wait at its manual gate,
 * move the gateways, or finish.
 */
function nextWave(
  spec: Spec,
  previous: Status,
  status: Status,
  obs: ControlPlaneObservations,
  why: string,
  approved = false,
): Decision<Status, ControlPlaneAction> {
  const { from, to } = revisions(spec, status);
  const moved = movedNamespaces(status);
  const remaining = remainingNamespaces(spec, status, obs);
  const total = moved.length + remaining.length;
  const counted: Status = {
    ...status,
    selectedNamespaces: total,
    skippedNamespaces: skippedCount(spec, status, obs),
    canaryWeight: weight(moved.length, total),
  };
  const now = obs.now.toISOString();
  const index = status.waves?.length ?? 0;

  if (remaining.length > 0) {
    // The first percent whose share of namespaces exceeds what is moved: rounding never makes an empty wave.
    const percent = spec.waves.find((p) => Math.ceil((total * p) / 100) > moved.length) ?? 100;
    const gated = spec.manualGates.includes(percent) && !status.promotedFully && !approved;
    if (gated) {
      return decision(previous, { ...counted, phase: "WaitingPromotion" }, obs, {
        reason: "WaitingPromotion",
        message: `${why}; wave ${index} (${percent}%) waits for kubectl wren promote`,
        requeueMs: idleMs,
      });
    }
    const problem = controlPlaneProblem(spec, obs, to);
    if (problem !== undefined) return holdBetweenWaves(spec, previous, counted, obs, problem, approved);
    const count = Math.ceil((total * percent) / 100) - moved.length;
    const namespaces = remaining.slice(0, count);
    const byName = new Map(obs.namespaces.map((ns) => [ns.name, ns]));
    const previousLabels = Object.fromEntries(
      namespaces.map((name) => {
        const ns = byName.get(name);
        const labels: PreviousLabels = {};
        if (ns?.injection !== undefined) labels[injectionLabel] = ns.injection;
        if (ns?.revision !== undefined) labels[revisionLabel] = ns.revision;
        return [name, labels];
      }),
    );
    const wave: Wave = {
      index,
      percent,
      namespaces,
      previousLabels,
      state: "Moving",
      startedAt: now,
      restartedAt: now,
    };
    const started: Status = {
      ...counted,
      phase: "Progressing",
      currentWave: index,
      waves: [...(status.waves ?? []), wave],
      canaryWeight: weight(moved.length + namespaces.length, total),
      waitingSince: now,
      gateApproved: undefined,
    };
    return decision(
      previous,
      started,
      obs,
      {
        reason: "WaveStarted",
        message: `${why}; wave ${index} (${percent}%) moves ${namespaces.length} namespace(s) from ${from} to ${to}: ${listed(namespaces, 10)}`,
        requeueMs: 500,
      },
      [relabelTo(namespaces, to)],
    );
  }

  const gatewayWaveDone = (status.waves ?? []).some((w) => w.gateways);
  if (spec.gateways && !gatewayWaveDone) {
    const gateways = eligibleGateways(spec, status, obs);
    if (obs.gateways === undefined) {
      return decision(previous, counted, obs, {
        reason: "Progressing",
        message: `${why}; listing the gateways`,
        requeueMs: 500,
      });
    }
    if (gateways.length > 0) {
      const problem = controlPlaneProblem(spec, obs, to);
      if (problem !== undefined) return holdBetweenWaves(spec, previous, counted, obs, problem, approved);
      const wave: Wave = {
        index,
        percent: 100,
        namespaces: [],
        gateways,
        state: "Moving",
        startedAt: now,
        restartedAt: now,
      };
      return decision(
        previous,
        {
          ...counted,
          phase: "Progressing",
          currentWave: index,
          waves: [...(status.waves ?? []), wave],
          waitingSince: now,
        },
        obs,
        {
          reason: "WaveStarted",
          message: `${why}; wave ${index} restarts ${gateways.length} gateway(s) onto ${to}: ${listed(
            gateways.map((g) => `${g.namespace}/${g.name}`),
            10,
          )}`,
          requeueMs: 500,
        },
      );
    }
  }
  const done =
    moved.length === 0
      ? "no selected namespace is on the old revision"
      : `${moved.length} namespace(s) on ${to}`;
  if (spec.revisionTag !== undefined) {
    return decision(previous, { ...counted, phase: "Finalising", waitingSince: now }, obs, {
      reason: "Finalising",
      message: `${why}; ${done}; moving revision tag ${spec.revisionTag} to ${to}`,
      requeueMs: 500,
    });
  }
  return succeed(spec, previous, counted, obs, `${why}; ${done}`);
}

function succeed(spec: Spec, previous: Status, status: Status, obs: ControlPlaneObservations, why: string) {
  const { from } = revisions(spec, status);
  return decision(
    previous,
    { ...status, phase: "Succeeded", canaryWeight: 100, waitingSince: undefined },
    obs,
    {
      reason: "Succeeded",
      message: `${why}; revision ${from} is left running (Wren never removes it)`,
      ready: true,
    },
  );
}

/** A wave cannot start because istiod-<to> (or the tag) is missing: wait, then roll back at the deadline. */
function holdBetweenWaves(
  spec: Spec,
  previous: Status,
  status: Status,
  obs: ControlPlaneObservations,
  problem: Reason,
  approved: boolean,
) {
  const since = status.waitingSince ?? obs.now.toISOString();
  const waited = elapsed(since, obs.now);
  const deadline = spec.progressDeadlineSeconds * 1000;
  if (waited > deadline) {
    return startRollback(previous, status, obs, {
      reason: problem.reason,
      message: `${problem.message} for ${spec.progressDeadlineSeconds}s before wave ${status.waves?.length ?? 0}`,
    });
  }
  return decision(
    previous,
    { ...status, phase: "Progressing", waitingSince: since, gateApproved: approved || undefined },
    obs,
    {
      reason: problem.reason,
      message: `waiting before wave ${status.waves?.length ?? 0}: ${problem.message} (rolls back at ${deadlineAt(since, spec)})`,
      requeueMs: pollMs,
    },
  );
}

/** Gateways the last wave restarts: those in moved namespaces, and those in istioNamespace labelled for `from`. */
function eligibleGateways(spec: Spec, status: Status, obs: ControlPlaneObservations): WaveGateway[] {
  const { from } = revisions(spec, status);
  const moved = new Set(movedNamespaces(status));
  const out: WaveGateway[] = [];
  for (const g of obs.gateways ?? []) {
    if (!g.injectable) continue;
    if (moved.has(g.namespace)) out.push({ namespace: g.namespace, name: g.name });
    else if (g.namespace === spec.istioNamespace && g.revisionLabel === from) {
      out.push({ namespace: g.namespace, name: g.name, previousRevisionLabel: from });
    }
  }
  return out.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

function relabelTo(namespaces: string[], to: string): ControlPlaneAction {
  return {
    type: "RelabelNamespaces",
    namespaces: namespaces.map((name) => ({ name, labels: { [revisionLabel]: to, [injectionLabel]: null } })),
  };
}

/** Labels that differ between what a namespace carries and what it should. */
function labelsToChange(
  ns: NamespaceObservation | undefined,
  want: { injection?: string; revision?: string },
): Record<string, string | null> | undefined {
  const have = { injection: ns?.injection, revision: ns?.revision };
  const change: Record<string, string | null> = {};
  if (have.injection !== want.injection) change[injectionLabel] = want.injection ?? null;
  if (have.revision !== want.revision) change[revisionLabel] = want.revision ?? null;
  return Object.keys(change).length > 0 ? change : undefined;
}

/** True when every pod runs one of `revisions`, the rollout is over, and the pod label (if Wren owns it) is right. */
function settled(w: MeshWorkload, revisions: ReadonlySet<string>): boolean {
  return w.rolledOut && w.podRevisions.every((r) => revisions.has(r));
}

function podSummary(w: MeshWorkload, revisions: ReadonlySet<string>): string {
  const on = w.podRevisions.filter((r) => revisions.has(r)).length;
  const rollout = w.rolledOut ? "" : ", rollout in progress";
  return `${w.namespace}/${w.name} (${on} of ${w.podRevisions.length} pods on ${[...revisions].join(" or ")}${rollout})`;
}

interface MoveTarget {
  workload: MeshWorkload;
  revisions: ReadonlySet<string>;
  /** The pod template istio.io/rev label the workload must carry, when Wren owns it. */
  revisionLabel?: string;
}

/**
 * The restarts still to make and the workloads not yet settled. A workload whose
 * pods already run the wanted revision needs no restart; one already carrying this
 * restartedAt value was restarted (perhaps by a controller since killed) and is not
 * restarted again.
 */
function convergence(targets: MoveTarget[], restartedAt: string) {
  const restarts: { namespace: string; name: string; revisionLabel?: string }[] = [];
  const pending: string[] = [];
  for (const t of targets) {
    const w = t.workload;
    const labelOk = t.revisionLabel === undefined || w.revisionLabel === t.revisionLabel;
    const onTarget = w.podRevisions.every((r) => t.revisions.has(r));
    if ((!labelOk || !onTarget) && w.restartedAt !== restartedAt) {
      restarts.push({
        namespace: w.namespace,
        name: w.name,
        ...(t.revisionLabel !== undefined ? { revisionLabel: t.revisionLabel } : {}),
      });
    }
    if (!labelOk || !settled(w, t.revisions)) pending.push(podSummary(w, t.revisions));
  }
  return { restarts, pending };
}

function listed(items: string[], max = 5): string {
  return items.length <= max
    ? items.join(", ")
    : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

/** A wave moving its namespaces: relabel, then (once the labels are seen) restart, then wait. */
function move(spec: Spec, status: Status, wave: Wave, obs: ControlPlaneObservations) {
  const { to } = revisions(spec, status);
  const byName = new Map(obs.namespaces.map((ns) => [ns.name, ns]));
  // A namespace deleted since the wave started has nothing left to move.
  const toRelabel = wave.namespaces.filter(
    (n) => byName.has(n) && labelsToChange(byName.get(n), { revision: to }) !== undefined,
  );
  const deadline = spec.progressDeadlineSeconds * 1000;
  const since = status.waitingSince ?? wave.startedAt;
  const waited = elapsed(since, obs.now);
  const late = (what: string) =>
    startRollback(status, status, obs, {
      reason: "ProgressDeadlineExceeded",
      message: `wave ${wave.index} (${wave.percent}%) did not finish within ${spec.progressDeadlineSeconds}s: ${what}`,
    });
  if (toRelabel.length > 0) {
    if (waited > deadline) return late(`namespaces not relabelled: ${listed(toRelabel)}`);
    return decision(
      status,
      { ...status, waitingSince: since },
      obs,
      {
        reason: "WaveStarted",
        message: `wave ${wave.index}: relabelling ${toRelabel.length} namespace(s) to ${revisionLabel}=${to}`,
        requeueMs: 1000,
      },
      [relabelTo(toRelabel, to)],
    );
  }
  const wanted = new Set([to]);
  let targets: MoveTarget[];
  if (wave.gateways) {
    const live = new Map((obs.gateways ?? []).map((g) => [`${g.namespace}/${g.name}`, g]));
    targets = wave.gateways.flatMap((g) => {
      const w = live.get(`${g.namespace}/${g.name}`);
      if (!w) return [];
      return [
        {
          workload: w,
          revisions: wanted,
          revisionLabel: g.previousRevisionLabel !== undefined ? to : undefined,
        },
      ];
    });
  } else {
    const inWave = new Set(wave.namespaces);
    targets = (obs.workloads ?? [])
      .filter((w) => inWave.has(w.namespace) && !w.gateway && w.injectable)
      .map((w) => ({ workload: w, revisions: wanted }));
  }
  const { restarts, pending } = convergence(targets, wave.restartedAt);
  if (restarts.length === 0 && pending.length === 0) {
    const moved: Wave = {
      ...wave,
      state: "Analysing",
      movedAt: obs.now.toISOString(),
      lastCheckTime: undefined,
    };
    const what = wave.gateways
      ? `${targets.length} gateway(s)`
      : `${targets.length} Deployment(s) in ${wave.namespaces.length} namespace(s)`;
    const next = replaceWave({ ...status, waitingSince: undefined }, moved);
    const analysed = spec.analysis.metrics.length > 0 && !status.promotedFully;
    if (!analysed) return finishWave(spec, status, next, moved, obs, `every pod of ${what} on ${to}`);
    return decision(status, next, obs, {
      reason: "WaveMoved",
      message: `wave ${wave.index}: every pod of ${what} runs ${to}; analysing for ${spec.analysis.interval}`,
      requeueMs: durationMs(spec.analysis.interval),
    });
  }
  if (waited > deadline) return late(`waiting for ${listed(pending)}`);
  const actions: ControlPlaneAction[] =
    restarts.length > 0
      ? [{ type: "RestartWorkloads", restartedAt: wave.restartedAt, workloads: restarts }]
      : [];
  return decision(
    status,
    { ...status, waitingSince: since },
    obs,
    {
      reason: "WaveMoving",
      message: `wave ${wave.index}: ${targets.length - pending.length} of ${targets.length} workload(s) on ${to}; waiting for ${listed(pending)}`,
      requeueMs: pollMs,
    },
    actions,
  );
}

function replaceWave(status: Status, wave: Wave): Status {
  return { ...status, waves: (status.waves ?? []).map((w) => (w.index === wave.index ? wave : w)) };
}

/** A wave passed: record it, then go on to the next. */
function finishWave(
  spec: Spec,
  previous: Status,
  status: Status,
  wave: Wave,
  obs: ControlPlaneObservations,
  why: string,
) {
  const done: Wave = { ...wave, state: "Succeeded", finishedAt: obs.now.toISOString(), message: why };
  const message = `wave ${wave.index} (${wave.percent}%) succeeded: ${why}`;
  // Its own history line, so the order of waves reads from history even when the next starts at once.
  const entry: HistoryEntry = {
    time: obs.now.toISOString(),
    phase: status.phase ?? "Progressing",
    wave: wave.index,
    reason: "WaveSucceeded",
    message,
  };
  const recorded = {
    ...replaceWave(status, done),
    history: [...(status.history ?? []), entry].slice(-historyLimit),
  };
  return nextWave(spec, { ...previous, history: recorded.history }, recorded, obs, message);
}

function metricResults(checks: CheckResult[], now: Date) {
  return checks.map((c) => ({
    name: c.name,
    value: c.value,
    thresholdRange: c.thresholdRange,
    verdict: c.verdict,
    message: c.message,
    time: now.toISOString(),
  }));
}

/** One round of checks of a wave whose pods all run `to`. */
function analyse(spec: Spec, status: Status, wave: Wave, obs: ControlPlaneObservations) {
  const interval = durationMs(spec.analysis.interval);
  if (spec.analysis.metrics.length === 0 || status.promotedFully) {
    return finishWave(spec, status, status, wave, obs, "no analysis");
  }
  if (!analysisDue(spec, wave, obs.now) || obs.checks === undefined) {
    const remaining = interval - elapsed(wave.lastCheckTime ?? wave.movedAt, obs.now);
    const current = status.conditions?.find((c) => c.type === "Ready");
    return decision(status, status, obs, {
      reason: current?.reason ?? "WaveMoved",
      message: current?.message ?? `wave ${wave.index} analysing`,
      requeueMs: Math.max(remaining, 100),
    });
  }
  const checks = obs.checks;
  const now = obs.now.toISOString();
  const measured: Wave = { ...wave, lastCheckTime: now, checks: metricResults(checks, obs.now) };
  const base: Status = { ...status, metrics: measured.checks };
  const failed = checks.filter((c) => c.verdict === "Fail").map((c) => `${c.name} ${c.message ?? "failed"}`);
  const unavailable = checks.filter((c) => c.verdict === "Unavailable");
  if (failed.length > 0) {
    const failedChecks = (wave.failedChecks ?? 0) + 1;
    const why = failed.join("; ");
    const next: Wave = { ...measured, failedChecks, unavailableChecks: 0, message: why };
    if (failedChecks >= spec.analysis.threshold) {
      return startRollback(status, replaceWave(base, next), obs, {
        reason: "CheckFailed",
        message: `wave ${wave.index} (${wave.percent}%) failed ${failedChecks} round(s) of checks (threshold ${spec.analysis.threshold}): ${why}`,
      });
    }
    return decision(status, replaceWave(base, next), obs, {
      reason: "CheckFailed",
      message: `wave ${wave.index}: check failed (${failedChecks} of ${spec.analysis.threshold}): ${why}`,
      requeueMs: interval,
    });
  }
  if (unavailable.length > 0) {
    const unavailableChecks = (wave.unavailableChecks ?? 0) + 1;
    const policy = spec.analysis.metricsUnavailable;
    const why = unavailable.map((c) => `${c.name}: ${c.message ?? "no data"}`).join("; ");
    const next: Wave = { ...measured, unavailableChecks, message: why };
    if (policy.action === "rollback" && unavailableChecks >= policy.after) {
      return startRollback(status, replaceWave(base, next), obs, {
        reason: "MetricsUnavailable",
        message: `wave ${wave.index} (${wave.percent}%): metrics unavailable for ${unavailableChecks} intervals: ${why}`,
      });
    }
    return decision(status, replaceWave(base, next), obs, {
      reason: "MetricsUnavailable",
      message: `wave ${wave.index}: holding, metrics unavailable (${unavailableChecks} in a row, policy ${policy.action}): ${why}`,
      requeueMs: interval,
    });
  }
  const passedChecks = (wave.passedChecks ?? 0) + 1;
  const next: Wave = { ...measured, passedChecks, unavailableChecks: 0 };
  if (passedChecks >= spec.analysis.iterations) {
    return finishWave(
      spec,
      status,
      replaceWave(base, next),
      next,
      obs,
      `checks passed ${passedChecks} time(s)`,
    );
  }
  return decision(status, replaceWave(base, next), obs, {
    reason: "WaveAnalysing",
    message: `wave ${wave.index}: checks passed (${passedChecks} of ${spec.analysis.iterations})`,
    requeueMs: interval,
  });
}

/** Starts putting every moved namespace (and gateway) back where it was. */
function startRollback(previous: Status, status: Status, obs: ControlPlaneObservations, r: Reason) {
  const now = obs.now.toISOString();
  const current = status.waves?.at(-1);
  const waves = (status.waves ?? []).map((w) =>
    w.index === current?.index && w.state !== "Succeeded"
      ? { ...w, state: "Failed" as const, finishedAt: now, message: r.message }
      : w,
  );
  if (movedNamespaces(status).length === 0 && gatewaysOf(status).length === 0) {
    return decision(
      previous,
      { ...status, waves, phase: "Failed", canaryWeight: 0, waitingSince: undefined },
      obs,
      r,
    );
  }
  const rollingBack: Status = {
    ...status,
    waves,
    phase: "RollingBack",
    canaryWeight: 0,
    waitingSince: now,
    resumePhase: undefined,
    rollback: {
      startedAt: now,
      restartedAt: now,
      wave: current?.index,
      reason: r.reason,
      message: r.message,
    },
  };
  return decision(previous, rollingBack, obs, {
    reason: "RollingBack",
    message: `${r.message}; moving ${movedNamespaces(status).length} namespace(s) back`,
    requeueMs: 500,
  });
}

/** The revisions a moved namespace's pods may run once its previous labels are back. */
function previousRevisions(labels: PreviousLabels | undefined, from: string): ReadonlySet<string> {
  if (labels?.[injectionLabel] === "enabled") return new Set([defaultRevision, from]);
  return new Set([labels?.[revisionLabel] ?? from]);
}

/** Rolling back: previous labels, then (once seen) restarts, then wait until every pod is back. */
function rollBack(spec: Spec, status: Status, obs: ControlPlaneObservations) {
  const rollback = status.rollback;
  const { from } = revisions(spec, status);
  if (!rollback)
    return decision(status, { ...status, phase: "Failed" }, obs, {
      reason: "RolledBack",
      message: "rolled back",
    });
  const byName = new Map(obs.namespaces.map((ns) => [ns.name, ns]));
  const previous = previousLabelsOf(status);
  const moved = movedNamespaces(status);
  const relabel = moved.flatMap((name) => {
    if (!byName.has(name)) return [];
    const want = previous.get(name);
    const change = labelsToChange(byName.get(name), {
      injection: want?.[injectionLabel],
      revision: want?.[revisionLabel],
    });
    return change ? [{ name, labels: change }] : [];
  });
  const deadline = spec.progressDeadlineSeconds * 1000;
  const waited = elapsed(status.waitingSince ?? rollback.startedAt, obs.now);
  const incomplete = (what: string) =>
    decision(status, { ...status, phase: "Failed", waitingSince: undefined }, obs, {
      reason: "RollbackIncomplete",
      message: `${rollback.message}; the rollback did not finish within ${spec.progressDeadlineSeconds}s: ${what}`,
    });
  if (relabel.length > 0) {
    if (waited > deadline)
      return incomplete(`namespaces not relabelled: ${listed(relabel.map((r) => r.name))}`);
    return decision(
      status,
      status,
      obs,
      {
        reason: "RollingBack",
        message: `${rollback.message}; restoring the labels of ${relabel.length} namespace(s)`,
        requeueMs: 1000,
      },
      [{ type: "RelabelNamespaces", namespaces: relabel }],
    );
  }
  const movedSet = new Set(moved);
  const labelled = new Map(gatewaysOf(status).map((g) => [`${g.namespace}/${g.name}`, g]));
  const targets: MoveTarget[] = (obs.workloads ?? [])
    .filter((w) => movedSet.has(w.namespace) && w.injectable)
    .map((w) => ({ workload: w, revisions: previousRevisions(previous.get(w.namespace), from) }));
  for (const g of obs.gateways ?? []) {
    const moved = labelled.get(`${g.namespace}/${g.name}`);
    if (moved?.previousRevisionLabel === undefined) continue;
    targets.push({
      workload: g,
      revisions: new Set([moved.previousRevisionLabel]),
      revisionLabel: moved.previousRevisionLabel,
    });
  }
  const { restarts, pending } = convergence(targets, rollback.restartedAt);
  if (restarts.length === 0 && pending.length === 0) {
    const now = obs.now.toISOString();
    const waves = (status.waves ?? []).map((w) =>
      w.state === "Failed" ? w : { ...w, state: "RolledBack" as const, finishedAt: w.finishedAt ?? now },
    );
    const which = rollback.wave !== undefined ? `wave ${rollback.wave} failed` : "rolled back";
    return decision(
      status,
      { ...status, waves, phase: "Failed", canaryWeight: 0, waitingSince: undefined },
      obs,
      {
        reason: "RolledBack",
        message: `${which}: ${rollback.message}; ${moved.length} namespace(s) are back on their previous revision`,
      },
    );
  }
  if (waited > deadline) return incomplete(`waiting for ${listed(pending)}`);
  const actions: ControlPlaneAction[] =
    restarts.length > 0
      ? [{ type: "RestartWorkloads", restartedAt: rollback.restartedAt, workloads: restarts }]
      : [];
  return decision(
    status,
    status,
    obs,
    {
      reason: "RollingBack",
      message: `${rollback.message}; ${targets.length - pending.length} of ${targets.length} workload(s) back; waiting for ${listed(pending)}`,
      requeueMs: pollMs,
    },
    actions,
  );
}

/** The revision tag, once every wave succeeded. */
function finalise(spec: Spec, status: Status, obs: ControlPlaneObservations) {
  const { to } = revisions(spec, status);
  const tag = spec.revisionTag;
  if (tag === undefined) return succeed(spec, status, status, obs, "every wave succeeded");
  const service = `istiod-${to}`;
  const t = obs.tag;
  if (t?.exists && t.revision === to && t.services.length > 0 && t.services.every((s) => s === service)) {
    return succeed(
      spec,
      status,
      status,
      obs,
      `every wave succeeded; revision tag ${tag} points at ${service}`,
    );
  }
  if (!t?.exists) {
    const waited = elapsed(status.waitingSince, obs.now);
    if (waited > spec.progressDeadlineSeconds * 1000) {
      return decision(status, { ...status, phase: "Failed", waitingSince: undefined }, obs, {
        reason: "RevisionTagNotFound",
        message: `every namespace is on ${to}, but MutatingWebhookConfiguration istio-revision-tag-${tag} is gone, so the tag was not moved; the namespaces stay on ${to}`,
      });
    }
    return decision(status, status, obs, {
      reason: "RevisionTagNotFound",
      message: `MutatingWebhookConfiguration istio-revision-tag-${tag} not found; waiting`,
      requeueMs: pollMs,
    });
  }
  if ((t.urlWebhooks ?? []).length > 0) {
    return decision(status, { ...status, phase: "Failed", waitingSince: undefined }, obs, {
      reason: "RevisionTagNotMovable",
      message: `every namespace is on ${to}, but ${urlWebhooksMessage(tag, t)}; the namespaces stay on ${to}`,
    });
  }
  return decision(
    status,
    status,
    obs,
    { reason: "Finalising", message: `pointing revision tag ${tag} at ${service}`, requeueMs: 1000 },
    [{ type: "MoveRevisionTag", tag, revision: to }],
  );
}

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

function handleManual(spec: Spec, status: Status, obs: ControlPlaneObservations, action: ManualAction) {
  const phase = status.phase;
  const by = action.requestedBy ? ` by ${action.requestedBy}` : "";
  const wave = status.waves?.at(-1);
  const ignore = (why: string) =>
    decision(status, consume(status, action, obs.now, `ignored: ${why}`), obs, {
      reason: "ActionIgnored",
      message: `${action.action}${by} ignored: ${why}`,
      ready: phase === "Succeeded",
      requeueMs: 1000,
    });
  switch (action.action) {
    case "promote":
    case "promote-full": {
      const full = action.action === "promote-full";
      const consumed = {
        ...consume(status, action, obs.now, full ? "promoted fully" : "promoted"),
        promotedFully: full || status.promotedFully || undefined,
      };
      if (phase === "WaitingPromotion") {
        return nextWave(spec, status, { ...consumed, phase: "Progressing" }, obs, `wave approved${by}`, true);
      }
      if (phase === "Progressing" && wave?.state === "Analysing") {
        return finishWave(spec, status, consumed, wave, obs, `promoted${by}`);
      }
      if (phase === "Progressing" && full) {
        return decision(status, consumed, obs, {
          reason: "Progressing",
          message: `full promotion${by}: the remaining waves skip their gates and analysis`,
          requeueMs: 500,
        });
      }
      return ignore(
        phase === "Progressing"
          ? `wave ${wave?.index} is still moving; promote once its pods run the new revision`
          : `nothing to promote in phase ${phase}`,
      );
    }
    case "abort":
      if (phase === "WaitingForControlPlane") {
        return decision(
          status,
          { ...consume(status, action, obs.now, "aborted"), phase: "Failed", waitingSince: undefined },
          obs,
          {
            reason: "Aborted",
            message: `aborted${by} before any namespace moved`,
          },
        );
      }
      if (
        phase === "WaitingPromotion" ||
        phase === "Progressing" ||
        phase === "Paused" ||
        phase === "Finalising"
      ) {
        return startRollback(status, consume(status, action, obs.now, "rolling back"), obs, {
          reason: "Aborted",
          message: `aborted${by}${wave ? ` during wave ${wave.index} (${wave.percent}%)` : ""}`,
        });
      }
      return ignore(`nothing to abort in phase ${phase}`);
    case "pause":
      if (phase === "WaitingForControlPlane" || phase === "WaitingPromotion" || phase === "Progressing") {
        return decision(
          status,
          { ...consume(status, action, obs.now, "paused"), phase: "Paused", resumePhase: phase },
          obs,
          {
            reason: "Paused",
            message: `paused${by} at ${status.canaryWeight ?? 0}% of the namespaces`,
          },
        );
      }
      return ignore(`cannot pause in phase ${phase}`);
    case "resume": {
      if (phase !== "Paused") return ignore("not paused");
      const now = obs.now.toISOString();
      // Deadlines and analysis intervals start again: the pause is not the upgrade's fault.
      const waves = (status.waves ?? []).map((w) =>
        w.index === wave?.index && w.state === "Analysing" ? { ...w, lastCheckTime: now } : w,
      );
      const resumed: Status = {
        ...consume(status, action, obs.now, "resumed"),
        phase: status.resumePhase ?? "Progressing",
        resumePhase: undefined,
        waves,
        waitingSince: status.waitingSince !== undefined ? now : undefined,
      };
      return decision(status, resumed, obs, { reason: "Resumed", message: `resumed${by}`, requeueMs: 500 });
    }
    case "retry":
      if (phase === "Failed")
        return begin(spec, consume(status, action, obs.now, "restarted"), obs, `retry${by}`);
      return ignore(`only a failed upgrade can be retried (phase ${phase})`);
  }
}

/** The ControlPlaneUpgrade state machine. */
export function decideControlPlaneUpgrade(
  spec: Spec,
  status: Status,
  obs: ControlPlaneObservations,
): Decision<Status, ControlPlaneAction> {
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
  const phase = status.phase;
  const revisionsChanged = spec.from !== status.from || spec.to !== status.to;
  if (phase === undefined) return begin(spec, status, obs, `upgrade from ${spec.from} to ${spec.to}`);
  if (terminal(phase) && revisionsChanged) {
    return begin(spec, status, obs, `new upgrade from ${spec.from} to ${spec.to}`);
  }
  if (revisionsChanged && phase !== "RollingBack") {
    return startRollback(status, status, obs, {
      reason: "SpecChanged",
      message: `spec changed from ${status.from} -> ${status.to} to ${spec.from} -> ${spec.to} during the upgrade`,
    });
  }

  const pending =
    obs.manualAction && obs.manualAction.id !== status.lastAction?.id ? obs.manualAction : undefined;
  if (pending && phase !== "RollingBack") {
    const handled = handleManual(spec, status, obs, pending);
    if (!handled.actions.some((a) => a.type === "Event")) {
      handled.actions.push({
        type: "Event",
        eventType: "Normal",
        reason: "ManualAction",
        message: `${pending.action}: ${handled.status.lastAction?.result ?? handled.reason}; ${handled.reason}`,
      });
    }
    return handled;
  }

  const wave = status.waves?.at(-1);
  switch (phase) {
    case "Succeeded":
    case "Failed": {
      const ready = status.conditions?.find((c) => c.type === "Ready");
      return decision(status, status, obs, {
        reason: ready?.reason ?? phase,
        message: ready?.message ?? phase,
        ready: phase === "Succeeded",
      });
    }
    case "Paused":
      return decision(status, status, obs, {
        reason: "Paused",
        message: `paused at ${status.canaryWeight ?? 0}% of the namespaces; kubectl wren resume continues`,
      });
    case "WaitingForControlPlane":
      return waitForControlPlane(spec, status, status, obs);
    case "WaitingPromotion":
      return nextWave(spec, status, status, obs, `wave ${(wave?.index ?? -1) + 1} is gated`);
    case "RollingBack":
      return rollBack(spec, status, obs);
    case "Finalising":
      return finalise(spec, status, obs);
    case "Progressing": {
      if (wave === undefined || wave.state === "Succeeded") {
        return nextWave(spec, status, status, obs, "between waves", status.gateApproved === true);
      }
      if (wave.state === "Moving") return move(spec, status, wave, obs);
      if (wave.state === "Analysing") return analyse(spec, status, wave, obs);
      return startRollback(status, status, obs, {
        reason: "RollingBack",
        message: `wave ${wave.index} is ${wave.state}`,
      });
    }
  }
}
