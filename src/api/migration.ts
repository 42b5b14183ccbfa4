// The Migration kind: a strangler-fig move of requests from a monolith to new
// services, one phase (a set of routes) at a time, in steps gated by validation.
import { z } from "zod";
import { ConsumedAction, MetricResult } from "./canary.ts";
import {
  AlertReference,
  CommonStatusFields,
  Duration,
  HTTPMatchRequest,
  MetricsUnavailablePolicy,
} from "./common.ts";
import type { KindDefinition } from "./kind.ts";
import { describeMatch, matchesOverlap } from "./migration-overlap.ts";

/** A Service name (DNS-1035 label). */
const ServiceName = z
  .string()
  .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, "must be a Service name (lower-case letters, digits and -)")
  .max(63);

const Port = z.number().int().min(1).max(65535);

/** Where the requests no phase has taken go, today's backend. */
export const MigrationMonolith = z.object({
  service: ServiceName.describe("The Service of the monolith, in the Migration's namespace."),
  port: Port.describe("Port of that Service."),
});

/** One new service a phase moves requests to. */
export const MigrationDestination = z.object({
  service: ServiceName.describe(
    "A Service in the Migration's namespace that takes over the phase's requests.",
  ),
  port: Port.describe("Port of that Service."),
  weight: z
    .number()
    .int()
    .min(1)
    .max(100)
    .optional()
    .describe(
      "Share of the phase's moved requests this service receives, in percent. Required when `to` lists several services, whose weights then sum to 100; a single service takes them all.",
    ),
});

/** The checks every validation of a phase runs on each of its new services. */
export const MigrationValidation = z
  .object({
    interval: Duration.default("1m").describe(
      "Time between validations of the active phase. A step ends at the first passing validation after its duration.",
    ),
    range: Duration.optional().describe(
      "Range each query covers (the rate window); defaults to interval. Longer ranges smooth out low traffic.",
    ),
    maxErrorRate: z
      .number()
      .min(0)
      .max(100)
      .optional()
      .describe("Highest percentage of requests a new service may answer with a 5xx, e.g. 1 for 1%."),
    maxP99Latency: Duration.optional().describe(
      "Highest 99th percentile request duration of a new service, e.g. 500ms.",
    ),
    minThroughput: z
      .number()
      .positive()
      .optional()
      .describe(
        "Lowest request rate (requests per second) each new service must serve at every step. A service no request reaches fails it instead of passing on empty data.",
      ),
    minRequests: z
      .number()
      .int()
      .min(1)
      .default(10)
      .describe(
        "Fewest requests a new service must have served within the range before its errorRate and p99Latency can pass; with fewer they are Unavailable (too few to judge), never Pass. A value beyond its maximum fails whatever the count.",
      ),
    threshold: z
      .number()
      .int()
      .min(1)
      .default(3)
      .describe("Failed validations of a phase before it is rolled back."),
    metricsUnavailable: MetricsUnavailablePolicy.default({ action: "hold", after: 3 }).describe(
      "What happens when metrics cannot be read. Never a step forward.",
    ),
  })
  .refine(
    (v) => v.maxErrorRate !== undefined || v.maxP99Latency !== undefined || v.minThroughput !== undefined,
    { message: "set at least one of maxErrorRate, maxP99Latency or minThroughput", path: ["maxErrorRate"] },
  );

/** A phase name, also the opt-in header's value and part of route names. */
const PhaseName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be lower-case letters, digits and - (a DNS label)")
  .max(63);

function hasCondition(m: z.infer<typeof HTTPMatchRequest>): boolean {
  const some = (r: Record<string, unknown> | undefined) => r !== undefined && Object.keys(r).length > 0;
  return m.uri !== undefined || some(m.headers) || some(m.queryParams) || some(m.sourceLabels);
}

