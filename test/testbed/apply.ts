// Server-side apply of manifests to the testbed, through the real API server.
import { readFileSync } from "node:fs";
import { ApiextensionsV1Api, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { kubeRequest } from "../../src/kube/request.ts";
import { waitUntil } from "./processes.ts";

/** Every object in a multi-document YAML (or JSON) file. */
export function readManifests(file: string): KubernetesObject[] {
  return parseAllDocuments(readFileSync(file, "utf8"))
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((obj): obj is KubernetesObject => obj !== null && typeof obj === "object" && "kind" in obj);
}

/** REST path of a named object, for the kinds the testbed applies. */
function objectPath(obj: KubernetesObject): string {
  const name = obj.metadata?.name ?? "";
  const [group, version] = (obj.apiVersion ?? "").includes("/")
    ? (obj.apiVersion ?? "").split("/")
    : ["", obj.apiVersion];
  const kind = (obj.kind ?? "").toLowerCase();
  const plural = kind.endsWith("y") ? `${kind.slice(0, -1)}ies` : `${kind}s`;
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const ns = obj.metadata?.namespace ? `/namespaces/${obj.metadata.namespace}` : "";
  return `${base}${ns}/${plural}/${name}`;
}

/**
 * Applies objects with server-side apply (field manager `wren-testbed`), forcing
 * ownership. Raw JSON, so CRD schema extensions reach the server intact.
 */
export async function applyObjects(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  for (const obj of objects) {
    await kubeRequest(kc, {
      method: "PATCH",
      path: `${objectPath(obj)}?fieldManager=wren-testbed&force=true`,
      body: obj,
      contentType: "application/apply-patch+yaml",
    });
  }
}

/** Waits until each named CRD reports Established. */
export async function waitForCrds(kc: KubeConfig, names: string[]): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  for (const name of names) {
    await waitUntil(`CRD ${name} Established`, 30_000, async () => {
      const crd = await api.readCustomResourceDefinition({ name });
      return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;
    });
  }
}
