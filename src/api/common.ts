// Pieces shared by every Wren kind. Field names here are the names used in code,
// logs, events and metrics (ARCHITECTURE.md: one concept, one name).
import { validate as validateCron } from "node-cron";
import { z } from "zod";

/** API group and version of every Wren kind. */
export const group = "wren.dev";
export const version = "v1alpha1";
export const apiVersion = `${group}/${version}`;

/** A Go-style duration such as `30s`, `1m30s`, `2h`. */
export const Duration = z
  .string()
  .regex(/^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/, "must be a duration such as 30s, 1m or 1h30m")
  .describe("A duration such as 30s, 1m30s or 2h.");

/** A reference to an object in the same namespace. */
export const LocalObjectReference = z.object({
  name: z.string().min(1).describe("Name of the referenced object, in the same namespace."),
});

/** A reference to an object that may live in another namespace. */
export const CrossNamespaceObjectReference = z.object({
  name: z.string().min(1).describe("Name of the referenced object."),
  namespace: z.string().optional().describe("Namespace of the referenced object; defaults to the rollout's."),
});

/** The workload a rollout releases. */
export const TargetReference = z.object({
  apiVersion: z.literal("apps/v1").default("apps/v1").describe("API version of the target; apps/v1."),
  kind: z.literal("Deployment").default("Deployment").describe("Kind of the target; Deployment."),
  name: z
    .string()
    .min(1)
    .describe("Name of the Deployment people edit; Wren never rewrites its pod template."),
});

/** Inclusive bounds a metric value must stay within. */
export const ThresholdRange = z
  .object({
    min: z.number().optional().describe("Lowest passing value."),
    max: z.number().optional().describe("Highest passing value."),
  })
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, {
    message: "min must not exceed max",
  });

/** Istio's StringMatch: exactly one of exact, prefix, regex. */
export const StringMatch = z
  .object({
    exact: z.string().optional(),
    prefix: z.string().optional(),
    regex: z.string().optional(),
  })
  .refine((m) => [m.exact, m.prefix, m.regex].filter((v) => v !== undefined).length === 1, {
    message: "set exactly one of exact, prefix or regex",
  });

/** A subset of Istio's HTTPMatchRequest: which requests a route applies to. */
export const HTTPMatchRequest = z.object({
  name: z.string().optional(),
  uri: StringMatch.optional().describe("Match on the request path."),
  headers: z
    .record(z.string(), StringMatch)
    .optional()
    .describe("Match on request headers; use the cookie header with a regex to match a cookie."),
  queryParams: z.record(z.string(), StringMatch).optional(),
  sourceLabels: z
    .record(z.string(), z.string())
    .optional()
    .describe("Match requests from workloads carrying these labels."),
  ignoreUriCase: z.boolean().optional(),
});

/** Severity of a notification; a provider receives messages at or above its minimum. */
export const Severity = z.enum(["info", "warn", "error"]);

/** A reference from a rollout to an AlertProvider. */
export const AlertReference = z.object({
  name: z.string().min(1).describe("A name for this alert, used in logs."),
  severity: Severity.default("info").describe("Minimum severity sent to this provider."),
  providerRef: CrossNamespaceObjectReference.describe("The AlertProvider to send to."),
});

/** When a rollout may advance: cron schedules in a time zone. */
export const TimeWindow = z.object({
  schedules: z
    .array(
      z
        .string()
        .min(1)
        .refine((s) => validateCron(s), { message: "not a valid cron expression" }),
    )
    .min(1)
    .describe("Cron expressions (minute hour day-of-month month day-of-week); each matching minute is open."),
  timeZone: z
    .string()
    .default("UTC")
    .refine((tz) => tz === "UTC" || Intl.supportedValuesOf("timeZone").includes(tz), {
      message: "not an IANA time zone",
    })
    .describe("IANA time zone the schedules are read in, e.g. Europe/Berlin."),
});

/** Standard Kubernetes condition. */
export const Condition = z.object({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: z.string(),
  observedGeneration: z.number().int().optional(),
});

