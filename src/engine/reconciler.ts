// The observe -> decide -> act -> record loop, the same for every rollout kind.
// Status is recorded before acting: every decision re-derives the cluster's
// desired state from status, so a controller killed between the two converges
// on restart without repeating or losing a step.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { z } from "zod";
import { group, version } from "../api/common.ts";
import type { KindDefinition } from "../api/kind.ts";
import { isSubset } from "../kube/apply.ts";
import type { EventRecorder, InvolvedObject } from "../kube/events.ts";
import type { Informer } from "../kube/informer.ts";
import type { StatusClient } from "../kube/status.ts";
import { writeStatus } from "../kube/status.ts";
import type { WorkQueue } from "../kube/workqueue.ts";
import type { Logger } from "../observability/logger.ts";
import {
  analysisValue,
  analysisVerdicts,
  reconcileDuration,
  reconcileErrors,
  rolloutPhase,
  rolloutWeight,
} from "../observability/metrics.ts";
import type { Decision, EngineAction } from "../strategies/decision.ts";

/** A rollout object as the informer caches it. */
export interface RolloutObject<Status> extends KubernetesObject {
  spec?: unknown;
  status?: Status;
}

/** The status fields the reconciler itself reads and writes. */
export interface ReconciledStatus {
  phase?: string;
  canaryWeight?: number;
  /** The last analysis results, when the kind analyses metrics. */
  metrics?: { name: string; value?: number; verdict: string; time: string }[];
  observedGeneration?: number;
  conditions?: {
    type: string;
    status: string;
    reason: string;
    message: string;
    lastTransitionTime: string;
  }[];
}

/** What a kind plugs into the reconciler: its strategy and its observe/act adapters. */
export interface RolloutKind<
  Spec,
  Status extends ReconciledStatus,
  Observations,
  KindAction extends { type: string } = { type: string },
> {
  definition: KindDefinition;
  /** Gathers the facts the strategy needs (I/O). */
  observe(obj: RolloutObject<Status>, spec: Spec, status: Status, now: Date): Promise<Observations>;
  /** The pure strategy. */
  decide(spec: Spec, status: Status, observations: Observations): Decision<Status, KindAction>;
  /** Carries out the cluster-changing actions (I/O), idempotently, in order. */
  act(obj: RolloutObject<Status>, spec: Spec, actions: KindAction[]): Promise<void>;
}

export interface ReconcilerDeps {
  informer: Informer<KubernetesObject>;
  queue: WorkQueue;
  events: EventRecorder;
  statusClient: StatusClient;
  logger: Logger;
  /** Forwards Notify actions (chat, webhooks); never blocks. */
  notify?: (obj: KubernetesObject, severity: string, message: string, status?: unknown) => void;
  now?: () => Date;
}

/** `spec.analysis.stepWeights.2` style path of a zod issue. */
function fieldPath(path: readonly PropertyKey[]): string {
  return ["spec", ...path.map(String)].join(".");
}

export function involvedObject(obj: KubernetesObject): InvolvedObject {
  return {
    apiVersion: obj.apiVersion ?? `${group}/${version}`,
    kind: obj.kind ?? "",
    name: obj.metadata?.name ?? "",
    namespace: obj.metadata?.namespace ?? "",
    uid: obj.metadata?.uid,
  };
}

const engineActions = new Set(["Event", "Notify", "RequeueAfter"]);

function isEngineAction(action: { type: string }): action is EngineAction {
  return engineActions.has(action.type);
}

export class Reconciler<
  Spec,
  Status extends ReconciledStatus,
  Observations,
  KindAction extends { type: string } = { type: string },
