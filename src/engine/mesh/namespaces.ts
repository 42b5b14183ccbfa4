// Namespaces as a ControlPlaneUpgrade sees them (their injection labels, whether
// its selector matches them) and relabelling them. Namespaces come from a
// cluster-wide informer: there are few of them, and their labels decide every wave.
import type { KubeConfig, V1Namespace } from "@kubernetes/client-node";
import {
  injectionLabel,
  type LabelSelector,
  optOutLabel,
  revisionLabel,
} from "../../api/control-plane-upgrade.ts";
import { mergePatch } from "../../kube/apply.ts";
import { KubeRequestError } from "../../kube/request.ts";
import type { NamespaceObservation } from "../../strategies/controlplane.ts";
import { WriteTracker } from "../write-tracker.ts";
import { matchesSelector } from "./label-selector.ts";

/** The namespaces the selector matches, plus `alsoNamed` (the ones a wave moved), with their injection labels. */
export function observeNamespaces(
  namespaces: readonly V1Namespace[],
  selector: LabelSelector,
  alsoNamed: ReadonlySet<string>,
): NamespaceObservation[] {
  const out: NamespaceObservation[] = [];
  for (const ns of namespaces) {
    const name = ns.metadata?.name ?? "";
    const labels = ns.metadata?.labels ?? {};
    const selected = matchesSelector(selector, labels);
    if (!selected && !alsoNamed.has(name)) continue;
    // A namespace being deleted gets no new pods: moving it is pointless and waiting on it would stall.
    if (ns.metadata?.deletionTimestamp !== undefined && !alsoNamed.has(name)) continue;
    out.push({
      name,
      selected,
      injection: labels[injectionLabel],
      revision: labels[revisionLabel],
      optOut: labels[optOutLabel],
    });
  }
  return out;
}

/**
 * Sets (string) or removes (null) labels of a namespace with a merge patch, once
 * until the informer shows a newer version of it (the cache lags our writes).
 */
export async function relabelNamespace(
  kc: KubeConfig,
  writes: WriteTracker,
  cached: V1Namespace | undefined,
  name: string,
  labels: Record<string, string | null>,
): Promise<void> {
  const target = { apiVersion: "v1", kind: "Namespace", metadata: { name } };
  const patch = { metadata: { labels } };
  const key = WriteTracker.key(target);
  if (writes.pending(key, patch, cached)) return;
  try {
    await mergePatch(kc, target, patch);
  } catch (error) {
    // Deleted meanwhile: there is nothing left to move (or to move back).
    if (error instanceof KubeRequestError && error.code === 404) return;
    throw error;
  }
  writes.wrote(key, patch, cached);
}
