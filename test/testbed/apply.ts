// Server-side apply of manifests to the testbed, through the real API server.
import { readFileSync } from "node:fs";
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { waitUntil } from "./processes.ts";

/** Every object in a multi-document YAML (or JSON) file. */
export function readManifests(file: string): KubernetesObject[] {
  return parseAllDocuments(readFileSync(file, "utf8"))
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((obj): obj is KubernetesObject => obj !== null && typeof obj === "object" && "kind" in obj);
}

/** Applies objects with server-side apply (field manager `wren-testbed`), forcing ownership. */
export async function applyObjects(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  for (const obj of objects) {
    await client.patch(obj, undefined, undefined, "wren-testbed", true, PatchStrategy.ServerSideApply);
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
