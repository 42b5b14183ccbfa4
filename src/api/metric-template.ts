// The MetricTemplate kind: a custom analysis query and the metrics provider that answers it.
import { z } from "zod";
import { CommonStatusFields, LocalObjectReference } from "./common.ts";
import type { KindDefinition } from "./kind.ts";

/**
 * Variables every template query may use, besides `variables.<name>` from a check's
 * templateVariables. The analysis engine renders exactly these (src/engine/analysis/queries.ts).
 */
export const TemplateVariableNames = ["namespace", "target", "primary", "service", "interval"] as const;
export type TemplateVariableName = (typeof TemplateVariableNames)[number];

/** `{{ name }}` in a query; the capture is the trimmed expression between the braces. */
export const templateVariablePattern = /\{\{\s*(.*?)\s*\}\}/g;

/** The variable expressions a query uses that no analysis can ever fill (typos such as `{{ nmespace }}`). */
export function unknownTemplateVariables(query: string): string[] {
  const unknown = new Set<string>();
  for (const [, expression = ""] of query.matchAll(templateVariablePattern)) {
    const known =
      (TemplateVariableNames as readonly string[]).includes(expression) ||
      /^variables\.[^\s.{}]+$/.test(expression);
    if (!known) unknown.add(expression);
  }
  return [...unknown];
}

/** True when a `{{` opens a variable that is never closed. */
export function hasUnterminatedVariable(query: string): boolean {
  return query.replace(templateVariablePattern, "").includes("{{");
}

/** Where the template's query is sent. */
export const MetricProvider = z
  .object({
    type: z
      .literal("prometheus")
      .default("prometheus")
      .describe("Kind of metrics provider; prometheus (the HTTP API of Prometheus, Thanos, Mimir...)."),
    address: z
      .url({ protocol: /^https?$/ })
      .describe(
        "Base address of the provider, e.g. http://prometheus.istio-system:9090; /api/v1/query is appended. Credentials belong in secretRef, never in the address.",
      ),
    headers: z
      .record(z.string(), z.string())
      .optional()
      .describe("Extra HTTP headers sent with every query, e.g. X-Scope-OrgID for a multi-tenant Mimir."),
    secretRef: LocalObjectReference.optional().describe(
      "Secret in the MetricTemplate's namespace holding credentials: key `token` (sent as a bearer token), or keys `username` and `password` (basic auth). Never logged.",
    ),
    insecureSkipVerify: z
      .boolean()
      .default(false)
      .describe("Accept any TLS certificate from the provider. Only for testing."),
  })
  .superRefine((p, ctx) => {
    const url = URL.parse(p.address);
    if (url !== null && (url.username !== "" || url.password !== "")) {
      ctx.addIssue({
        code: "custom",
        path: ["address"],
        message: "the address must not carry credentials; put them in a Secret and set secretRef",
      });
    }
  });

/** Documentation of one custom variable a template's query uses. */
export const MetricTemplateVariable = z.object({
  name: z.string().min(1).describe("Name of the variable; the query refers to it as {{ variables.<name> }}."),
  description: z.string().optional().describe("What value a check should set in templateVariables."),
});

/** Desired state of a MetricTemplate. */
export const MetricTemplateSpec = z
  .object({
    provider: MetricProvider.describe("The metrics provider the query is sent to."),
    query: z
      .string()
      .min(1)
      .describe(
        "PromQL instant query that must return one value. Variables: {{ namespace }}, {{ target }} (the new version's workload), {{ primary }} (the stable workload), {{ service }}, {{ interval }}, and {{ variables.<name> }} from the check's templateVariables. Values are escaped for use inside double-quoted label values. When a check compares with the primary, the query is also run with {{ target }} set to the primary workload.",
      ),
    variables: z
      .array(MetricTemplateVariable)
      .optional()
      .describe("Documents the custom variables the query expects in templateVariables."),
  })
  .superRefine((spec, ctx) => {
    const unknown = unknownTemplateVariables(spec.query);
    if (unknown.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["query"],
        message: `unknown template variable ${unknown.map((v) => `"${v}"`).join(", ")}; use ${TemplateVariableNames.join(", ")} or variables.<name>`,
      });
    }
    if (hasUnterminatedVariable(spec.query)) {
      ctx.addIssue({ code: "custom", path: ["query"], message: "a {{ is never closed with }}" });
    }
  });

/** Observed state of a MetricTemplate. */
export const MetricTemplateStatus = z
  .object({ ...CommonStatusFields })
  .describe(
    "Conditions about the template. Wren does not write them yet; problems show on the rollouts that use it.",
  );

export type MetricProvider = z.infer<typeof MetricProvider>;
export type MetricTemplateSpec = z.infer<typeof MetricTemplateSpec>;
export type MetricTemplateStatus = z.infer<typeof MetricTemplateStatus>;

export const metricTemplateKind: KindDefinition = {
  kind: "MetricTemplate",
  plural: "metrictemplates",
  singular: "metrictemplate",
  shortNames: ["wmt"],
  categories: ["wren"],
  description:
    "MetricTemplate defines a custom analysis metric: a query with variables and the metrics provider that answers it.",
  spec: MetricTemplateSpec,
  status: MetricTemplateStatus,
  printerColumns: [
    { name: "Provider", type: "string", jsonPath: ".spec.provider.type" },
    { name: "Address", type: "string", jsonPath: ".spec.provider.address", priority: 1 },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
};
