// The BlueGreen kind: a new version runs as a complete second environment (a
// colour), reachable first through preview routes, then switched to at once or
// in steps, with the previous colour kept up so a rollback is one route change.
import { z } from "zod";
import { CanaryService, ConsumedAction, MetricResult } from "./canary.ts";
import {
  AlertReference,
  CommonStatusFields,
  Duration,
  HTTPMatchRequest,
  MetricCheck,
  MetricsUnavailablePolicy,
  TargetReference,
  WebhookGate,
} from "./common.ts";
import type { KindDefinition } from "./kind.ts";

/** The two environments. */
export const Colour = z.enum(["blue", "green"]);

/** Where traffic is routed: the Canary's service block, without adopting a VirtualService. */
export const BlueGreenService = CanaryService.omit({ virtualServiceRef: true });

/** Which requests reach the candidate colour before the switch. */
export const BlueGreenPreview = z.object({
  match: z
    .array(HTTPMatchRequest)
    .min(1)
    .describe(
      "Requests matching any of these go to the candidate colour from the moment it is ready until the release ends; every other request stays on the active colour until the switch.",
    ),
});

/** The analysis of the candidate colour, before and after the switch. */
export const BlueGreenAnalysis = z.object({
  interval: Duration.default("1m").describe("Time between rounds of checks."),
  threshold: z
    .number()
    .int()
    .min(1)
    .default(5)
    .describe("Failed rounds (before or after the switch) that roll the release back."),
  iterations: z
    .number()
    .int()
    .min(0)
    .default(1)
    .describe(
      "Passing rounds of checks on the candidate (which only preview requests reach) before the switch; 0 switches as soon as the candidate is ready.",
    ),
  postSwitchIterations: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe(
      "Passing rounds of checks once all traffic is on the candidate, during which a failure still rolls back to the previous colour.",
    ),
  metrics: z.array(MetricCheck).default([]),
  webhooks: z.array(WebhookGate).default([]),
  alerts: z.array(AlertReference).default([]),
  metricsUnavailable: MetricsUnavailablePolicy.default({ action: "hold", after: 3 }).describe(
    "What happens when metrics cannot be read. Never a switch.",
  ),
});

/** How traffic moves from the active colour to the candidate. */
export const BlueGreenSwitch = z
  .object({
    steps: z
      .array(z.number().int().min(1).max(100))
      .min(1)
      .default([100])
      .describe(
        "Percent of traffic on the candidate at each step, strictly increasing and ending at 100: [100] is an instant cut-over, [10, 100] sends 10% first.",
      ),
    stepInterval: Duration.optional().describe(
      "Least time a step below 100% is held (with checks every analysis interval) before the next; defaults to analysis.interval.",
    ),
  })
  .superRefine((s, ctx) => {
    s.steps.forEach((w, i) => {
      const previous = s.steps[i - 1];
      if (previous !== undefined && w <= previous) {
        ctx.addIssue({ code: "custom", path: ["steps", i], message: "steps must be strictly increasing" });
      }
    });
    if (s.steps.at(-1) !== 100) {
      ctx.addIssue({
        code: "custom",
        path: ["steps", s.steps.length - 1],
        message: "the last step must be 100: a switch ends with all traffic on the candidate",
      });
    }
  });

/** Desired state of a BlueGreen. */
export const BlueGreenSpec = z.object({
  targetRef: TargetReference.describe(
    "The Deployment people edit: each change of its pod template is a release. Wren copies the template into the colours and keeps the Deployment itself at 0 replicas.",
  ),
  service: BlueGreenService,
  preview: BlueGreenPreview.optional().describe(
    "Preview routes to the candidate; without them only the switch sends it traffic.",
  ),
  analysis: BlueGreenAnalysis.prefault({}),
  switch: BlueGreenSwitch.prefault({}),
  autoPromote: z
    .boolean()
    .default(true)
    .describe(
      "Switch as soon as the pre-switch analysis passes; false waits (checks still running) for kubectl wren promote.",
    ),
  scaleDownDelay: Duration.default("30s").describe(
    "How long the previous colour keeps running after a successful switch, so kubectl wren abort can still send everything back to it at once; then it is scaled to 0.",
  ),
  progressDeadlineSeconds: z
    .number()
    .int()
    .min(1)
    .default(600)
    .describe(
      "Longest a colour's pods may take to become ready; past it the release fails (the candidate) or the BlueGreen stays Failed (the first colour). Gates and a manual promotion wait without a deadline, with the reason in the Ready condition.",
    ),
  suspend: z.boolean().default(false).describe("Stop reconciling; routes and replicas stay as they are."),
});

