// Deployments: observing readiness and revision, copying the target to the
// primary, scaling the target (the canary). The only Deployment writes Wren makes.
import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import type { WorkloadObservation } from "../../strategies/decision.ts";
import { contentHash } from "../hash.ts";
import { ownerReference } from "../owner.ts";

/** Annotation on the primary: hash of the target pod template it was copied from. */
export const sourceRevisionAnnotation = "wren.dev/source-revision";

/** Hash of a Deployment's pod template: the revision Wren releases. */
export function templateHash(d: V1Deployment): string {
  return contentHash(d.spec?.template ?? {});
}

/** Readiness and revision of a Deployment (the primary's revision is the target revision it copies). */
export function observeDeployment(d: V1Deployment | undefined, isPrimary = false): WorkloadObservation {
  if (!d) return { exists: false, replicas: 0, readyReplicas: 0, ready: false };
  const replicas = d.spec?.replicas ?? 1;
  const status = d.status ?? {};
  const current = (status.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  const ready =
    replicas > 0 &&
    current &&
    (status.updatedReplicas ?? 0) >= replicas &&
    (status.readyReplicas ?? 0) >= replicas &&
    (status.replicas ?? 0) === replicas;
  return {
    exists: true,
    templateHash: isPrimary ? d.metadata?.annotations?.[sourceRevisionAnnotation] : templateHash(d),
    replicas,
    readyReplicas: status.readyReplicas ?? 0,
    ready,
  };
}

/** Name of the primary Deployment for a target. */
export function primaryName(target: string): string {
  return `${target}-primary`;
}

/** The target's selector labels, rewritten to select only the primary's pods. */
export function primaryLabels(
  labels: Record<string, string>,
  selectorKeys: string[],
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(labels).map(([k, v]) => [k, selectorKeys.includes(k) ? `${v}-primary` : v]),
  );
}

/** The primary Deployment: the target's pod template under primary labels, owned by the rollout. */
export function primaryDeployment(
  target: V1Deployment,
  owner: KubernetesObject,
  replicas: number,
): V1Deployment {
  const name = target.metadata?.name ?? "";
  const selector = target.spec?.selector.matchLabels ?? {};
  const keys = Object.keys(selector);
  const template = target.spec?.template ?? {};
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: primaryName(name),
      namespace: target.metadata?.namespace,
      labels: primaryLabels(target.metadata?.labels ?? selector, keys),
      annotations: { [sourceRevisionAnnotation]: templateHash(target) },
      ownerReferences: [ownerReference(owner)],
    },
    spec: {
      replicas,
      selector: { matchLabels: primaryLabels(selector, keys) },
      strategy: target.spec?.strategy,
      minReadySeconds: target.spec?.minReadySeconds,
      revisionHistoryLimit: target.spec?.revisionHistoryLimit,
      progressDeadlineSeconds: target.spec?.progressDeadlineSeconds,
      template: {
        ...template,
        metadata: {
          ...template.metadata,
          labels: primaryLabels(template.metadata?.labels ?? {}, keys),
        },
      },
    },
  };
}
