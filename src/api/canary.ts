// The Canary kind: a traffic-shifting canary release of a Deployment.
import { z } from "zod";
import {
  AlertReference,
  CommonStatusFields,
  Duration,
  HTTPMatchRequest,
  MetricCheck,
  MetricsUnavailablePolicy,
  TargetReference,
  TimeWindow,
  WebhookGate,
} from "./common.ts";
import type { KindDefinition } from "./kind.ts";

const HeaderOperations = z.object({
  set: z.record(z.string(), z.string()).optional(),
  add: z.record(z.string(), z.string()).optional(),
  remove: z.array(z.string()).optional(),
});

/** Where the canary's traffic is routed, and route settings passed through to Istio. */
export const CanaryService = z.object({
  name: z.string().optional().describe("Name of the Service clients call; defaults to the target's name."),
  port: z.number().int().min(1).max(65535).describe("Port the Services expose."),
  targetPort: z
    .union([z.number().int().min(1).max(65535), z.string().min(1)])
    .optional()
    .describe("Container port (number or name); defaults to port."),
  portName: z.string().default("http"),
  hosts: z
    .array(z.string().min(1))
    .optional()
    .describe("Hosts of the VirtualService; defaults to the Service name."),
  gateways: z
    .array(z.string().min(1))
    .optional()
    .describe("Istio gateways; mesh traffic is always included."),
  timeout: Duration.optional(),
  retries: z
    .object({
      attempts: z.number().int().min(0),
      perTryTimeout: Duration.optional(),
      retryOn: z.string().optional(),
    })
    .optional(),
  headers: z
    .object({ request: HeaderOperations.optional(), response: HeaderOperations.optional() })
    .optional(),
  corsPolicy: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("Istio CorsPolicy, passed through unchanged."),
  trafficPolicy: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("Istio TrafficPolicy for the generated DestinationRules, passed through unchanged."),
  virtualServiceRef: z
    .object({
      name: z.string().min(1).describe("An existing VirtualService in the canary's namespace."),
      routes: z
        .array(z.string().min(1))
        .min(1)
        .describe("Names of its http routes whose weights Wren manages; every other field is left alone."),
    })
    .optional()
    .describe("Adopt an existing VirtualService instead of generating one."),
});

/** How the canary is analysed and how traffic advances. */
export const CanaryAnalysis = z
  .object({
    interval: Duration.default("1m").describe("Time between steps and between metric checks."),
    threshold: z.number().int().min(1).default(5).describe("Failed checks before the canary is rolled back."),
    maxWeight: z
      .number()
      .int()
      .min(1)
      .max(100)
      .optional()
      .describe("Highest canary weight before promotion."),
    stepWeight: z.number().int().min(1).max(100).optional().describe("Weight added at each step."),
    stepWeights: z
      .array(z.number().int().min(1).max(100))
      .min(1)
      .optional()
      .describe("Explicit increasing canary weights, instead of maxWeight and stepWeight."),
    stepWeightPromotion: z
      .number()
      .int()
      .min(1)
      .max(100)
      .optional()
      .describe(
        "During promotion, move the primary's weight back up in steps of this size instead of at once.",
      ),
    iterations: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe("A/B testing: number of intervals matching requests go to the canary before promotion."),
    match: z
      .array(HTTPMatchRequest)
      .optional()
      .describe("A/B testing: requests matching any of these go to the canary; requires iterations."),
    mirror: z.boolean().optional().describe("Mirror traffic to the canary before shifting any to it."),
    mirrorWeight: z.number().int().min(1).max(100).optional().describe("Percent of traffic mirrored."),
    metrics: z.array(MetricCheck).default([]),
    webhooks: z.array(WebhookGate).default([]),
    alerts: z.array(AlertReference).default([]),
    metricsUnavailable: MetricsUnavailablePolicy.default({ action: "hold", after: 3 }).describe(
      "What happens when metrics cannot be read. Never a promotion.",
    ),
  })
  .superRefine((a, ctx) => {
    const modes = [a.stepWeight !== undefined, a.stepWeights !== undefined, a.iterations !== undefined];
    if (modes.filter(Boolean).length !== 1) {
      ctx.addIssue({
        code: "custom",
        path: ["stepWeight"],
        message: "set exactly one of stepWeight (with maxWeight), stepWeights, or iterations (A/B testing)",
      });
    }
    if (a.stepWeight !== undefined && a.maxWeight === undefined) {
      ctx.addIssue({ code: "custom", path: ["maxWeight"], message: "maxWeight is required with stepWeight" });
    }
    if (a.stepWeights !== undefined) {
      a.stepWeights.forEach((w, i) => {
        const previous = a.stepWeights?.[i - 1];
        if (previous !== undefined && w <= previous) {
          ctx.addIssue({
            code: "custom",
            path: ["stepWeights", i],
            message: "stepWeights must be strictly increasing",
          });
        }
      });
    }
    if (a.match !== undefined && a.iterations === undefined) {
      ctx.addIssue({ code: "custom", path: ["match"], message: "match (A/B testing) requires iterations" });
    }
    if (a.mirror && a.iterations === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["mirror"],
        message: "mirror requires iterations: mirrored requests are analysed before any live traffic moves",
      });
    }
    if (a.mirrorWeight !== undefined && !a.mirror) {
      ctx.addIssue({ code: "custom", path: ["mirrorWeight"], message: "mirrorWeight requires mirror: true" });
    }
  });

