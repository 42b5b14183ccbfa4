// The colour Deployments of a BlueGreen: copies of the target's pod template under
// labels that select one colour only. Pure builders; the adapters diff and write.
import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import type { Colour } from "../../api/bluegreen.ts";
import { ownerReference } from "../owner.ts";
import { sourceRevisionAnnotation, templateHash } from "./deployments.ts";

/** Label on every colour Deployment and its pods, naming the colour. */
export const colourLabel = "wren.dev/colour";

/** Name of a colour's Deployment for a target: `<target>-blue`, `<target>-green`. */
export function colourName(target: string, colour: Colour): string {
  return `${target}-${colour}`;
}

/**
 * The target's labels for one colour: selector labels' values suffixed with the
 * colour (as the Canary's primary does with `-primary`), so neither the target's
 * selector nor the other colour's selects these pods, plus the colour label.
 */
export function colourLabels(
  labels: Record<string, string>,
  selectorKeys: string[],
  colour: Colour,
): Record<string, string> {
  const suffixed = Object.entries(labels).map(([k, v]) => [
    k,
    selectorKeys.includes(k) ? `${v}-${colour}` : v,
  ]);
  return { ...Object.fromEntries(suffixed), [colourLabel]: colour };
}

/** The labels a colour's pods carry on their selector keys: what its Services select. */
export function colourSelector(target: V1Deployment, colour: Colour): Record<string, string> {
  const selector = target.spec?.selector.matchLabels ?? {};
  return colourLabels(selector, Object.keys(selector), colour);
}

/** A colour's Deployment: the target's pod template at `replicas`, owned by the rollout. */
export function colourDeployment(
  target: V1Deployment,
  owner: KubernetesObject,
  colour: Colour,
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
      name: colourName(name, colour),
      namespace: target.metadata?.namespace,
      labels: colourLabels(target.metadata?.labels ?? selector, keys, colour),
      annotations: { [sourceRevisionAnnotation]: templateHash(target) },
      ownerReferences: [ownerReference(owner)],
    },
    spec: {
      replicas,
      selector: { matchLabels: colourSelector(target, colour) },
      strategy: target.spec?.strategy,
      minReadySeconds: target.spec?.minReadySeconds,
      revisionHistoryLimit: target.spec?.revisionHistoryLimit,
      progressDeadlineSeconds: target.spec?.progressDeadlineSeconds,
      template: {
        ...template,
        metadata: {
          ...template.metadata,
          labels: colourLabels(template.metadata?.labels ?? {}, keys, colour),
        },
      },
    },
  };
}
