// Writing a rollout's status: the controller's only memory, so never a blind overwrite.
import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { kubernetesWrites } from "../observability/metrics.ts";
import { isConflict } from "./errors.ts";

/** The part of CustomObjectsApi status writes use. */
export type StatusClient = Pick<CustomObjectsApi, "patchNamespacedCustomObjectStatus">;

export interface StatusWrite {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
  /** The resourceVersion the new status was computed from. */
  resourceVersion: string;
  status: unknown;
}

export type StatusWriteResult = { ok: true; resourceVersion: string } | { ok: false; conflict: true };

/** A status client for a kubeconfig. */
export function statusClient(kubeConfig: KubeConfig): StatusClient {
  return kubeConfig.makeApiClient(CustomObjectsApi);
}

/**
 * Replaces the status subresource if the object is still at `resourceVersion`;
 * `{ ok: false, conflict: true }` when it has changed since (re-read and re-run). Other errors throw.
 */
export async function writeStatus(client: StatusClient, write: StatusWrite): Promise<StatusWriteResult> {
  if (write.resourceVersion === "")
    throw new Error("writeStatus needs the resourceVersion the status was computed from");
  kubernetesWrites.inc({ resource: `${write.plural}/status`, verb: "patch" });
  // A JSON patch replaces the whole status (a merge patch would keep fields the new
  // status dropped), and setting metadata.resourceVersion makes the API server
  // reject the write with 409 if the object moved on: an optimistic lock.
  const patch = [
    { op: "replace", path: "/metadata/resourceVersion", value: write.resourceVersion },
    { op: "add", path: "/status", value: write.status },
  ];
  try {
    const updated = (await client.patchNamespacedCustomObjectStatus(
      {
        group: write.group,
        version: write.version,
        namespace: write.namespace,
        plural: write.plural,
        name: write.name,
        body: patch,
        fieldManager: "wren",
      },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    )) as { metadata?: { resourceVersion?: string } };
    return { ok: true, resourceVersion: updated.metadata?.resourceVersion ?? "" };
  } catch (error) {
    if (isConflict(error)) return { ok: false, conflict: true };
    throw error;
  }
}
