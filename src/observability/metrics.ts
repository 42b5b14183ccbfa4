// Controller metrics (prom-client), served on /metrics. Label names follow the
// CRD field names (one concept, one name).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: "wren_process_" });

const rollout = ["kind", "namespace", "name"] as const;

export const rolloutPhase = new Gauge({
  name: "wren_rollout_phase",
  help: "1 for the phase each rollout is in, 0 for the others it has been in",
  labelNames: [...rollout, "phase"],
  registers: [registry],
});

export const rolloutWeight = new Gauge({
  name: "wren_rollout_canary_weight",
  help: "Percent of traffic the new version receives",
  labelNames: rollout,
  registers: [registry],
});

export const analysisValue = new Gauge({
  name: "wren_analysis_metric_value",
  help: "Last value read for each analysis metric",
  labelNames: [...rollout, "metric"],
  registers: [registry],
});

export const analysisVerdicts = new Counter({
  name: "wren_analysis_checks_total",
  help: "Analysis checks by verdict (Pass, Fail, Unavailable)",
  labelNames: [...rollout, "metric", "verdict"],
  registers: [registry],
});

export const reconcileDuration = new Histogram({
  name: "wren_reconcile_duration_seconds",
  help: "Time one reconcile (observe, decide, act, record) takes",
  labelNames: ["kind"],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const reconcileErrors = new Counter({
  name: "wren_reconcile_errors_total",
  help: "Reconciles that ended in an error and were requeued",
  labelNames: ["kind"],
  registers: [registry],
});

export const prometheusQueryDuration = new Histogram({
  name: "wren_prometheus_query_duration_seconds",
  help: "Time Prometheus queries take",
  labelNames: ["provider"],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const prometheusQueryErrors = new Counter({
  name: "wren_prometheus_query_errors_total",
  help: "Prometheus queries that failed, by reason (unreachable, http, query, no-data)",
  labelNames: ["provider", "reason"],
  registers: [registry],
});

export const kubernetesWrites = new Counter({
  name: "wren_kubernetes_writes_total",
  help: "Writes to the Kubernetes API, by resource and verb",
  labelNames: ["resource", "verb"],
  registers: [registry],
});
