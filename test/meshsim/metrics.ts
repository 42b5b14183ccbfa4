// Istio's standard request metrics, as the sidecars' stats filter exports them:
// counter `istio_requests_total` and histogram `istio_request_duration_milliseconds`
// with Istio's label set. Every request is recorded by the reporter(s) that would
// see it: the source sidecar ("source") and the serving pod's sidecar
// ("destination"). One series object holds both metrics, since Istio's counter and
// the histogram's _count always agree.
//
// Cardinality stays bounded: series exist only for label combinations traffic
// actually produced, and `collectIdle` drops those that stopped moving (in Istio
// they vanish with the pod that exported them).

import { type ExpositionWriter, encodePrefix, formatLabels, HistogramCell } from "./prom.ts";
import type { ServiceRef } from "./resolve.ts";
import type { PeerIdentity } from "./workload.ts";

export const ISTIO_DURATION_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];

export const REQUEST_LABEL_NAMES = [
  "reporter",
  "source_workload",
  "source_canonical_service",
  "source_canonical_revision",
  "source_workload_namespace",
  "source_principal",
  "source_app",
  "source_version",
  "source_cluster",
  "destination_workload",
  "destination_workload_namespace",
  "destination_principal",
  "destination_app",
  "destination_version",
  "destination_service",
  "destination_service_name",
  "destination_service_namespace",
  "destination_canonical_service",
  "destination_canonical_revision",
  "destination_cluster",
  "request_protocol",
  "response_code",
  "grpc_response_status",
  "response_flags",
  "connection_security_policy",
] as const;

export type Reporter = "source" | "destination";

const CLUSTER = "Kubernetes";

export interface RequestLabels {
  readonly reporter: Reporter;
  readonly source: PeerIdentity;
  readonly destination: PeerIdentity;
  readonly service: ServiceRef;
  readonly responseCode: number;
  /** Envoy response flags: "-" for none, "UH", "NC", "NR", "UF", "FI", ... */
  readonly responseFlags: string;
}

export function requestLabelValues(l: RequestLabels): string[] {
  const s = l.source;
  const d = l.destination;
  return [
    l.reporter,
    s.workload,
    s.canonicalService,
    s.canonicalRevision,
    s.namespace,
    s.principal,
    s.app,
    s.version,
    CLUSTER,
    d.workload,
    d.namespace,
    d.principal,
    d.app,
    d.version,
    l.service.fqdn,
    l.service.name,
    l.service.namespace,
    d.canonicalService,
    d.canonicalRevision,
    CLUSTER,
    "http",
    String(l.responseCode),
    "",
    l.responseFlags,
    // The server side sees the mTLS handshake; the client side reports "unknown".
    l.reporter === "destination" ? "mutual_tls" : "unknown",
  ];
}

/** One label combination: the counter is `count`, the histogram is the cell. */
export class RequestSeries extends HistogramCell {
  readonly labels: string;
  /** For idle collection: the count at the last sweep and when it last moved. */
  sweptCount = 0;
  movedAt: number;
  private counterPrefix: Buffer | undefined;

  constructor(labels: string, now: number) {
    super(ISTIO_DURATION_BUCKETS);
    this.labels = labels;
    this.movedAt = now;
  }

  renderCounter(w: ExpositionWriter): void {
    this.counterPrefix ??= encodePrefix("istio_requests_total", this.labels);
    w.sample(this.counterPrefix, this.count);
  }
}

export class IstioMetrics {
  private readonly series = new Map<string, RequestSeries>();
  private readonly now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
  }

  /** The series for a label set, created on first use. Callers keep the handle. */
  request(labels: RequestLabels): RequestSeries {
    const values = requestLabelValues(labels);
    const key = values.join("\u0001");
    let s = this.series.get(key);
    if (!s) {
      s = new RequestSeries(formatLabels(REQUEST_LABEL_NAMES, values), this.now());
      this.series.set(key, s);
    }
    return s;
  }

  get size(): number {
    return this.series.size;
  }

  /**
   * Drops series that did not move for `ttlMs`. Handles held by callers become
   * detached, so callers must re-resolve their handles afterwards (the traffic
   * generator does it by recompiling its plans).
   */
  collectIdle(ttlMs: number): number {
    const now = this.now();
    let dropped = 0;
    for (const [key, s] of this.series) {
      if (s.count !== s.sweptCount) {
        s.sweptCount = s.count;
        s.movedAt = now;
      } else if (now - s.movedAt >= ttlMs) {
        this.series.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  render(w: ExpositionWriter): void {
    if (this.series.size === 0) return;
    w.header("istio_requests_total", "Total requests.", "counter");
    for (const s of this.series.values()) s.renderCounter(w);
    const hist = "istio_request_duration_milliseconds";
    w.header(hist, "Request duration in milliseconds.", "histogram");
    for (const s of this.series.values()) s.render(w, hist, s.labels);
  }
}