/** One set of routes moved together from the monolith to new services. */
export const MigrationPhase = z
  .object({
    name: PhaseName.describe("Name of the phase; also the opt-in header's value that selects it."),
    match: z
      .array(HTTPMatchRequest)
      .min(1)
      .refine((ms) => ms.every(hasCondition), {
        message: "every match entry needs a condition (uri, headers, queryParams or sourceLabels)",
      })
      .describe(
        "The requests this phase moves: any entry matches (OR), the conditions of one entry all must (AND). Must not overlap another phase's matches.",
      ),
    to: z
      .array(MigrationDestination)
      .min(1)
      .describe("The new services the matched requests move to, split by weight."),
    steps: z
      .array(z.number().int().min(1).max(100))
      .min(1)
      .default([5, 10, 25, 50, 100])
      .describe(
        "Percent of the matched requests on the new services at each step; strictly increasing, ending at 100.",
      ),
    stepInterval: Duration.optional().describe(
      "Shortest time at each step; 1m when neither this nor stepDurations is set.",
    ),
    stepDurations: z
      .array(Duration)
      .min(1)
      .optional()
      .describe("Shortest time at each step, one per step, instead of stepInterval."),
    validation: MigrationValidation.describe("Checks of the new services that gate every step."),
    rollback: z
      .enum(["phase", "all"])
      .default("phase")
      .describe(
        "What a failure of this phase sends back to the monolith: the phase's own requests (phase), or every phase's, completed ones included (all).",
      ),
  })
  .superRefine((p, ctx) => {
    p.steps.forEach((step, i) => {
      const previous = p.steps[i - 1];
      if (previous !== undefined && step <= previous) {
        ctx.addIssue({ code: "custom", path: ["steps", i], message: "steps must be strictly increasing" });
      }
    });
    if (p.steps.at(-1) !== 100) {
      ctx.addIssue({
        code: "custom",
        path: ["steps", p.steps.length - 1],
        message: "the last step must be 100: a phase ends with all its requests on the new services",
      });
    }
    if (p.stepDurations !== undefined && p.stepInterval !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["stepDurations"],
        message: "set stepInterval or stepDurations, not both",
      });
    }
    if (p.stepDurations !== undefined && p.stepDurations.length !== p.steps.length) {
      ctx.addIssue({
        code: "custom",
        path: ["stepDurations"],
        message: `one duration per step: ${p.steps.length} steps, ${p.stepDurations.length} durations`,
      });
    }
    const seen = new Set<string>();
    p.to.forEach((d, j) => {
      if (seen.has(d.service)) {
        ctx.addIssue({
          code: "custom",
          path: ["to", j, "service"],
          message: `${d.service} is listed twice`,
        });
      }
      seen.add(d.service);
    });
    if (p.to.length === 1 && p.to[0]?.weight !== undefined && p.to[0].weight !== 100) {
      ctx.addIssue({
        code: "custom",
        path: ["to", 0, "weight"],
        message: "a single service takes all the phase's requests: omit weight or set 100",
      });
    }
    if (p.to.length > 1) {
      p.to.forEach((d, j) => {
        if (d.weight === undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["to", j, "weight"],
            message: "weight is required when to lists several services",
          });
        }
      });
      const sum = p.to.reduce((total, d) => total + (d.weight ?? 0), 0);
      if (p.to.every((d) => d.weight !== undefined) && sum !== 100) {
        ctx.addIssue({
          code: "custom",
          path: ["to"],
          message: `weights sum to ${sum}; they must sum to 100`,
        });
      }
    }
  });

/** Desired state of a Migration. */
export const MigrationSpec = z
  .object({
    host: ServiceName.describe(
      "The Service clients call. Wren routes it with one VirtualService that this Migration owns.",
    ),
    hosts: z
      .array(z.string().min(1))
      .optional()
      .describe("More hosts of the VirtualService, e.g. the external name a gateway serves."),
    gateways: z
      .array(z.string().min(1))
      .optional()
      .describe("Istio gateways the VirtualService binds to; mesh traffic is always included."),
    monolith: MigrationMonolith.describe("Where every request no phase has taken goes."),
    optInHeader: z
      .string()
      .regex(/^[a-z0-9][-a-z0-9_.]*$/, "must be a lower-case HTTP header name")
      .default("x-migration-phase")
      .describe(
        "A request matching a phase and carrying this header with the phase's name as value reaches the phase's new services at 100% from the phase's first step (testers opt in).",
      ),
    phases: z
      .array(MigrationPhase)
      .min(1)
      .describe("The phases, run one at a time in this order; a completed phase keeps its routes."),
    progressDeadlineSeconds: z
      .number()
      .int()
      .min(1)
      .default(600)
      .describe(
        "Longest the active phase may go without a passing validation (failed checks below the threshold, metrics unavailable and held); past it the phase rolls back. A paused phase waits for a person without a deadline.",
      ),
    alerts: z
      .array(AlertReference)
      .default([])
      .describe("Where phase changes, rollbacks and manual actions are announced."),
  })
  .superRefine((spec, ctx) => {
    const names = new Map<string, number>();
    spec.phases.forEach((p, i) => {
      const first = names.get(p.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["phases", i, "name"],
          message: `phase name ${p.name} is already used by phases.${first}`,
        });
      } else {
        names.set(p.name, i);
      }
      p.to.forEach((d, j) => {
        if (d.service === spec.monolith.service) {
          ctx.addIssue({
            code: "custom",
            path: ["phases", i, "to", j, "service"],
            message: `${d.service} is the monolith; a phase moves requests to other services`,
          });
        }
      });
      p.match.forEach((m, j) => {
        const optIn = Object.keys(m.headers ?? {}).find((h) => h.toLowerCase() === spec.optInHeader);
        if (optIn !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["phases", i, "match", j, "headers", optIn],
            message: `${optIn} is the opt-in header (spec.optInHeader); Wren adds it to the opt-in route itself`,
          });
        }
      });
    });
    // Phases claim disjoint requests, so their routes never depend on their order.
    spec.phases.forEach((p, i) => {
      spec.phases.slice(0, i).forEach((q, k) => {
        p.match.forEach((m, j) => {
          const clash = q.match.findIndex((other) => matchesOverlap(m, other));
          if (clash >= 0) {
            ctx.addIssue({
              code: "custom",
              path: ["phases", i, "match", j],
              message: `overlaps phases.${k}.match.${clash} (phase ${q.name}: ${describeMatch(q.match[clash] ?? {})}): a request could match both phases; tell them apart by uri or by a header both set`,
            });
          }
        });
      });
    });
  });

