// The vocabulary every strategy decides in: what it observed, what it wants done.
// Strategies are pure: they get observations and return a status and actions;
// the engine does the I/O (ARCHITECTURE.md).
import type { Severity, WebhookType } from "../api/common.ts";

/** Traffic split between the stable version and the new one, in percent. */
export interface Weights {
  primary: number;
  canary: number;
}

/** How a Deployment looks right now. */
export interface WorkloadObservation {
  exists: boolean;
  /** Hash of the pod template (for the primary: of the target template it was copied from). */
  templateHash?: string;
  /** spec.replicas. */
  replicas: number;
  readyReplicas: number;
  /** True when the latest template is fully rolled out and every replica is ready. */
  ready: boolean;
}

/** Outcome of one metric check this interval. */
export interface CheckResult {
  name: string;
  verdict: "Pass" | "Fail" | "Unavailable";
  value?: number;
  primaryValue?: number;
  thresholdRange?: { min?: number; max?: number };
  message?: string;
}

/** Answer of one webhook call. */
export interface WebhookResult {
  name: string;
  type: WebhookType;
  /** 2xx answer. */
  ok: boolean;
  message?: string;
}

/** A manual action a person asked for (kubectl wren), not yet consumed. */
export interface ManualAction {
  id: string;
  action: ManualActionName;
  requestedBy?: string;
  requestedAt?: string;
}
export type ManualActionName = "promote" | "promote-full" | "abort" | "pause" | "resume" | "retry";

/** Desired routing: the weights, and whether A/B match routes and mirroring are on. */
export interface Routing {
  weights: Weights;
  /** A/B testing: requests matching analysis.match go to the canary. */
  match: boolean;
  /** Percent of traffic mirrored to the canary; 0 for none. */
  mirrorWeight: number;
}

/** Actions the reconciler itself carries out, whatever the kind. */
export type EngineAction =
  | { type: "Event"; eventType: "Normal" | "Warning"; reason: string; message: string }
  | { type: "Notify"; severity: Severity; message: string }
  /** Reconcile again after this many milliseconds (timers are level-triggered, never trusted alone). */
  | { type: "RequeueAfter"; ms: number };

/** The Canary kind's cluster-changing actions, carried out by its adapters. */
export type CanaryAction =
  /** Create or update the primary Deployment from the target's current pod template. */
  | { type: "PromoteSpec"; replicas: number }
  /** Converge Services, DestinationRules and the VirtualService to this routing (write only on change). */
  | { type: "SetRouting"; routing: Routing }
  /** Scale the target Deployment, which runs the canary. */
  | { type: "ScaleTarget"; replicas: number }
  /** Add or remove Wren's finalizer on the rollout object (revertOnDeletion). */
  | { type: "SetFinalizer"; present: boolean }
  /** Point the apex Service at the target's pods and stop owning it, so it outlives the rollout. */
  | { type: "ReleaseApexService" }
  /**
   * Call the informational webhooks of a type (post-rollout, event), without waiting on them;
   * `phase` and `canaryWeight` are the decided status's, not the one the decision started from.
   */
  | { type: "CallWebhooks"; webhookType: WebhookType; phase: string; canaryWeight: number; message: string };

/** Everything a Canary decision may ask for. */
export type Action = CanaryAction | EngineAction;

/** What a strategy returns: the next status and the actions that get the cluster there. */
export interface Decision<Status, KindAction extends { type: string } = CanaryAction> {
  status: Status;
  actions: (KindAction | EngineAction)[];
  /** One line saying why, for the decision log. */
  reason: string;
}
