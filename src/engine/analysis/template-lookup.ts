// MetricTemplates as the analysis reads them: from the informer cache, through their schema.
import type { KubernetesObject } from "@kubernetes/client-node";
import { MetricTemplateSpec } from "../../api/metric-template.ts";
import type { Informer } from "../../kube/informer.ts";

/**
 * A MetricTemplate's spec, or undefined when there is no such template. An invalid
 * one throws a message naming the field, which the analysis reports as the check's
 * Unavailable reason.
 */
export function templateLookup(
  templates: Informer<KubernetesObject & { spec?: MetricTemplateSpec }>,
): (namespace: string, name: string) => MetricTemplateSpec | undefined {
  return (namespace, name) => {
    const template = templates.get(namespace, name);
    if (!template) return undefined;
    const parsed = MetricTemplateSpec.safeParse(template.spec);
    if (parsed.success) return parsed.data;
    const issues = parsed.error.issues.map((i) => `spec.${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`MetricTemplate ${namespace}/${name} is invalid: ${issues}`);
  };
}