> {
  readonly #kind: RolloutKind<Spec, Status, Observations, KindAction>;
  readonly #deps: ReconcilerDeps;
  readonly #now: () => Date;

  constructor(kind: RolloutKind<Spec, Status, Observations, KindAction>, deps: ReconcilerDeps) {
    this.#kind = kind;
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  /** Reconciles one object by key (`ns/name`). Errors propagate so the queue retries with backoff. */
  async reconcile(key: string): Promise<void> {
    const kindName = this.#kind.definition.kind;
    const obj = this.#deps.informer.getByKey(key) as RolloutObject<Status> | undefined;
    if (!obj) return;
    const stop = reconcileDuration.startTimer({ kind: kindName });
    try {
      await this.#reconcile(key, obj);
    } catch (error) {
      reconcileErrors.inc({ kind: kindName });
      throw error;
    } finally {
      stop();
    }
  }

  async #reconcile(key: string, current: RolloutObject<Status>): Promise<void> {
    let obj = current;
    const kind = this.#kind;
    const now = this.#now();
    const status = (obj.status ?? {}) as Status;
    const log = this.#deps.logger.child({ kind: kind.definition.kind, object: key });
    const parsed = (kind.definition.spec as z.ZodType<Spec>).safeParse(obj.spec);
    if (!parsed.success) {
      await this.#invalidSpec(obj, status, parsed.error, now, log);
      return;
    }
    const spec = parsed.data;
    const observations = await kind.observe(obj, spec, status, now);
    const decision = kind.decide(spec, status, observations);
    const next = decision.status;
    log.info(
      {
        phase: next.phase,
        previousPhase: status.phase,
        canaryWeight: next.canaryWeight,
        actions: decision.actions.filter((a) => a.type !== "Event" && a.type !== "Notify").map((a) => a.type),
        reason: decision.reason,
      },
      "decision",
    );
    if (!isSubset(next, status) || !isSubset(status, next)) {
      const written = await writeStatus(this.#deps.statusClient, {
        group,
        version,
        plural: kind.definition.plural,
        namespace: obj.metadata?.namespace ?? "",
        name: obj.metadata?.name ?? "",
        resourceVersion: obj.metadata?.resourceVersion ?? "",
        status: next,
      });
      if (!written.ok) {
        // Someone else changed the object: decide again from what they wrote, never overwrite it.
        log.debug("status conflict; reconciling again from the newer object");
        this.#deps.queue.addAfter(key, 100);
        return;
      }
      // Act on the object as it now is, so guarded writes (finalizers) see its current version.
      obj = { ...obj, metadata: { ...obj.metadata, resourceVersion: written.resourceVersion } };
    }
    this.#record(obj, status, next);
    // The reconciler carries out Events, notifications and requeues; the kind does the rest.
    await kind.act(
      obj,
      spec,
      decision.actions.filter((a): a is KindAction => !isEngineAction(a)),
    );
    for (const action of decision.actions.filter(isEngineAction)) {
      if (action.type === "Event") {
        await this.#deps.events.record(involvedObject(obj), action.eventType, action.reason, action.message);
      } else if (action.type === "Notify") {
        // The new status, not the cached object's: the message describes where the rollout is now.
        this.#deps.notify?.(obj, action.severity, action.message, next);
      } else if (action.type === "RequeueAfter") {
        this.#deps.queue.addAfter(key, action.ms);
      }
    }
  }

  #record(obj: KubernetesObject, previous: Status, status: Status): void {
    const labels = {
      kind: this.#kind.definition.kind,
      namespace: obj.metadata?.namespace ?? "",
      name: obj.metadata?.name ?? "",
    };
    if (previous.phase && previous.phase !== status.phase)
      rolloutPhase.set({ ...labels, phase: previous.phase }, 0);
    if (status.phase) rolloutPhase.set({ ...labels, phase: status.phase }, 1);
    rolloutWeight.set(labels, status.canaryWeight ?? 0);
    // Each analysis round once: a result is new when its time is.
    const seen = new Set((previous.metrics ?? []).map((m) => `${m.name}@${m.time}`));
    for (const m of status.metrics ?? []) {
      if (seen.has(`${m.name}@${m.time}`)) continue;
      if (m.value !== undefined) analysisValue.set({ ...labels, metric: m.name }, m.value);
      analysisVerdicts.inc({ ...labels, metric: m.name, verdict: m.verdict });
    }
  }

  async #invalidSpec(
    obj: RolloutObject<Status>,
    status: Status,
    error: z.ZodError,
    now: Date,
    log: Logger,
  ): Promise<void> {
    const message = error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`).join("; ");
    const previous = status.conditions?.find((c) => c.type === "Ready");
    log.warn({ phase: status.phase, reason: "InvalidSpec", message }, "decision");
    if (
      previous?.reason === "InvalidSpec" &&
      previous.message === message &&
      status.observedGeneration === obj.metadata?.generation
    ) {
      return;
    }
    const condition = {
      type: "Ready",
      status: "False",
      reason: "InvalidSpec",
      message,
      lastTransitionTime: now.toISOString(),
      observedGeneration: obj.metadata?.generation,
    };
    const next = {
      ...status,
      observedGeneration: obj.metadata?.generation,
      conditions: [...(status.conditions ?? []).filter((c) => c.type !== "Ready"), condition],
    };
    const written = await writeStatus(this.#deps.statusClient, {
      group,
      version,
      plural: this.#kind.definition.plural,
      namespace: obj.metadata?.namespace ?? "",
      name: obj.metadata?.name ?? "",
      resourceVersion: obj.metadata?.resourceVersion ?? "",
      status: next,
    });
    if (!written.ok) {
      this.#deps.queue.addAfter(`${obj.metadata?.namespace}/${obj.metadata?.name}`, 100);
      return;
    }
    await this.#deps.events.warning(involvedObject(obj), "InvalidSpec", message);
  }
}
