// Writes Wren makes to objects other than its own status: server-side apply for
// objects it owns, merge patches for the few fields it sets on the user's objects.
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { kubernetesWrites } from "../observability/metrics.ts";
import { resourcePath } from "./informer.ts";
import { kubeRequest } from "./request.ts";

/** The field manager of every write Wren makes. */
export const fieldManager = "wren";

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
}

/** The REST resource of an object, from its apiVersion and kind. */
export function resourceOf(obj: KubernetesObject): ResourceType {
  const apiVersion = obj.apiVersion ?? "";
  const [group, version] = apiVersion.includes("/")
    ? (apiVersion.split("/") as [string, string])
    : ["", apiVersion];
  const kind = (obj.kind ?? "").toLowerCase();
  const plural = kind.endsWith("y") ? `${kind.slice(0, -1)}ies` : `${kind}s`;
  return { group, version, plural };
}

function objectPath(obj: KubernetesObject): string {
  return `${resourcePath(resourceOf(obj), obj.metadata?.namespace)}/${obj.metadata?.name ?? ""}`;
}

/** Server-side apply of an object Wren owns (field manager `wren`, forcing ownership of its fields). */
export async function serverSideApply<T extends KubernetesObject>(kc: KubeConfig, obj: T): Promise<T> {
  kubernetesWrites.inc({ resource: resourceOf(obj).plural, verb: "apply" });
  return kubeRequest<T>(kc, {
    method: "PATCH",
    path: `${objectPath(obj)}?fieldManager=${fieldManager}&force=true`,
    body: obj,
    contentType: "application/apply-patch+yaml",
  });
}

/**
 * JSON merge patch of part of an object. With `resourceVersion` set the patch
 * only applies to that version (a 409 otherwise), for read-modify-write edits.
 */
export async function mergePatch<T extends KubernetesObject>(
  kc: KubeConfig,
  target: KubernetesObject,
  patch: Record<string, unknown>,
): Promise<T> {
  kubernetesWrites.inc({ resource: resourceOf(target).plural, verb: "patch" });
  return kubeRequest<T>(kc, {
    method: "PATCH",
    path: `${objectPath(target)}?fieldManager=${fieldManager}`,
    body: patch,
    contentType: "application/merge-patch+json",
  });
}

/** True when every field of `want` has the same value in `have` (extra fields in `have` are fine). */
export function isSubset(want: unknown, have: unknown): boolean {
  if (Array.isArray(want)) {
    return Array.isArray(have) && want.length === have.length && want.every((w, i) => isSubset(w, have[i]));
  }
  if (want !== null && typeof want === "object") {
    if (have === null || typeof have !== "object" || Array.isArray(have)) return false;
    return Object.entries(want).every(
      ([k, v]) => v === undefined || isSubset(v, (have as Record<string, unknown>)[k]),
    );
  }
  return want === have;
}
