// A rollout object as the API server returns it, and a lenient reading of the
// status fields every rollout kind shares. Lenient because the CLI may talk to a
// newer or older controller: a field it cannot read is shown as unknown, never an error.
import { z } from "zod";
import { actionAnnotation } from "../engine/manual-actions.ts";
import type { RolloutKind } from "./rollout-kinds.ts";

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  creationTimestamp?: string;
  generation?: number;
  resourceVersion?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

/** A Wren rollout object (any kind), as JSON from the API server. */
export interface RolloutObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: unknown;
  status?: unknown;
}

/** A rollout object together with the kind it was read as. */
export interface FoundRollout {
  kind: RolloutKind;
  object: RolloutObject;
}

const str = z.string().optional().catch(undefined);
const num = z.number().optional().catch(undefined);

const LooseCondition = z.object({
  type: z.string(),
  status: z.string().catch("Unknown"),
  reason: z.string().catch(""),
  message: z.string().catch(""),
  lastTransitionTime: str,
});

const LooseMetric = z.object({
  name: z.string(),
  value: num,
  primaryValue: num,
  thresholdRange: z.object({ min: num, max: num }).optional().catch(undefined),
  verdict: str,
  message: str,
  time: str,
});

const LooseAction = z.object({
  id: z.string(),
  action: z.string().catch("?"),
  requestedBy: str,
  requestedAt: str,
  consumedAt: str,
  result: str,
});

/** Status fields the CLI reads, whatever the kind; each is undefined when absent or malformed. */
export const LooseStatus = z.object({
  phase: str,
  observedGeneration: num,
  canaryWeight: num,
  failedChecks: num,
  unavailableChecks: num,
  iterations: num,
  stepIndex: num,
  lastAppliedSpec: str,
  lastPromotedSpec: str,
  lastTransitionTime: str,
  lastStepTime: str,
  waitingSince: str,
  resumePhase: str,
  conditions: z.array(LooseCondition).optional().catch(undefined),
  metrics: z.array(LooseMetric).optional().catch(undefined),
  lastAction: LooseAction.optional().catch(undefined),
});

export type LooseCondition = z.infer<typeof LooseCondition>;
export type LooseMetric = z.infer<typeof LooseMetric>;
export type LooseAction = z.infer<typeof LooseAction>;
export type LooseStatus = z.infer<typeof LooseStatus>;

/** Reads a rollout's status leniently; a missing or unreadable status reads as empty. */
export function readStatus(object: RolloutObject): LooseStatus {
  const parsed = LooseStatus.safeParse(object.status ?? {});
  return parsed.success ? parsed.data : LooseStatus.parse({});
}

/** A manual action asked for through the annotation, as the CLI reads it back. */
export interface RequestedAction {
  id: string;
  action: string;
  requestedBy?: string;
  requestedAt?: string;
}

const RequestedAction = z.object({
  id: z.string(),
  action: z.string(),
  requestedBy: str,
  requestedAt: str,
});

/** The action requested on the object that the controller has not consumed yet, if any. */
export function pendingAction(object: RolloutObject): RequestedAction | undefined {
  const raw = object.metadata?.annotations?.[actionAnnotation];
  if (raw === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const parsed = RequestedAction.safeParse(json);
  if (!parsed.success) return undefined;
  return parsed.data.id === readStatus(object).lastAction?.id ? undefined : parsed.data;
}

/** namespace/name of an object, for messages. */
export function objectKey(object: RolloutObject): string {
  return `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
}
