// The PromQL of a ControlPlaneUpgrade's built-in checks: the data plane of the
// namespaces a wave moved (Istio's request metrics, as the destination's sidecar
// reports them) and the health of the new revision's istiod. Pure.
import type { z } from "zod";
import { Duration } from "../../api/common.ts";
import type { ControlPlaneMetricName } from "../../api/control-plane-upgrade.ts";
import { escapeLabelValue, QueryError } from "../analysis/queries.ts";

export type ControlPlaneMetric = z.infer<typeof ControlPlaneMetricName>;

/** What a wave's checks are about. */
export interface WaveScope {
  /** The namespaces whose workloads serve the judged traffic. */
  namespaces: readonly string[];
  /** The revision the wave moved to: istiod metrics carry it in their `revision` label. */
  revision: string;
  interval: string;
}

/** The namespaces as one anchored regular expression for `=~`. Namespace names carry no regex metacharacters. */
export function namespacesRegex(namespaces: readonly string[]): string {
  return namespaces.map(escapeLabelValue).join("|");
}

/** The PromQL of a built-in check for a wave. */
export function waveQuery(metric: ControlPlaneMetric, scope: WaveScope): string {
  if (!Duration.safeParse(scope.interval).success) {
    throw new QueryError(`interval "${scope.interval}" is not a duration such as 30s, 1m or 1h30m`);
  }
  if (scope.namespaces.length === 0) throw new QueryError("the wave has no namespaces to judge");
  const range = `[${scope.interval}]`;
  const dest = `reporter="destination",destination_workload_namespace=~"${namespacesRegex(scope.namespaces)}"`;
  const rev = `revision="${escapeLabelValue(scope.revision)}"`;
  // Istio exports error series only once something went wrong: no series is zero errors,
  // but only if istiod's metrics are there at all (else the sum is empty: no data, never a pass).
  const orZeroIfScraped = `or (sum(rate(pilot_xds_pushes{${rev}}${range})) * 0)`;
  switch (metric) {
    case "request-success-rate":
      // 0/0 (no traffic) is NaN, which the provider reports as no data.
      return (
        `sum(rate(istio_requests_total{${dest},response_code!~"5.*"}${range})) / ` +
        `sum(rate(istio_requests_total{${dest}}${range})) * 100`
      );
    case "request-duration":
      return `histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{${dest}}${range})) by (le))`;
    case "istiod-xds-rejects":
      return `sum(rate(pilot_total_xds_rejects{${rev}}${range})) ${orZeroIfScraped}`;
    case "istiod-push-errors":
      return `sum(rate(pilot_xds_pushes{${rev},type=~".*_(senderr|builderr)"}${range})) ${orZeroIfScraped}`;
    case "istiod-convergence-p99":
      return `histogram_quantile(0.99, sum(rate(pilot_proxy_convergence_time_bucket{${rev}}${range})) by (le))`;
  }
}
