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

// Notifications (src/notify). `provider` is the AlertProvider as namespace/name.

export const notificationsSent = new Counter({
  name: "wren_notifications_sent_total",
  help: "Notifications a provider accepted",
  labelNames: ["provider"],
  registers: [registry],
});

export const notificationsFailed = new Counter({
  name: "wren_notifications_failed_total",
  help: "Notifications given up on, by reason (rejected, http, unreachable, timeout, config)",
  labelNames: ["provider", "reason"],
  registers: [registry],
});

export const notificationsDropped = new Counter({
  name: "wren_notifications_dropped_total",
  help: "Notifications dropped unsent, by severity and reason (queue-full, shutdown)",
  labelNames: ["provider", "severity", "reason"],
  registers: [registry],
});

export const notificationRetries = new Counter({
  name: "wren_notification_retries_total",
  help: "Delivery attempts retried after a 429, a 5xx, a timeout or a network error",
  labelNames: ["provider"],
  registers: [registry],
});

export const notificationQueueLength = new Gauge({
  name: "wren_notification_queue_length",
  help: "Notifications waiting to be delivered, per provider",
  labelNames: ["provider"],
  registers: [registry],
});
