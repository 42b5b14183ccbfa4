// The ControlPlaneUpgrade kind: moves namespaces from one Istio control plane
// revision to another in waves, gated by analysis, and rolls every moved
// namespace back when a wave fails.
import { z } from "zod";
import { ConsumedAction, MetricResult } from "./canary.ts";
import {
  AlertReference,
  CommonStatusFields,
  CrossNamespaceObjectReference,
  Duration,
  MetricsUnavailablePolicy,
  ThresholdRange,
} from "./common.ts";
import type { KindDefinition } from "./kind.ts";

/** Namespace label: the revision whose injector serves the namespace. */
export const revisionLabel = "istio.io/rev";
/** Namespace label: `enabled` means the default revision, `disabled` means no injection at all. */
export const injectionLabel = "istio-injection";
/** Namespace label that keeps a namespace out of every ControlPlaneUpgrade. */
export const optOutLabel = "wren.dev/control-plane-upgrade";
export const optOutValue = "skip";
/** Pod annotation the injector writes: the revision the pod's sidecar belongs to. */
export const podRevisionAnnotation = "istio.io/rev";
/** Pod template annotation `kubectl rollout restart` sets; changing it restarts the Deployment. */
export const restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt";
/** The revision pods injected through `istio-injection=enabled` report. */
export const defaultRevision = "default";

/** An Istio revision: a DNS label short enough for `istiod-<revision>` to name a Service. */
const Revision = z
  .string()
  .max(56)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS label such as 1-24-0 (lower case, digits, -)");

/** A Kubernetes label selector (matchLabels and matchExpressions, ANDed). */
export const LabelSelector = z.object({
  matchLabels: z.record(z.string(), z.string()).optional().describe("Labels that must all be present."),
  matchExpressions: z
    .array(
      z
        .object({
          key: z.string().min(1),
          operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
          values: z.array(z.string()).optional(),
        })
        .superRefine((e, ctx) => {
          const needsValues = e.operator === "In" || e.operator === "NotIn";
          if (needsValues && (e.values ?? []).length === 0) {
            ctx.addIssue({ code: "custom", path: ["values"], message: `${e.operator} needs values` });
          }
          if (!needsValues && (e.values ?? []).length > 0) {
            ctx.addIssue({ code: "custom", path: ["values"], message: `${e.operator} takes no values` });
          }
        }),
    )
    .optional()
    .describe("Expressions that must all hold."),
});

/** The metrics a wave is judged by without a MetricTemplate. */
export const ControlPlaneMetricName = z.enum([
  "request-success-rate",
  "request-duration",
  "istiod-xds-rejects",
  "istiod-push-errors",
  "istiod-convergence-p99",
]);

/** One analysis check of a wave: a built-in metric or a MetricTemplate, and its passing range. */
export const ControlPlaneCheck = z
  .object({
    name: z
      .string()
      .min(1)
      .describe(
        "request-success-rate (percent of non-5xx answers served by the wave's namespaces), request-duration (their p99, ms), istiod-xds-rejects (config rejected by proxies of the new revision, per second), istiod-push-errors (xDS pushes of the new revision that failed to build or send, per second), istiod-convergence-p99 (seconds), or any name when templateRef is set.",
      ),
    templateRef: CrossNamespaceObjectReference.optional().describe(
      "The MetricTemplate whose query computes this metric. In its query {{ namespace }} is the wave's namespaces as a regular expression (use =~), {{ target }} the new revision and {{ primary }} the old one.",
    ),
    templateVariables: z
      .record(z.string(), z.string())
      .optional()
      .describe("Values for custom variables in the template's query."),
    interval: Duration.optional().describe("Range of the query; defaults to the analysis interval."),
    thresholdRange: ThresholdRange.describe("The value passes when it lies within these bounds."),
  })
  .superRefine((c, ctx) => {
    if (c.templateRef === undefined && !ControlPlaneMetricName.safeParse(c.name).success) {
      ctx.addIssue({
        code: "custom",
        path: ["name"],
        message: `unknown built-in metric "${c.name}"; use one of ${ControlPlaneMetricName.options.join(", ")} or set templateRef`,
      });
    }
    if (c.thresholdRange.min === undefined && c.thresholdRange.max === undefined) {
      ctx.addIssue({ code: "custom", path: ["thresholdRange"], message: "set min, max or both" });
    }
  });

/** How each wave is analysed once its pods run on the new revision. */
export const ControlPlaneAnalysis = z.object({
  interval: Duration.default("1m").describe(
    "Time between the checks of a wave; the first check runs one interval after every pod of the wave is on the new revision.",
  ),
  iterations: z
    .number()
    .int()
    .min(1)
    .default(1)
    .describe("Passing rounds of checks a wave needs before the next wave starts."),
  threshold: z
    .number()
    .int()
    .min(1)
    .default(1)
    .describe("Failed rounds of checks in one wave before every moved namespace is rolled back."),
  metrics: z
    .array(ControlPlaneCheck)
    .default([])
    .describe("Checks run each interval; with none, a wave passes once its pods are on the new revision."),
  metricsUnavailable: MetricsUnavailablePolicy.default({ action: "hold", after: 3 }).describe(
    "What happens when metrics cannot be read. Never a pass.",
  ),
  alerts: z.array(AlertReference).default([]),
});

