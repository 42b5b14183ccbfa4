// Validation of a Migration phase's new services: one query per configured check
// and service, all in flight at once, judged by the analysis engine's judge.
// Anything that keeps a value from being read is Unavailable, never Pass; so is a
// pass on fewer requests than minRequests. A service no request reached fails
// minThroughput.
import type { MetricCheck } from "../api/common.ts";
import type { MigrationValidation } from "../api/migration.ts";
import type { CheckResult } from "../strategies/decision.ts";
import { durationMs } from "../strategies/duration.ts";
import type { ServiceValidation } from "../strategies/migration.ts";
import { judge } from "./analysis/judge.ts";
import type { MetricsProvider, QueryOutcome } from "./analysis/prometheus.ts";
import { namespaceTrafficQuery, type ServiceMetric, serviceQuery } from "./analysis/service-queries.ts";

export interface ValidationRequest {
  provider: MetricsProvider;
  namespace: string;
  services: readonly string[];
  validation: MigrationValidation;
  /** Range of every query. */
  range: string;
  /** How long the phase's routes have sent requests to the services; unknown when undefined. */
  routedForMs?: number;
}

type Check = { metric: ServiceMetric; check: MetricCheck };

/** The checks a phase's validation configures, in a fixed order. */
function checksOf(v: MigrationValidation): Check[] {
  const checks: Check[] = [];
  if (v.maxErrorRate !== undefined) {
    checks.push({
      metric: "errorRate",
      check: { name: "errorRate", thresholdRange: { max: v.maxErrorRate } },
    });
  }
  if (v.maxP99Latency !== undefined) {
    const max = durationMs(v.maxP99Latency);
    checks.push({ metric: "p99Latency", check: { name: "p99Latency", thresholdRange: { max } } });
  }
  if (v.minThroughput !== undefined) {
    const min = v.minThroughput;
    checks.push({ metric: "throughput", check: { name: "throughput", thresholdRange: { min } } });
  }
  return checks;
}

/**
 * Validates every service concurrently; one result per service, in the order given.
 * A throughput of 0 counts only when Prometheus holds mesh data for the namespace
 * over the same range; otherwise nobody knows whether requests arrived (Unavailable).
 */
export function validateServices(request: ValidationRequest): Promise<ServiceValidation[]> {
  const checks = checksOf(request.validation);
  const meshData = checks.some((c) => c.metric === "throughput")
    ? ask(request.provider, () => namespaceTrafficQuery(request.namespace, request.range))
    : undefined;
  return Promise.all(request.services.map((service) => validateService(request, service, checks, meshData)));
}

async function validateService(
  request: ValidationRequest,
  service: string,
  checks: Check[],
  meshData: Promise<QueryOutcome> | undefined,
): Promise<ServiceValidation> {
  const scope = { namespace: request.namespace, service, range: request.range };
  const judged = checks.some((c) => c.metric === "errorRate" || c.metric === "p99Latency");
  const requests = judged ? ask(request.provider, () => serviceQuery("requests", scope)) : undefined;
  const results = await Promise.all(
    checks.map(async ({ metric, check }) => {
      const outcome = await ask(request.provider, () => serviceQuery(metric, scope));
      if (outcome.kind !== "value") {
        const what = outcome.kind === "no-data" ? "no data" : "cannot read it";
        return unavailable(check, `${what}: ${outcome.message}`);
      }
      if (metric === "throughput" && outcome.value === 0) {
        return zeroThroughput(request, service, check, meshData);
      }
      const result = judge(check, outcome.value);
      if (result.verdict !== "Pass" || requests === undefined || metric === "throughput") return result;
      return enoughRequests(request, result, await requests);
    }),
  );
  return { service, checks: results };
}

/** Runs one query; a query that cannot be built, or a provider that throws, is an error outcome. */
async function ask(provider: MetricsProvider, query: () => string): Promise<QueryOutcome> {
  try {
    return await provider.instantQuery(query());
  } catch (error) {
    return {
      kind: "error",
      reason: "unreachable",
      message: error instanceof Error ? error.message : String(error),
    };
  }
}

function unavailable(check: MetricCheck, message: string): CheckResult {
  return { name: check.name, verdict: "Unavailable", thresholdRange: { ...check.thresholdRange }, message };
}

/** A pass stands only on minRequests requests or more: two lucky requests say nothing. */
function enoughRequests(request: ValidationRequest, result: CheckResult, count: QueryOutcome): CheckResult {
  const min = request.validation.minRequests;
  if (count.kind !== "value") {
    return {
      ...result,
      verdict: "Unavailable",
      message: `cannot count the requests it served: ${count.message}`,
    };
  }
  if (count.value >= min) return result;
  return {
    ...result,
    verdict: "Unavailable",
    message: `${result.message}, but on too few requests to judge: ${Math.round(count.value)} in the last ${request.range} (minRequests ${min})`,
  };
}

/**
 * No request counted. Before the routes have been in place for the whole range, or
 * without mesh data for the namespace over it, that means "unknown" (Unavailable);
 * otherwise no request reached the service (Fail).
 */
async function zeroThroughput(
  request: ValidationRequest,
  service: string,
  check: MetricCheck,
  meshData: Promise<QueryOutcome> | undefined,
): Promise<CheckResult> {
  const routedFor = request.routedForMs;
  if (routedFor !== undefined && routedFor < durationMs(request.range)) {
    // Most of the range predates the routes, and a new series shows only after two scrapes:
    // zero says nothing yet. Held as Unavailable, never a pass, until the range is all routed.
    return unavailable(
      check,
      `no requests counted yet: the routes to Service ${service} have been in place for ${Math.round(routedFor / 1000)}s, less than the ${request.range} the check reads`,
    );
  }
  const mesh = await meshData;
  if (mesh?.kind !== "value") {
    return unavailable(
      check,
      `no mesh data for namespace ${request.namespace} over the last ${request.range} (Prometheus restarting, or not scraping the mesh?)${mesh ? `: ${mesh.message}` : ""}`,
    );
  }
  const result = judge(check, 0);
  result.message = `no requests reached Service ${service} in the last ${request.range} (its pods' sidecars reported none): is it ready, on the right port, with a sidecar?`;
  return result;
}
