// The Deployments of the namespaces a wave moves, and the revision of each of
// their pods; restarting them as `kubectl rollout restart` does. Listed from the
// API server on demand, one namespace at a time, only while a wave waits on them
// (docs/adr/0007): the controller never caches every pod of the cluster.
import type { KubeConfig, KubernetesListObject, V1Deployment, V1Pod } from "@kubernetes/client-node";
import {
  type LabelSelector,
  podRevisionAnnotation,
  restartedAtAnnotation,
  revisionLabel,
} from "../../api/control-plane-upgrade.ts";
import { mergePatch } from "../../kube/apply.ts";
import { KubeRequestError, kubeRequest } from "../../kube/request.ts";
import type { MeshWorkload } from "../../strategies/controlplane.ts";
import { mapLimit } from "./concurrency.ts";
import { matchesSelector, selectorString } from "./label-selector.ts";

/** Namespaces listed at once while observing a wave. */
const parallelReads = 8;
/** Deployments patched at once while restarting a wave. */
const parallelWrites = 8;
const injectLabel = "sidecar.istio.io/inject";

/** True when the latest pod template is fully rolled out: no old pods, every replica updated and ready. */
export function rolledOut(d: V1Deployment): boolean {
  const replicas = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (s.updatedReplicas ?? 0) === replicas &&
    (s.readyReplicas ?? 0) === replicas &&
    (s.replicas ?? 0) === replicas
  );
}

/** A Deployment and the revisions of its live pods, as the strategy reads them. */
export function summarise(d: V1Deployment, pods: readonly V1Pod[], gateways?: LabelSelector): MeshWorkload {
  const template = d.spec?.template?.metadata ?? {};
  const optedOut = (template.labels?.[injectLabel] ?? template.annotations?.[injectLabel]) === "false";
  const selector = d.spec?.selector ?? {};
  const own = pods.filter(
    (p) =>
      p.metadata?.deletionTimestamp === undefined &&
      matchesSelector(
        {
          matchLabels: selector.matchLabels,
          matchExpressions: selector.matchExpressions as LabelSelector["matchExpressions"],
        },
        p.metadata?.labels,
      ),
  );
  return {
    namespace: d.metadata?.namespace ?? "",
    name: d.metadata?.name ?? "",
    gateway: gateways !== undefined && matchesSelector(gateways, d.metadata?.labels),
    injectable: !optedOut,
    restartedAt: template.annotations?.[restartedAtAnnotation],
    revisionLabel: template.labels?.[revisionLabel],
    rolledOut: rolledOut(d),
    podRevisions: own.map((p) => p.metadata?.annotations?.[podRevisionAnnotation] ?? ""),
  };
}

async function list<T>(kc: KubeConfig, path: string): Promise<T[]> {
  return (await kubeRequest<KubernetesListObject<T & object>>(kc, { method: "GET", path })).items as T[];
}

/** Every Deployment of each namespace with its pods' revisions: two reads per namespace. */
export async function listWorkloads(
  kc: KubeConfig,
  namespaces: readonly string[],
  gateways?: LabelSelector,
): Promise<MeshWorkload[]> {
  const perNamespace = await mapLimit(namespaces, parallelReads, async (ns) => {
    const [deployments, pods] = await Promise.all([
      list<V1Deployment>(kc, `/apis/apps/v1/namespaces/${ns}/deployments`),
      list<V1Pod>(kc, `/api/v1/namespaces/${ns}/pods`),
    ]);
    return deployments.map((d) => summarise(d, pods, gateways));
  });
  return perNamespace.flat();
}

/** The gateway Deployments anywhere in the cluster (one labelled list), with their pods' revisions. */
export async function listGateways(kc: KubeConfig, selector: LabelSelector): Promise<MeshWorkload[]> {
  const query = new URLSearchParams({ labelSelector: selectorString(selector) });
  const deployments = await list<V1Deployment>(kc, `/apis/apps/v1/deployments?${query}`);
  return mapLimit(deployments, parallelReads, async (d) => {
    const podQuery = new URLSearchParams({
      labelSelector: selectorString({
        matchLabels: d.spec?.selector.matchLabels,
        matchExpressions: d.spec?.selector.matchExpressions as LabelSelector["matchExpressions"],
      }),
    });
    const pods = await list<V1Pod>(kc, `/api/v1/namespaces/${d.metadata?.namespace}/pods?${podQuery}`);
    return summarise(d, pods, selector);
  });
}

/**
 * Restarts Deployments by setting the pod template's restartedAt annotation (and,
 * for gateways chosen by their pod label, the istio.io/rev label): the only
 * fields Wren writes on Deployments it does not own.
 */
export async function restartWorkloads(
  kc: KubeConfig,
  restartedAt: string,
  workloads: readonly { namespace: string; name: string; revisionLabel?: string }[],
): Promise<void> {
  await mapLimit(workloads, parallelWrites, async (w) => {
    const metadata: Record<string, unknown> = { annotations: { [restartedAtAnnotation]: restartedAt } };
    if (w.revisionLabel !== undefined) metadata.labels = { [revisionLabel]: w.revisionLabel };
    try {
      await mergePatch(
        kc,
        { apiVersion: "apps/v1", kind: "Deployment", metadata: { namespace: w.namespace, name: w.name } },
        { spec: { template: { metadata } } },
      );
    } catch (error) {
      // Deleted meanwhile: nothing to restart.
      if (error instanceof KubeRequestError && error.code === 404) return;
      throw error;
    }
  });
}
