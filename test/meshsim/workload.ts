// Workload identity as Istio's telemetry derives it from a pod: the values of
// the *_workload, *_canonical_service, *_canonical_revision, *_app, *_version and
// *_principal labels of istio_requests_total.

import type { Labels, PodInfo } from "./model.ts";

export const UNKNOWN = "unknown";

/**
 * The Deployment name for a ReplicaSet-owned pod (the ReplicaSet name without its
 * `-<pod-template-hash>`), the owner's name for other controllers, else the `app`
 * label, else the pod name.
 */
export function workloadName(pod: PodInfo): string {
  const owner = pod.owners[0];
  if (owner) {
    if (owner.kind === "ReplicaSet") {
      const hash = pod.labels["pod-template-hash"];
      if (hash && owner.name.endsWith(`-${hash}`)) return owner.name.slice(0, -(hash.length + 1));
      const dash = owner.name.lastIndexOf("-");
      return dash > 0 ? owner.name.slice(0, dash) : owner.name;
    }
    return owner.name;
  }
  return pod.labels.app ?? pod.name;
}

/** Istio: `service.istio.io/canonical-name`, else `app.kubernetes.io/name`, else `app`, else the workload. */
export function canonicalService(labels: Labels, workload: string): string {
  return (
    labels["service.istio.io/canonical-name"] ?? labels["app.kubernetes.io/name"] ?? labels.app ?? workload
  );
}

/** Istio: `service.istio.io/canonical-revision`, else `app.kubernetes.io/version`, else `version`, else "latest". */
export function canonicalRevision(labels: Labels): string {
  return (
    labels["service.istio.io/canonical-revision"] ??
    labels["app.kubernetes.io/version"] ??
    labels.version ??
    "latest"
  );
}

export function spiffePrincipal(namespace: string, serviceAccount: string): string {
  return `spiffe://cluster.local/ns/${namespace}/sa/${serviceAccount}`;
}

/** The peer labels Istio's stats filter reports for one side of a request. */
export interface PeerIdentity {
  readonly workload: string;
  readonly namespace: string;
  readonly canonicalService: string;
  readonly canonicalRevision: string;
  readonly app: string;
  readonly version: string;
  readonly principal: string;
}

export function peerIdentity(
  workload: string,
  namespace: string,
  labels: Labels,
  serviceAccount: string,
): PeerIdentity {
  return {
    workload,
    namespace,
    canonicalService: canonicalService(labels, workload),
    canonicalRevision: canonicalRevision(labels),
    app: labels.app ?? UNKNOWN,
    version: labels.version ?? UNKNOWN,
    principal: spiffePrincipal(namespace, serviceAccount),
  };
}

/** The peer of a request that never reached a workload (no route, no healthy upstream). */
export const UNKNOWN_PEER: PeerIdentity = {
  workload: UNKNOWN,
  namespace: UNKNOWN,
  canonicalService: UNKNOWN,
  canonicalRevision: UNKNOWN,
  app: UNKNOWN,
  version: UNKNOWN,
  principal: UNKNOWN,
};

/** The pod is an endpoint: Ready and not terminating. */
export function isServing(pod: PodInfo): boolean {
  return pod.ready && !pod.deleting;
}
