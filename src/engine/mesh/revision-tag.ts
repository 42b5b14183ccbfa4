// Istio revision tags: a MutatingWebhookConfiguration istio-revision-tag-<tag>
// whose webhooks call the istiod of one revision. Moving a tag points every
// webhook at istiod-<revision> and relabels the configuration, as
// `istioctl tag set <tag> --revision <revision> --overwrite` does; nothing else changes.
import type { KubeConfig, V1MutatingWebhookConfiguration } from "@kubernetes/client-node";
import { revisionLabel } from "../../api/control-plane-upgrade.ts";
import { mergePatch } from "../../kube/apply.ts";
import { KubeRequestError, kubeRequest } from "../../kube/request.ts";
import type { TagObservation } from "../../strategies/controlplane.ts";
import { istiodName } from "./istiod.ts";

/** Name of the MutatingWebhookConfiguration of a revision tag. */
export function tagWebhookName(tag: string): string {
  return `istio-revision-tag-${tag}`;
}

const path = (tag: string) =>
  `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${tagWebhookName(tag)}`;

async function read(kc: KubeConfig, tag: string): Promise<V1MutatingWebhookConfiguration | undefined> {
  try {
    return await kubeRequest<V1MutatingWebhookConfiguration>(kc, { method: "GET", path: path(tag) });
  } catch (error) {
    if (error instanceof KubeRequestError && error.code === 404) return undefined;
    throw error;
  }
}

/** Whether the tag exists, its revision label, and the Services its webhooks call. */
export async function observeRevisionTag(kc: KubeConfig, tag: string): Promise<TagObservation> {
  const mwc = await read(kc, tag);
  if (!mwc) return { exists: false, services: [] };
  const webhooks = mwc.webhooks ?? [];
  const services = webhooks.flatMap((w) => (w.clientConfig.service ? [w.clientConfig.service.name] : []));
  return {
    exists: true,
    revision: mwc.metadata?.labels?.[revisionLabel],
    services: [...new Set(services)],
    urlWebhooks: webhooks.filter((w) => w.clientConfig.service === undefined).map((w) => w.name),
  };
}

/**
 * Points every webhook of the tag at istiod-<revision>. A merge patch replaces the
 * webhooks list whole, so it is sent with the resourceVersion it was computed from:
 * a concurrent edit makes it fail (409) and the next reconcile computes it again.
 */
export async function moveRevisionTag(kc: KubeConfig, tag: string, revision: string): Promise<void> {
  const mwc = await read(kc, tag);
  if (!mwc) throw new Error(`MutatingWebhookConfiguration ${tagWebhookName(tag)} not found`);
  const service = istiodName(revision);
  const urlOnly = (mwc.webhooks ?? []).filter((w) => w.clientConfig.service === undefined).map((w) => w.name);
  if (urlOnly.length > 0) {
    throw new Error(
      `${tagWebhookName(tag)}: webhooks ${urlOnly.join(", ")} call a URL, not an istiod Service; move them by hand`,
    );
  }
  const webhooks = (mwc.webhooks ?? []).map((w) => ({
    ...w,
    clientConfig: { ...w.clientConfig, service: { ...w.clientConfig.service, name: service } },
  }));
  await mergePatch(kc, mwc, {
    metadata: { resourceVersion: mwc.metadata?.resourceVersion, labels: { [revisionLabel]: revision } },
    webhooks,
  });
}
