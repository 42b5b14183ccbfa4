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

/** An object a rollout would write, as "Kind namespace/name", and its live copy if any. */
export type Written = [what: string, live: KubernetesObject | undefined];

/**
 * Why `owner` must not write: the first of `written` that another rollout controls,
 * named with its controller. Writing it would start a fight, each undoing the other.
 */
export function managedElsewhere(written: readonly Written[], owner: KubernetesObject): string | undefined {
  for (const [what, live] of written) {
    const ref = live?.metadata?.ownerReferences?.find((r) => r.controller === true);
    if (ref !== undefined && ref.uid !== owner.metadata?.uid) {
      return `spec.targetRef.name: ${what} is managed by ${ref.kind} ${ref.name}; one rollout per Deployment`;
    }
  }
  return undefined;
}
