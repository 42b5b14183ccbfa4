// An informer for any resource, core or custom, listing raw JSON (the shape the
// watch delivers), so every cache holds the same plain objects.
import type { KubeConfig, KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import { Informer, type InformerOptions, type ResourceRef, resourcePath } from "./informer.ts";
import { kubeRequest } from "./request.ts";

/** An informer over `resource`, cluster-wide or in one namespace. */
export function resourceInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  resource: ResourceRef,
  options: Omit<InformerOptions<T>, "path" | "list" | "watch"> & { namespace?: string } = {},
): Informer<T> {
  const { namespace, ...rest } = options;
  const path = resourcePath(resource, namespace);
  return new Informer<T>({
    ...rest,
    path,
    watch: kc,
    list: async ({ labelSelector, fieldSelector }) => {
      const query = new URLSearchParams();
      if (labelSelector) query.set("labelSelector", labelSelector);
      if (fieldSelector) query.set("fieldSelector", fieldSelector);
      const suffix = query.size > 0 ? `?${query}` : "";
      return kubeRequest<KubernetesListObject<T>>(kc, { method: "GET", path: `${path}${suffix}` });
    },
  });
}
