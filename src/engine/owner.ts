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