/** Overall state of a Migration. */
export const MigrationPhaseName = z.enum(["Progressing", "Paused", "Succeeded", "Failed"]);

/** State of one phase. */
export const MigrationPhaseState = z.enum([
  "Pending",
  "Progressing",
  "Paused",
  "Succeeded",
  "RolledBack",
  "Failed",
]);

/** The last validation of a phase: worst values across its new services. */
export const MigrationValidationResult = z.object({
  time: z.string(),
  verdict: z.enum(["Pass", "Fail", "Unavailable"]),
  errorRate: z.number().optional().describe("Highest 5xx percentage among the phase's new services."),
  p99Latency: z.number().optional().describe("Highest p99 request duration among them, in milliseconds."),
  throughput: z.number().optional().describe("Lowest request rate among them, in requests per second."),
  message: z.string().optional(),
});

/** Observed state of one phase. */
export const MigrationPhaseStatus = z.object({
  name: z.string(),
  state: MigrationPhaseState,
  percent: z.number().int().describe("Percent of the phase's matched requests on its new services."),
  stepIndex: z.number().int().optional().describe("Index in steps of the current step."),
  startTime: z.string().optional().describe("When the phase started."),
  stepStartTime: z.string().optional().describe("When the current step began (or the phase resumed)."),
  lastCheckTime: z
    .string()
    .optional()
    .describe("When the last validation ran, or the step began; the next is due validation.interval later."),
  failedChecks: z.number().int().optional(),
  unavailableChecks: z
    .number()
    .int()
    .optional()
    .describe("Consecutive validations in which metrics could not be read."),
  waitingSince: z
    .string()
    .optional()
    .describe(
      "Since when the phase has gone without a passing validation; bounded by progressDeadlineSeconds.",
    ),
  lastValidation: MigrationValidationResult.optional(),
  message: z.string().optional().describe("What the phase is doing, or why it failed."),
  lastTransitionTime: z.string().optional().describe("When the state last changed."),
});

/** Observed state of a Migration. Status is the controller's only memory. */
export const MigrationStatus = z.object({
  ...CommonStatusFields,
  phase: MigrationPhaseName.optional(),
  currentPhase: z
    .string()
    .optional()
    .describe("The phase manual actions apply to: the active one, else the failed one, else the next."),
  canaryWeight: z.number().int().optional().describe("The current phase's percent."),
  phases: z.array(MigrationPhaseStatus).optional(),
  lastTransitionTime: z.string().optional().describe("When the overall phase last changed."),
  lastAction: ConsumedAction.optional().describe(
    "The last manual action consumed, so each is consumed once.",
  ),
  metrics: z
    .array(MetricResult)
    .optional()
    .describe("The current phase's last validation, one result per service and check (service/check)."),
});

export type MigrationSpec = z.infer<typeof MigrationSpec>;
export type MigrationPhase = z.infer<typeof MigrationPhase>;
export type MigrationDestination = z.infer<typeof MigrationDestination>;
export type MigrationValidation = z.infer<typeof MigrationValidation>;
export type MigrationStatus = z.infer<typeof MigrationStatus>;
export type MigrationPhaseStatus = z.infer<typeof MigrationPhaseStatus>;
export type MigrationPhaseState = z.infer<typeof MigrationPhaseState>;
export type MigrationPhaseName = z.infer<typeof MigrationPhaseName>;
export type MigrationValidationResult = z.infer<typeof MigrationValidationResult>;

export const migrationKind: KindDefinition = {
  kind: "Migration",
  plural: "migrations",
  singular: "migration",
  shortNames: ["wmig"],
  categories: ["wren"],
  description:
    "Migration moves requests from a monolith to new services phase by phase (routes matched by uri or header), in steps gated by validation, with the monolith one step away.",
  spec: MigrationSpec,
  status: MigrationStatus,
  printerColumns: [
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "Current", type: "string", jsonPath: ".status.currentPhase" },
    { name: "Weight", type: "integer", jsonPath: ".status.canaryWeight" },
    { name: "Reason", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
    { name: "Host", type: "string", jsonPath: ".spec.host", priority: 1 },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
};