/** Fields every rollout status carries. */
export const CommonStatusFields = {
  observedGeneration: z.number().int().optional().describe("The spec generation this status describes."),
  conditions: z.array(Condition).optional(),
};

/** The built-in metrics, computed from Istio's standard metrics for the new version's workload. */
export const BuiltinMetricName = z.enum(["request-success-rate", "request-duration", "request-throughput"]);

/** One analysis check: a built-in metric or a MetricTemplate, and what counts as passing. */
export const MetricCheck = z
  .object({
    name: z
      .string()
      .min(1)
      .describe(
        "request-success-rate (percent), request-duration (p99, ms), request-throughput (requests per second), or any name when templateRef is set.",
      ),
    templateRef: CrossNamespaceObjectReference.optional().describe(
      "The MetricTemplate whose query computes this metric.",
    ),
    templateVariables: z
      .record(z.string(), z.string())
      .optional()
      .describe("Values for custom variables in the template's query."),
    interval: Duration.optional().describe("Range of the query; defaults to the analysis interval."),
    thresholdRange: ThresholdRange.optional().describe("The value passes when it lies within these bounds."),
    maxIncreaseOverPrimary: z
      .number()
      .min(0)
      .optional()
      .describe(
        "Fail when the new version's value exceeds the stable version's value over the same interval by more than this many percent.",
      ),
  })
  .superRefine((m, ctx) => {
    if (m.templateRef === undefined && !BuiltinMetricName.safeParse(m.name).success) {
      ctx.addIssue({
        code: "custom",
        path: ["name"],
        message: `unknown built-in metric "${m.name}"; set templateRef for a custom metric`,
      });
    }
  })
  .refine((m) => m.thresholdRange !== undefined || m.maxIncreaseOverPrimary !== undefined, {
    message: "set thresholdRange, maxIncreaseOverPrimary or both",
    path: ["thresholdRange"],
  });

/** The points in a rollout where Wren calls a webhook, and what it does with the answer. */
export const WebhookType = z.enum([
  "confirm-rollout",
  "pre-rollout",
  "rollout",
  "confirm-traffic-increase",
  "confirm-promotion",
  "post-rollout",
  "rollback",
  "event",
]);

/** A webhook Wren calls at one point of a rollout. */
export const WebhookGate = z.object({
  name: z.string().min(1),
  type: WebhookType.default("rollout").describe(
    "confirm-* gates hold until the hook answers 2xx; pre-rollout and rollout count a non-2xx answer as a failed check; rollback rolls back on 2xx; post-rollout and event are informational.",
  ),
  url: z.url().describe("Address Wren POSTs the rollout's name, namespace, phase and metadata to."),
  timeout: Duration.default("10s"),
  metadata: z
    .record(z.string(), z.string())
    .optional()
    .describe("Extra key-value pairs sent in the payload."),
});

/** What Wren does when a metric cannot be read (Prometheus down, query error, no data). */
export const MetricsUnavailablePolicy = z.object({
  action: z
    .enum(["hold", "rollback"])
    .default("hold")
    .describe(
      "hold keeps the current weights and retries; rollback rolls back after `after` consecutive failures.",
    ),
  after: z
    .number()
    .int()
    .min(1)
    .default(3)
    .describe("Consecutive intervals without data before the rollback action is taken."),
});

export type Duration = z.infer<typeof Duration>;
export type Severity = z.infer<typeof Severity>;
export type WebhookType = z.infer<typeof WebhookType>;
export type WebhookGate = z.infer<typeof WebhookGate>;
export type MetricCheck = z.infer<typeof MetricCheck>;
export type ThresholdRange = z.infer<typeof ThresholdRange>;
export type HTTPMatchRequest = z.infer<typeof HTTPMatchRequest>;
export type TimeWindow = z.infer<typeof TimeWindow>;
export type Condition = z.infer<typeof Condition>;
export type MetricsUnavailablePolicy = z.infer<typeof MetricsUnavailablePolicy>;