/** Desired state of a Canary. */
export const CanarySpec = z
  .object({
    targetRef: TargetReference.describe("The Deployment to release."),
    service: CanaryService,
    analysis: CanaryAnalysis,
    progressDeadlineSeconds: z
      .number()
      .int()
      .min(1)
      .default(600)
      .describe(
        "Longest the primary (at initialisation and promotion) or the canary's pods may take to become ready; past it the canary fails and rolls back. Gates wait without a deadline and metrics follow analysis.metricsUnavailable; both say why in the Ready condition.",
      ),
    skipAnalysis: z.boolean().default(false).describe("Promote without analysis (emergency fixes)."),
    suspend: z.boolean().default(false).describe("Stop reconciling; weights stay where they are."),
    revertOnDeletion: z
      .boolean()
      .default(false)
      .describe("On deletion, route all traffic back to the target and stop managing it."),
    window: TimeWindow.optional().describe(
      "The canary advances only inside these windows; outside, it holds its weight.",
    ),
  })
  .superRefine((spec, ctx) => {
    if (spec.revertOnDeletion && spec.service.virtualServiceRef) {
      // The adopted routes would be left pointing at the canary Service, which goes with the Canary.
      ctx.addIssue({
        code: "custom",
        path: ["revertOnDeletion"],
        message:
          "revertOnDeletion cannot be combined with service.virtualServiceRef: point the adopted routes back yourself",
      });
    }
  });

export const CanaryPhase = z.enum([
  "Initializing",
  "Initialized",
  "Waiting",
  "Progressing",
  "WaitingPromotion",
  "Promoting",
  "Finalising",
  "Succeeded",
  "Failed",
  "Paused",
]);

/** A manual action (kubectl wren) as consumed by the controller. */
export const ConsumedAction = z.object({
  id: z.string(),
  action: z.string(),
  requestedBy: z.string().optional(),
  requestedAt: z.string().optional(),
  consumedAt: z.string(),
  result: z.string().describe("What the action did, or why it was ignored."),
});

/** The last value read for one metric and its verdict. */
export const MetricResult = z.object({
  name: z.string(),
  value: z.number().optional(),
  primaryValue: z.number().optional(),
  thresholdRange: z.object({ min: z.number().optional(), max: z.number().optional() }).optional(),
  verdict: z.enum(["Pass", "Fail", "Unavailable"]),
  message: z.string().optional(),
  time: z.string(),
});

/** Observed state of a Canary. Status is the controller's only memory. */
export const CanaryStatus = z.object({
  ...CommonStatusFields,
  phase: CanaryPhase.optional(),
  canaryWeight: z.number().int().optional(),
  failedChecks: z.number().int().optional(),
  unavailableChecks: z
    .number()
    .int()
    .optional()
    .describe("Consecutive intervals in which metrics could not be read."),
  iterations: z.number().int().optional(),
  stepIndex: z.number().int().optional(),
  lastAppliedSpec: z.string().optional().describe("Hash of the target pod template under analysis."),
  lastPromotedSpec: z.string().optional().describe("Hash of the pod template the primary runs."),
  lastTransitionTime: z.string().optional().describe("When the phase last changed."),
  lastStepTime: z
    .string()
    .optional()
    .describe("When the last analysis step ran; the next is due an interval later."),
  waitingSince: z
    .string()
    .optional()
    .describe("When the current wait (pods ready) began; it fails after progressDeadlineSeconds."),
  resumePhase: CanaryPhase.optional().describe("The phase a paused canary returns to on resume."),
  preRolloutPassed: z.boolean().optional().describe("The pre-rollout webhooks passed for this revision."),
  lastAction: ConsumedAction.optional().describe(
    "The last manual action consumed, so each is consumed once.",
  ),
  metrics: z.array(MetricResult).optional(),
});

export type CanarySpec = z.infer<typeof CanarySpec>;
export type CanaryPhase = z.infer<typeof CanaryPhase>;
export type CanaryStatus = z.infer<typeof CanaryStatus>;

export const canaryKind: KindDefinition = {
  kind: "Canary",
  plural: "canaries",
  singular: "canary",
  shortNames: ["wc"],
  categories: ["wren"],
  description:
    "Canary releases a new version of a Deployment by shifting Istio traffic in steps, gated by analysis.",
  spec: CanarySpec,
  status: CanaryStatus,
  printerColumns: [
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "Weight", type: "integer", jsonPath: ".status.canaryWeight" },
    { name: "FailedChecks", type: "integer", jsonPath: ".status.failedChecks" },
    { name: "Reason", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
    { name: "Target", type: "string", jsonPath: ".spec.targetRef.name", priority: 1 },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
};
