// One round of a wave's checks: build each query (built-in or MetricTemplate),
// ask the provider, judge the answer with the shared judge. Anything that keeps a
// value from being read is Unavailable with a message saying what, never Pass.
import type { ControlPlaneCheck } from "../../api/control-plane-upgrade.ts";
import { ControlPlaneMetricName } from "../../api/control-plane-upgrade.ts";
import type { MetricTemplateSpec } from "../../api/metric-template.ts";
import type { CheckResult } from "../../strategies/decision.ts";
import type { TemplateRef } from "../analysis/analyse.ts";
import { judge } from "../analysis/judge.ts";
import type { MetricsProvider } from "../analysis/prometheus.ts";
import { renderTemplate } from "../analysis/queries.ts";
import { namespacesRegex, waveQuery } from "./queries.ts";

export interface WaveAnalysisRequest {
  checks: readonly ControlPlaneCheck[];
  /** The namespaces whose traffic is judged. */
  namespaces: readonly string[];
  from: string;
  to: string;
  /** The analysis interval; a check's own interval overrides it. */
  interval: string;
  /** The rollout's namespace: a templateRef without a namespace means this one. */
  namespace: string;
  /** The provider of a template's queries, or (no argument) the default one for built-ins. */
  providerFor: (ref?: TemplateRef) => MetricsProvider | Promise<MetricsProvider>;
  templates: (ref: TemplateRef) => MetricTemplateSpec | undefined;
}

/** Runs every check at once; one result per check, in order. */
export function runWaveChecks(request: WaveAnalysisRequest): Promise<CheckResult[]> {
  return Promise.all(request.checks.map((check) => runCheck(check, request)));
}

async function runCheck(check: ControlPlaneCheck, request: WaveAnalysisRequest): Promise<CheckResult> {
  const interval = check.interval ?? request.interval;
  let provider: MetricsProvider;
  let query: string;
  try {
    if (check.templateRef !== undefined) {
      const ref = {
        namespace: check.templateRef.namespace ?? request.namespace,
        name: check.templateRef.name,
      };
      const template = request.templates(ref);
      if (template === undefined) throw new Error(`MetricTemplate ${ref.namespace}/${ref.name} not found`);
      query = renderTemplate(
        template.query,
        {
          namespace: namespacesRegex(request.namespaces),
          target: request.to,
          primary: request.from,
          service: "",
          interval,
        },
        check.templateVariables,
      );
      provider = await request.providerFor(ref);
    } else {
      const metric = ControlPlaneMetricName.parse(check.name);
      query = waveQuery(metric, { namespaces: request.namespaces, revision: request.to, interval });
      provider = await request.providerFor();
    }
  } catch (error) {
    return unavailable(check, errorMessage(error));
  }
  let outcome: Awaited<ReturnType<MetricsProvider["instantQuery"]>>;
  try {
    outcome = await provider.instantQuery(query);
  } catch (error) {
    return unavailable(check, `metrics provider failed: ${errorMessage(error)}`);
  }
  if (outcome.kind === "no-data") return unavailable(check, `no data for ${check.name}: ${outcome.message}`);
  if (outcome.kind === "error") return unavailable(check, `cannot read ${check.name}: ${outcome.message}`);
  return judge({ name: check.name, thresholdRange: check.thresholdRange }, outcome.value);
}

function unavailable(check: ControlPlaneCheck, message: string): CheckResult {
  return { name: check.name, verdict: "Unavailable", thresholdRange: { ...check.thresholdRange }, message };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