export const BlueGreenPhase = z.enum([
  "Initializing",
  "Initialized",
  "Waiting",
  "Progressing",
  "WaitingPromotion",
  "Switching",
  "Verifying",
  "Succeeded",
  "Failed",
  "Paused",
]);

/** Observed state of a BlueGreen. Status is the controller's only memory. */
export const BlueGreenStatus = z.object({
  ...CommonStatusFields,
  phase: BlueGreenPhase.optional(),
  activeColour: Colour.optional().describe("The colour all traffic goes to outside a switch."),
  candidateColour: Colour.optional().describe(
    "The colour running the revision under release; unset when no release is under way.",
  ),
  canaryWeight: z.number().int().optional().describe("Percent of non-preview traffic on the candidate."),
  switchStep: z.number().int().optional().describe("Switch steps taken: 0 before the switch."),
  iterations: z.number().int().optional().describe("Passing rounds before the switch in this release."),
  postSwitchIterations: z
    .number()
    .int()
    .optional()
    .describe("Passing rounds after the switch in this release."),
  failedChecks: z.number().int().optional(),
  unavailableChecks: z
    .number()
    .int()
    .optional()
    .describe("Consecutive rounds in which metrics could not be read."),
  lastAppliedSpec: z
    .string()
    .optional()
    .describe("Hash of the target pod template under (or last) released."),
  lastPromotedSpec: z.string().optional().describe("Hash of the pod template the active colour runs."),
  lastTransitionTime: z.string().optional().describe("When the phase last changed."),
  lastStepTime: z
    .string()
    .optional()
    .describe("When the last round of checks ran; the next is due an interval later."),
  stepStartTime: z.string().optional().describe("When the current switch step began."),
  waitingSince: z
    .string()
    .optional()
    .describe("When the current wait for pods began; it fails after progressDeadlineSeconds."),
  scaleDownAt: z
    .string()
    .optional()
    .describe("When the colour that is not active is scaled to 0; until then an abort rolls back to it."),
  resumePhase: BlueGreenPhase.optional().describe("The phase a paused BlueGreen returns to on resume."),
  preRolloutPassed: z
    .boolean()
    .optional()
    .describe("The candidate is ready and the pre-rollout webhooks passed: preview routes are on."),
  fullPromotion: z
    .boolean()
    .optional()
    .describe("kubectl wren promote --full asked to switch to 100% as soon as the candidate is ready."),
  lastAction: ConsumedAction.optional().describe(
    "The last manual action consumed, so each is consumed once.",
  ),
  metrics: z.array(MetricResult).optional(),
});

export type Colour = z.infer<typeof Colour>;
export type BlueGreenSpec = z.infer<typeof BlueGreenSpec>;
export type BlueGreenPhase = z.infer<typeof BlueGreenPhase>;
export type BlueGreenStatus = z.infer<typeof BlueGreenStatus>;

export const blueGreenKind: KindDefinition = {
  kind: "BlueGreen",
  plural: "bluegreens",
  singular: "bluegreen",
  shortNames: ["wbg"],
  categories: ["wren"],
  description:
    "BlueGreen releases a new version of a Deployment as a second environment, previewed first, then switched to at once or in steps, with instant rollback.",
  spec: BlueGreenSpec,
  status: BlueGreenStatus,
  printerColumns: [
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "Active", type: "string", jsonPath: ".status.activeColour" },
    { name: "Candidate", type: "string", jsonPath: ".status.candidateColour" },
    { name: "Weight", type: "integer", jsonPath: ".status.canaryWeight" },
    { name: "Reason", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
    { name: "Target", type: "string", jsonPath: ".spec.targetRef.name", priority: 1 },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
};
