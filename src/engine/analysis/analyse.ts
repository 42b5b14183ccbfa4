// Runs one interval's metric checks: build each query, ask the provider, judge the answer.
// One query per metric for the new version, plus one for the primary only when the check
// compares with it; every query of every check is in flight at once. Anything that keeps a
// value from being read (provider down, query error, no data, a broken template) is
// Unavailable with a message saying what, never Pass.
import { BuiltinMetricName, type MetricCheck } from "../../api/common.ts";
import type { MetricTemplateSpec } from "../../api/metric-template.ts";
import type { CheckResult } from "../../strategies/decision.ts";
import { judge } from "./judge.ts";
import type { MetricsProvider, QueryOutcome } from "./prometheus.ts";
import { builtinQuery, type QueryContext, renderTemplate } from "./queries.ts";

/** A MetricTemplate, its namespace resolved (a templateRef without one means the rollout's). */
export interface TemplateRef {
  namespace: string;
  name: string;
}

export interface AnalysisRequest {
  metrics: readonly MetricCheck[];
  /** context.interval is the analysis interval; a check's own interval overrides it. */
  context: QueryContext;
  /** The provider for a template's queries, or (no argument) the default one for built-ins. */
  providerFor: (templateRef?: TemplateRef) => MetricsProvider | Promise<MetricsProvider>;
  /** The spec of a MetricTemplate, or undefined when there is no such template. */
  templates: (ref: TemplateRef) => MetricTemplateSpec | undefined;
  /** Evaluation time of every query; Prometheus's "now" when unset. */
  time?: Date;
}

/** The queries one check needs, and who answers them. */
interface Plan {
  provider: MetricsProvider;
  query: string;
  /** Set only when the check compares with the primary. */
  primaryQuery?: string;
}

/** Runs every check concurrently and returns one result per check, in the order given. */
export function runChecks(request: AnalysisRequest): Promise<CheckResult[]> {
  return Promise.all(request.metrics.map((check) => runCheck(check, request)));
}

async function runCheck(check: MetricCheck, request: AnalysisRequest): Promise<CheckResult> {
  let plan: Plan;
  try {
    plan = await planCheck(check, request);
  } catch (error) {
    return unavailable(check, errorMessage(error));
  }
  const [canary, primary] = await Promise.all([
    ask(plan.provider, plan.query, request.time),
    plan.primaryQuery === undefined ? undefined : ask(plan.provider, plan.primaryQuery, request.time),
  ]);
  if (canary.kind !== "value") return unavailable(check, describe(canary, check.name));
  if (primary !== undefined && primary.kind !== "value") {
    return {
      ...unavailable(check, describe(primary, `the primary's ${check.name}`)),
      value: canary.value,
    };
  }
  return judge(check, canary.value, primary?.value);
}

async function planCheck(check: MetricCheck, request: AnalysisRequest): Promise<Plan> {
  const context = { ...request.context, interval: check.interval ?? request.context.interval };
  const comparesWithPrimary = check.maxIncreaseOverPrimary !== undefined;

  if (check.templateRef !== undefined) {
    const ref = { namespace: check.templateRef.namespace ?? context.namespace, name: check.templateRef.name };
    const template = request.templates(ref);
    if (template === undefined) throw new Error(`MetricTemplate ${ref.namespace}/${ref.name} not found`);
    const render = (target: string) =>
      renderTemplate(template.query, { ...context, target }, check.templateVariables);
    let query: string;
    let primaryQuery: string | undefined;
    try {
      query = render(context.target);
      // The stable version's value: the same query with {{ target }} standing for the primary.
      primaryQuery = comparesWithPrimary ? render(context.primary) : undefined;
    } catch (error) {
      throw new Error(`MetricTemplate ${ref.namespace}/${ref.name}: ${errorMessage(error)}`);
    }
    return { provider: await providerFor(request, ref), query, primaryQuery };
  }

  const builtin = BuiltinMetricName.safeParse(check.name);
  if (!builtin.success) throw new Error(`unknown built-in metric "${check.name}"; set templateRef`);
  const scope = (workload: string) => ({
    namespace: context.namespace,
    workload,
    interval: context.interval,
  });
  return {
    provider: await providerFor(request),
    query: builtinQuery(builtin.data, scope(context.target)),
    primaryQuery: comparesWithPrimary ? builtinQuery(builtin.data, scope(context.primary)) : undefined,
  };
}

async function providerFor(request: AnalysisRequest, ref?: TemplateRef): Promise<MetricsProvider> {
  try {
    return await request.providerFor(ref);
  } catch (error) {
    const which =
      ref === undefined ? "the default metrics provider" : `MetricTemplate ${ref.namespace}/${ref.name}`;
    throw new Error(`no metrics provider for ${which}: ${errorMessage(error)}`);
  }
}

/** A provider that throws instead of answering still yields an outcome. */
async function ask(provider: MetricsProvider, query: string, time: Date | undefined): Promise<QueryOutcome> {
  try {
    return await provider.instantQuery(query, time);
  } catch (error) {
    return {
      kind: "error",
      reason: "unreachable",
      message: `metrics provider failed: ${errorMessage(error)}`,
    };
  }
}

function describe(outcome: Exclude<QueryOutcome, { kind: "value" }>, what: string): string {
  if (outcome.kind === "no-data") return `no data for ${what}: ${outcome.message}`;
  return `cannot read ${what}: ${outcome.message}`;
}

function unavailable(check: MetricCheck, message: string): CheckResult {
  const result: CheckResult = { name: check.name, verdict: "Unavailable", message };
  if (check.thresholdRange !== undefined) result.thresholdRange = { ...check.thresholdRange };
  return result;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
