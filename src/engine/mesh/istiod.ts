// The istiod Deployment of a revision: Istio names it istiod-<revision> in the
// Istio namespace. Read on demand (one GET) while the upgrade decides whether a
// wave may start.
import type { KubeConfig, V1Deployment } from "@kubernetes/client-node";
import { KubeRequestError, kubeRequest } from "../../kube/request.ts";
import type { IstiodObservation } from "../../strategies/controlplane.ts";
import { rolledOut } from "./workloads.ts";

/** Name of the istiod Deployment (and Service) of a revision. */
export function istiodName(revision: string): string {
  return `istiod-${revision}`;
}

/** Whether istiod-<revision> exists and every replica is ready. */
export async function observeIstiod(
  kc: KubeConfig,
  istioNamespace: string,
  revision: string,
): Promise<IstiodObservation> {
  const name = istiodName(revision);
  const where = `${name} in ${istioNamespace}`;
  let d: V1Deployment;
  try {
    d = await kubeRequest<V1Deployment>(kc, {
      method: "GET",
      path: `/apis/apps/v1/namespaces/${istioNamespace}/deployments/${name}`,
    });
  } catch (error) {
    if (error instanceof KubeRequestError && error.code === 404) {
      return { exists: false, ready: false, message: `Deployment ${where} not found` };
    }
    throw error;
  }
  const replicas = d.spec?.replicas ?? 1;
  const ready = d.status?.readyReplicas ?? 0;
  return {
    exists: true,
    ready: replicas > 0 && rolledOut(d),
    message: `Deployment ${where}: ${ready} of ${replicas} replicas ready`,
  };
}
