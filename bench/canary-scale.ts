// Benchmark: N Canaries progressing at once on the testbed. Reports the
// controller's CPU and memory, Prometheus queries and API writes per minute, and
// VirtualService writes against weight changes. Asserts nothing.
//
//   node bench/canary-scale.ts [canaries=200] [interval=30s] [measureSeconds=120]
import { CoreV1Api } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { applyObjects } from "../test/testbed/apply.ts";
import {
  counterTotal,
  cpuSeconds,
  customObjects,
  freshNamespace,
  rssMb,
  startController,
  testbed,
  until,
} from "./lib.ts";

const count = Number(process.argv[2] ?? 200);
const interval = process.argv[3] ?? "30s";
const measureSeconds = Number(process.argv[4] ?? 120);
const ns = "bench-scale";
const names = Array.from({ length: count }, (_, i) => `app-${String(i).padStart(3, "0")}`);

const { state, kc } = await testbed();
await freshNamespace(kc, ns);

const deploymentOf = (name: string, image: string) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: ns, labels: { app: name } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image }] } },
  },
});
const apply = async (objects: object[]) => {
  // A few at a time: the API server is shared with kube-controller-manager and meshsim.
  for (let i = 0; i < objects.length; i += 20) {
    await Promise.all(objects.slice(i, i + 20).map((o) => applyObjects(kc, [o] as never)));
  }
};

console.log(`creating ${count} Deployments and Canaries (interval ${interval}) ...`);
await apply(names.map((n) => deploymentOf(n, "example.com/app:1")));
await applyObjects(kc, [
  {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "clients", namespace: ns, labels: { "meshsim.wren.dev/traffic": "true" } },
    data: { "traffic.yaml": stringify(names.map((host) => ({ host, rps: 5 }))) },
  },
] as never);
await apply(
  names.map((n) => ({
    apiVersion: "wren.dev/v1alpha1",
    kind: "Canary",
    metadata: { name: n, namespace: ns },
    spec: {
      targetRef: { name: n },
      service: { port: 80 },
      analysis: {
        interval,
        threshold: 3,
        maxWeight: 50,
        stepWeight: 10,
        metrics: [{ name: "request-success-rate", thresholdRange: { min: 90 }, interval: "1m" }],
        metricsUnavailable: { action: "hold", after: 3 },
      },
    },
  })),
);
const controller = await startController(state, ns, 4);
const pid = controller.child.pid ?? 0;
type List = { items: { status?: { phase?: string; canaryWeight?: number } }[] };
const list = async () =>
  (
    (await customObjects(kc).listNamespacedCustomObject({
      group: "wren.dev",
      version: "v1alpha1",
      namespace: ns,
      plural: "canaries",
    })) as List
  ).items;
const started = Date.now();
await until(
  "all Initialized",
  600_000,
  async () => (await list()).every((c) => c.status?.phase === "Initialized"),
  2000,
);
console.log(`all ${count} initialised in ${((Date.now() - started) / 1000).toFixed(0)} s`);

await apply(names.map((n) => deploymentOf(n, "example.com/app:2")));
await until(
  "all progressing",
  300_000,
  async () => (await list()).every((c) => (c.status?.canaryWeight ?? 0) > 0),
  2000,
);
console.log(`all ${count} progressing; measuring for ${measureSeconds} s`);

const snapshot = async () => ({
  at: Date.now(),
  cpu: cpuSeconds(pid),
  queries: await counterTotal(controller.metricsUrl, "wren_prometheus_query_duration_seconds_count"),
  writes: await counterTotal(controller.metricsUrl, "wren_kubernetes_writes_total"),
  vsWrites: await counterTotal(
    controller.metricsUrl,
    "wren_kubernetes_writes_total",
    'resource="virtualservices"',
  ),
  statusWrites: await counterTotal(
    controller.metricsUrl,
    "wren_kubernetes_writes_total",
    'resource="canaries/status"',
  ),
  weights: (await list()).reduce((sum, c) => sum + (c.status?.canaryWeight ?? 0), 0),
});
const before = await snapshot();
let peakRss = rssMb(pid);
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, rssMb(pid));
}, 1000);
await new Promise((r) => setTimeout(r, measureSeconds * 1000));
clearInterval(sampler);
const after = await snapshot();
const minutes = (after.at - before.at) / 60_000;
const phases = (await list()).reduce<Record<string, number>>((acc, c) => {
  acc[c.status?.phase ?? "none"] = (acc[c.status?.phase ?? "none"] ?? 0) + 1;
  return acc;
}, {});
const intervalSeconds = Number.parseInt(interval, 10);
console.log(
  [
    `canary-scale: ${count} Canaries, interval ${interval}, measured ${(minutes * 60).toFixed(0)} s`,
    `  controller CPU: ${((after.cpu - before.cpu) / (minutes * 60)).toFixed(3)} cores on average`,
    `  controller RSS: ${peakRss.toFixed(0)} MB peak`,
    `  Prometheus queries: ${((after.queries - before.queries) / minutes).toFixed(0)} per minute (one metric per canary per interval would be ${((count * 60) / intervalSeconds).toFixed(0)})`,
    `  API writes: ${((after.writes - before.writes) / minutes).toFixed(0)} per minute (status ${((after.statusWrites - before.statusWrites) / minutes).toFixed(0)}, VirtualService ${((after.vsWrites - before.vsWrites) / minutes).toFixed(0)})`,
    `  canary weight moved by ${after.weights - before.weights} percentage points in total (steps of 10: ${((after.weights - before.weights) / 10).toFixed(0)} weight changes)`,
    `  phases now: ${JSON.stringify(phases)}`,
  ].join("\n"),
);
await controller.stop();
// Leave the shared testbed as we found it: Services and pods hold cluster-wide capacity.
await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: ns });
process.exit(0);