/** Desired state of a ControlPlaneUpgrade. */
export const ControlPlaneUpgradeSpec = z
  .object({
    from: Revision.describe("The revision the namespaces run today, e.g. 1-23-0."),
    to: Revision.describe("The revision to move them to; istiod-<to> must exist in istioNamespace."),
    istioNamespace: z
      .string()
      .min(1)
      .default("istio-system")
      .describe("Namespace of the istiod Deployments and of gateways labelled for revision-based injection."),
    namespaceSelector: LabelSelector.describe(
      "Which namespaces to move. Of those, Wren moves the ones on `from` (istio.io/rev=<from>, or istio-injection=enabled, the default revision) and never touches namespaces labelled istio-injection=disabled or wren.dev/control-plane-upgrade=skip.",
    ),
    waves: z
      .array(z.number().int().min(1).max(100))
      .min(1)
      .describe(
        "Cumulative percent of the selected namespaces on `to` after each wave, strictly increasing and ending at 100, e.g. [10, 25, 50, 100].",
      ),
    manualGates: z
      .array(z.number().int().min(1).max(100))
      .default([])
      .describe("Waves (by percent) that start only after kubectl wren promote."),
    analysis: ControlPlaneAnalysis.default({
      interval: "1m",
      iterations: 1,
      threshold: 1,
      metrics: [],
      metricsUnavailable: { action: "hold", after: 3 },
      alerts: [],
    }),
    gateways: z
      .object({
        selector: LabelSelector.describe(
          "Deployment labels of the gateways, e.g. {matchLabels: {istio: ingressgateway}}.",
        ),
      })
      .optional()
      .describe(
        "Gateway Deployments, in moved namespaces or in istioNamespace (there when their pod template carries istio.io/rev=<from>). They are left out of the namespace waves and restarted onto `to` in a last wave of their own.",
      ),
    revisionTag: Revision.optional().describe(
      "A revision tag whose MutatingWebhookConfiguration istio-revision-tag-<tag> is pointed at istiod-<to> once every wave succeeded.",
    ),
    progressDeadlineSeconds: z
      .number()
      .int()
      .min(1)
      .default(600)
      .describe(
        "Longest any wait may take: istiod-<to> becoming ready, a wave's (or a rollback's) rollouts, the revision tag appearing. Past it the upgrade rolls back (or, with nothing moved, fails).",
      ),
    suspend: z.boolean().default(false).describe("Stop reconciling; namespaces stay where they are."),
  })
  .superRefine((spec, ctx) => {
    if (spec.from === spec.to) {
      ctx.addIssue({ code: "custom", path: ["to"], message: "to must differ from from" });
    }
    spec.waves.forEach((w, i) => {
      const previous = spec.waves[i - 1];
      if (previous !== undefined && w <= previous) {
        ctx.addIssue({ code: "custom", path: ["waves", i], message: "waves must be strictly increasing" });
      }
    });
    if (spec.waves.at(-1) !== 100) {
      ctx.addIssue({
        code: "custom",
        path: ["waves", spec.waves.length - 1],
        message: "the last wave must be 100",
      });
    }
    spec.manualGates.forEach((g, i) => {
      if (!spec.waves.includes(g)) {
        ctx.addIssue({ code: "custom", path: ["manualGates", i], message: `${g} is not one of the waves` });
      }
    });
    if (spec.revisionTag !== undefined && [spec.from, spec.to].includes(spec.revisionTag)) {
      ctx.addIssue({
        code: "custom",
        path: ["revisionTag"],
        message: "a revision tag cannot have the name of a revision",
      });
    }
    const gw = spec.gateways?.selector;
    if (gw && Object.keys(gw.matchLabels ?? {}).length === 0 && (gw.matchExpressions ?? []).length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["gateways", "selector"],
        message: "an empty selector would treat every Deployment as a gateway",
      });
    }
  });

export const ControlPlaneUpgradePhase = z.enum([
  "WaitingForControlPlane",
  "WaitingPromotion",
  "Progressing",
  "Paused",
  "RollingBack",
  "Finalising",
  "Succeeded",
  "Failed",
]);

export const WaveState = z.enum(["Moving", "Analysing", "Succeeded", "Failed", "RolledBack"]);

/** The injection labels a namespace had before Wren moved it, restored on rollback. */
export const PreviousLabels = z.object({
  "istio-injection": z.string().optional(),
  "istio.io/rev": z.string().optional(),
});

/** A gateway Deployment the gateway wave restarts. */
export const WaveGateway = z.object({
  namespace: z.string(),
  name: z.string(),
  previousRevisionLabel: z
    .string()
    .optional()
    .describe(
      "Its pod template's istio.io/rev label before the wave, when that label (not the namespace) chose its revision; Wren set it to `to` and restores it on rollback.",
    ),
});

