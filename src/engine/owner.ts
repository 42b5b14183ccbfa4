// The owner reference Wren puts on every object it generates for a rollout.
import type { KubernetesObject, V1OwnerReference } from "@kubernetes/client-node";

/** A controller owner reference to the rollout object, so deleting it garbage-collects what Wren made. */
export function ownerReference(owner: KubernetesObject): V1OwnerReference {
  return {
    apiVersion: owner.apiVersion ?? "",
    kind: owner.kind ?? "",
    name: owner.metadata?.name ?? "",
    uid: owner.metadata?.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * "Kind name" of the object that controls `live`, when that is not `owner`: another
 * rollout already manages what `owner` would write, and writing it would start a fight.
 */
export function otherController(
  live: KubernetesObject | undefined,
  owner: KubernetesObject,
): string | undefined {
  const ref = live?.metadata?.ownerReferences?.find((r) => r.controller === true);
  if (ref === undefined || ref.uid === owner.metadata?.uid) return undefined;
  return `${ref.kind} ${ref.name}`;
}
