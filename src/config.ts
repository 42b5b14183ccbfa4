// Flags and environment -> typed configuration (zod). Flags win over environment.
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { z } from "zod";

export const Config = z.object({
  kubeconfig: z.string().optional().describe("Kubeconfig file; in-cluster or ~/.kube/config when unset."),
  namespace: z.string().optional().describe("Watch only this namespace; all namespaces when unset."),
  prometheusUrl: z
    .url()
    .default("http://prometheus.istio-system:9090")
    .describe("Prometheus for built-in metrics."),
  metricsAddress: z.string().default("0.0.0.0:8080").describe("Where /healthz, /readyz and /metrics listen."),
  leaderElect: z.boolean().default(true),
  leaseName: z.string().default("wren-controller"),
  leaseNamespace: z.string().default("wren-system"),
  identity: z.string().default(`${hostname()}-${process.pid}`).describe("This replica's name in the Lease."),
  workers: z.number().int().min(1).max(64).default(4).describe("Rollouts reconciled at once."),
  resyncSeconds: z.number().int().min(0).default(300),
  clusterName: z.string().default("kubernetes").describe("Cluster name shown in notifications."),
  defaultAlertProvider: z
    .string()
    .regex(/^[a-z0-9-]+\/[a-z0-9.-]+(:(info|warn|error))?$/, "must be namespace/name[:severity]")
    .optional()
    .describe("An AlertProvider every rollout notifies, as namespace/name[:minimum severity]."),
});
export type Config = z.infer<typeof Config>;

const flags = {
  kubeconfig: { type: "string" },
  namespace: { type: "string" },
  "prometheus-url": { type: "string" },
  "metrics-address": { type: "string" },
  "leader-elect": { type: "string" },
  "lease-name": { type: "string" },
  "lease-namespace": { type: "string" },
  identity: { type: "string" },
  workers: { type: "string" },
  "resync-seconds": { type: "string" },
  "cluster-name": { type: "string" },
  "default-alert-provider": { type: "string" },
} as const;

/** Parses argv and the environment (WREN_* and the usual KUBECONFIG, POD_NAME, POD_NAMESPACE). */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const { values } = parseArgs({ args: argv, options: flags, strict: true });
  const number = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const bool = (v: string | undefined) => (v === undefined ? undefined : v !== "false");
  const result = Config.safeParse({
    kubeconfig: values.kubeconfig,
    namespace: values.namespace ?? env.WREN_NAMESPACE,
    prometheusUrl: values["prometheus-url"] ?? env.WREN_PROMETHEUS_URL ?? env.PROMETHEUS_URL,
    metricsAddress: values["metrics-address"] ?? env.WREN_METRICS_ADDRESS,
    leaderElect: bool(values["leader-elect"] ?? env.WREN_LEADER_ELECT),
    leaseName: values["lease-name"],
    leaseNamespace: values["lease-namespace"] ?? env.POD_NAMESPACE,
    identity: values.identity ?? env.POD_NAME,
    workers: number(values.workers ?? env.WREN_WORKERS),
    resyncSeconds: number(values["resync-seconds"]),
    clusterName: values["cluster-name"] ?? env.WREN_CLUSTER_NAME,
    defaultAlertProvider: values["default-alert-provider"] ?? env.WREN_DEFAULT_ALERT_PROVIDER,
  });
  if (!result.success) {
    throw new Error(
      `invalid configuration: ${result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return result.data;
}