/** One wave: which namespaces (or gateways) it moved, and how it went. */
export const Wave = z.object({
  index: z.number().int(),
  percent: z.number().int().describe("Percent of the selected namespaces on `to` once this wave is done."),
  namespaces: z.array(z.string()).describe("Namespaces this wave relabelled."),
  previousLabels: z
    .record(z.string(), PreviousLabels)
    .optional()
    .describe("Each moved namespace's injection labels before the wave, by namespace."),
  gateways: z.array(WaveGateway).optional().describe("Set on the gateway wave only."),
  state: WaveState,
  startedAt: z.string(),
  restartedAt: z
    .string()
    .describe(
      "The restartedAt annotation this wave writes; the same on every retry, so never a second restart.",
    ),
  movedAt: z.string().optional().describe("When every pod of the wave was on `to`."),
  finishedAt: z.string().optional(),
  passedChecks: z.number().int().optional(),
  failedChecks: z.number().int().optional(),
  unavailableChecks: z.number().int().optional(),
  lastCheckTime: z.string().optional(),
  message: z.string().optional(),
  checks: z.array(MetricResult).optional().describe("The last round of checks of this wave."),
});

/** One line of the upgrade's history: a phase or wave transition. */
export const HistoryEntry = z.object({
  time: z.string(),
  phase: z.string(),
  wave: z.number().int().optional(),
  reason: z.string(),
  message: z.string(),
});

/** Observed state of a ControlPlaneUpgrade. Status is the controller's only memory. */
export const ControlPlaneUpgradeStatus = z.object({
  ...CommonStatusFields,
  phase: ControlPlaneUpgradePhase.optional(),
  from: z
    .string()
    .optional()
    .describe("The revision being moved from, as recorded when the upgrade started."),
  to: z.string().optional().describe("The revision being moved to, as recorded when the upgrade started."),
  lastAppliedSpec: z.string().optional().describe("The revision under release (`to`)."),
  canaryWeight: z.number().int().optional().describe("Percent of the selected namespaces moved to `to`."),
  currentWave: z.number().int().optional().describe("Index of the wave in progress, or the last one."),
  selectedNamespaces: z
    .number()
    .int()
    .optional()
    .describe("Namespaces this upgrade moves: moved ones plus those still on `from`."),
  skippedNamespaces: z
    .number()
    .int()
    .optional()
    .describe("Selected namespaces left alone: opted out, injection disabled, or on another revision."),
  waves: z.array(Wave).optional(),
  rollback: z
    .object({
      startedAt: z.string(),
      restartedAt: z.string().describe("The restartedAt annotation the rollback writes."),
      wave: z.number().int().optional().describe("The wave that failed."),
      reason: z.string(),
      message: z.string(),
    })
    .optional(),
  waitingSince: z
    .string()
    .optional()
    .describe("When the current wait began; it ends at progressDeadlineSeconds."),
  resumePhase: ControlPlaneUpgradePhase.optional().describe(
    "The phase a paused upgrade returns to on resume.",
  ),
  promotedFully: z
    .boolean()
    .optional()
    .describe("kubectl wren promote --full: the remaining waves skip their gates and analysis."),
  gateApproved: z
    .boolean()
    .optional()
    .describe("kubectl wren promote opened the next wave's manual gate, but the wave could not start yet."),
  lastTransitionTime: z.string().optional(),
  history: z
    .array(HistoryEntry)
    .optional()
    .describe("Phase and wave transitions, oldest first (the last 50)."),
  lastAction: ConsumedAction.optional().describe(
    "The last manual action consumed, so each is consumed once.",
  ),
  metrics: z.array(MetricResult).optional(),
});

export type LabelSelector = z.infer<typeof LabelSelector>;
export type ControlPlaneCheck = z.infer<typeof ControlPlaneCheck>;
export type ControlPlaneUpgradeSpec = z.infer<typeof ControlPlaneUpgradeSpec>;
export type ControlPlaneUpgradePhase = z.infer<typeof ControlPlaneUpgradePhase>;
export type ControlPlaneUpgradeStatus = z.infer<typeof ControlPlaneUpgradeStatus>;
export type Wave = z.infer<typeof Wave>;
export type WaveGateway = z.infer<typeof WaveGateway>;
export type PreviousLabels = z.infer<typeof PreviousLabels>;
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const controlPlaneUpgradeKind: KindDefinition = {
  kind: "ControlPlaneUpgrade",
  plural: "controlplaneupgrades",
  singular: "controlplaneupgrade",
  shortNames: ["wcpu"],
  categories: ["wren"],
  description:
    "ControlPlaneUpgrade moves namespaces from one Istio revision to another in waves, gated by analysis, rolling back every moved namespace when a wave fails.",
  spec: ControlPlaneUpgradeSpec,
  status: ControlPlaneUpgradeStatus,
  printerColumns: [
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "From", type: "string", jsonPath: ".spec.from" },
    { name: "To", type: "string", jsonPath: ".spec.to" },
    { name: "Wave", type: "integer", jsonPath: ".status.currentWave" },
    { name: "Weight", type: "integer", jsonPath: ".status.canaryWeight" },
    { name: "Reason", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
};
