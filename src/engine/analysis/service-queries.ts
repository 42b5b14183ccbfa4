// PromQL for one Service's Istio metrics, as its own pods' sidecars report them
// (reporter="destination"): what the Service actually served, so requests that
// never reached a ready pod count as no traffic rather than as its errors. Pure.
// The Migration kind validates its new services with these; a Canary scopes its
// built-in metrics by workload instead (queries.ts).
//
// Requests are counted per series as what happened within the range: increase()
// for series older than the range, and the whole value of series born within it.
// rate() and increase() alone cannot see a counter's first increment (its first
// sample is already 1), so a new service receiving a request every few seconds
// would read as idle, and its first 5xx answers as none: a failing service could
// pass its first validation. Counting new series from 0 closes that gap.
import { Duration } from "../../api/common.ts";
import { durationMs } from "../../strategies/duration.ts";
import { escapeLabelValue, QueryError } from "./queries.ts";

/** One Service in one namespace over one range. */
export interface ServiceScope {
  namespace: string;
  service: string;
  /** Range of the query, a duration such as 30s or 1m. */
  range: string;
}

export type ServiceMetric = "errorRate" | "p99Latency" | "throughput" | "requests";

function selector(scope: ServiceScope): string {
  const ns = escapeLabelValue(scope.namespace);
  const svc = escapeLabelValue(scope.service);
  return `reporter="destination",destination_service_namespace="${ns}",destination_service_name="${svc}"`;
}

function checkRange(range: string): string {
  if (!Duration.safeParse(range).success) {
    throw new QueryError(`range "${range}" is not a duration such as 30s, 1m or 1h30m`);
  }
  return range;
}

/** Each series' count within the range: increase() if it is older than the range, else its whole value. */
function withinRange(series: string, range: string): string {
  return `((increase(${series}[${range}]) and ${series} offset ${range}) or (${series} unless ${series} offset ${range}))`;
}

/**
 * Every Istio request to any Service of a namespace over the range, as any sidecar
 * reported it. Empty when Prometheus holds no mesh data for that window (it just
 * restarted, or does not scrape the mesh): then a Service's 0 requests per second
 * means "unknown", not "none".
 */
export function namespaceTrafficQuery(namespace: string, range: string): string {
  return `sum(rate(istio_requests_total{destination_service_namespace="${escapeLabelValue(namespace)}"}[${checkRange(range)}]))`;
}

/** The PromQL of a Service metric. */
export function serviceQuery(metric: ServiceMetric, scope: ServiceScope): string {
  const range = checkRange(scope.range);
  const sel = selector(scope);
  const requests = withinRange(`istio_requests_total{${sel}}`, range);
  switch (metric) {
    case "errorRate": {
      // Percent of requests answered with a 5xx. No 5xx series at all is 0 errors;
      // no requests at all is 0/0, which reads as no data.
      const errors = withinRange(`istio_requests_total{${sel},response_code=~"5.."}`, range);
      return `(sum(${errors}) or vector(0)) / sum(${requests}) * 100`;
    }
    case "p99Latency":
      return `histogram_quantile(0.99, sum by (le) (${withinRange(`istio_request_duration_milliseconds_bucket{${sel}}`, range)}))`;
    case "requests":
      // How many requests the Service served within the range.
      return `sum(${requests}) or vector(0)`;
    case "throughput":
      // Requests per second. No series is a real 0: a minimum then fails instead of waiting.
      return `(sum(${requests}) or vector(0)) / ${durationMs(range) / 1000}`;
  }
}
