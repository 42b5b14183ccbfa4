// The PromQL Wren sends: built-in metrics over Istio's standard metrics, and rendered
// MetricTemplate queries. Pure. Strategies never write PromQL; this file is the one place that does.
import type { z } from "zod";
import { type BuiltinMetricName, Duration } from "../../api/common.ts";
import {
  hasUnterminatedVariable,
  TemplateVariableNames,
  templateVariablePattern,
} from "../../api/metric-template.ts";

export type BuiltinMetric = z.infer<typeof BuiltinMetricName>;

/** What a query is about: the rollout's workloads and the range each rate is taken over. */
export interface QueryContext {
  namespace: string;
  /** The new version's workload (the Deployment people edit). */
  target: string;
  /** The stable workload. */
  primary: string;
  service: string;
  /** Range of the query, a duration such as 30s or 1m. */
  interval: string;
}

/** The built-in metrics' scope: one workload in one namespace over one interval. */
export interface WorkloadScope {
  namespace: string;
  workload: string;
  interval: string;
}

/** A query that cannot be built (unknown variable, malformed interval); never sent. */
export class QueryError extends Error {
  override name = "QueryError";
}

/** Escapes a value for use inside a double-quoted PromQL string. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

function checkInterval(interval: string): string {
  if (!Duration.safeParse(interval).success) {
    throw new QueryError(`interval "${interval}" is not a duration such as 30s, 1m or 1h30m`);
  }
  return interval;
}

function istioSelector(scope: WorkloadScope): string {
  const ns = escapeLabelValue(scope.namespace);
  const workload = escapeLabelValue(scope.workload);
  return `reporter="destination",destination_workload_namespace="${ns}",destination_workload="${workload}"`;
}

/** The PromQL of a built-in metric for one workload. */
export function builtinQuery(metric: BuiltinMetric, scope: WorkloadScope): string {
  const selector = istioSelector(scope);
  const range = `[${checkInterval(scope.interval)}]`;
  switch (metric) {
    case "request-success-rate":
      // Percent of requests that did not answer 5xx. 0/0 (no traffic) is NaN, which the
      // provider adapter reports as no data.
      return (
        `sum(rate(istio_requests_total{${selector},response_code!~"5.*"}${range})) / ` +
        `sum(rate(istio_requests_total{${selector}}${range})) * 100`
      );
    case "request-duration":
      return `histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{${selector}}${range})) by (le))`;
    case "request-throughput":
      // `or vector(0)`: no traffic is a real 0 rps, so a minimum throughput fails a canary
      // that receives nothing instead of leaving it "unavailable" forever.
      return `sum(rate(istio_requests_total{${selector}}${range})) or vector(0)`;
  }
}

/**
 * Renders a MetricTemplate query: `{{ namespace }}`, `{{ target }}`, `{{ primary }}`,
 * `{{ service }}`, `{{ interval }}` and `{{ variables.NAME }}` from `variables`.
 * Values are escaped for double-quoted label values; the interval is checked to be a
 * duration. Throws QueryError naming every variable it cannot fill.
 */
export function renderTemplate(
  query: string,
  context: QueryContext,
  variables: Readonly<Record<string, string>> = {},
): string {
  const interval = checkInterval(context.interval);
  const values = new Map<string, string>([
    ["namespace", escapeLabelValue(context.namespace)],
    ["target", escapeLabelValue(context.target)],
    ["primary", escapeLabelValue(context.primary)],
    ["service", escapeLabelValue(context.service)],
    ["interval", interval],
  ]);
  for (const [name, value] of Object.entries(variables)) {
    values.set(`variables.${name}`, escapeLabelValue(value));
  }

  const unknown = new Set<string>();
  const rendered = query.replace(templateVariablePattern, (_match, expression: string) => {
    const value = values.get(expression);
    if (value === undefined) unknown.add(expression);
    return value ?? "";
  });
  if (unknown.size > 0) {
    const names = [...unknown].map((v) => `"${v}"`).join(", ");
    const custom = Object.keys(variables);
    throw new QueryError(
      `unknown template variable${unknown.size > 1 ? "s" : ""} ${names}; known: ${[
        ...TemplateVariableNames,
        ...custom.map((name) => `variables.${name}`),
      ].join(", ")}`,
    );
  }
  if (hasUnterminatedVariable(query)) throw new QueryError("a {{ in the query is never closed with }}");
  return rendered;
}
