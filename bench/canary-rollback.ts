// Benchmark: how long a faulty canary keeps traffic. From the moment its
// VirtualService weight first goes above 0 to the moment it is back at 100/0,
// with interval 5s and threshold 2 (target: under 2 x 5 s + 5 s = 15 s).

import { CoreV1Api } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { applyObjects } from "../test/testbed/apply.ts";
import { customObjects, freshNamespace, startController, testbed, until } from "./lib.ts";

const runs = Number(process.argv[2] ?? 3);
const ns = "bench-rollback";
const { state, kc } = await testbed();
await freshNamespace(kc, ns);
const controller = await startController(state, ns);

const deploymentOf = (image: string, annotations: Record<string, string>) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "app", namespace: ns, labels: { app: "app" } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "app" } },
    template: {
      metadata: { labels: { app: "app" }, annotations },
      spec: { containers: [{ name: "app", image }] },
    },
  },
});

await applyObjects(kc, [
  deploymentOf("example.com/app:0", {}),
  {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "clients", namespace: ns, labels: { "meshsim.wren.dev/traffic": "true" } },
    data: { "traffic.yaml": stringify([{ host: "app", rps: 50 }]) },
  },
  {
    apiVersion: "wren.dev/v1alpha1",
    kind: "Canary",
    metadata: { name: "app", namespace: ns },
    spec: {
      targetRef: { name: "app" },
      service: { port: 80 },
      analysis: {
        interval: "5s",
        threshold: 2,
        maxWeight: 50,
        stepWeight: 10,
        metrics: [{ name: "request-success-rate", thresholdRange: { min: 99 }, interval: "10s" }],
      },
    },
  },
] as never);

type Canary = { status?: { phase?: string; canaryWeight?: number } };
const read = async () =>
  (await customObjects(kc).getNamespacedCustomObject({
    group: "wren.dev",
    version: "v1alpha1",
    namespace: ns,
    plural: "canaries",
    name: "app",
  })) as Canary;
type VS = { spec?: { http?: { route?: { weight?: number }[] }[] } };
const vsWeight = async () => {
  const vs = (await customObjects(kc).getNamespacedCustomObject({
    group: "networking.istio.io",
    version: "v1",
    namespace: ns,
    plural: "virtualservices",
    name: "app",
  })) as VS;
  return vs.spec?.http?.at(-1)?.route?.[1]?.weight ?? 0;
};

await until("Initialized", 60_000, async () =>
  ["Initialized", "Succeeded", "Failed"].includes((await read()).status?.phase ?? ""),
);
const results: number[] = [];
for (let i = 1; i <= runs; i++) {
  await applyObjects(kc, [
    deploymentOf(`example.com/app:${i}`, { "meshsim.wren.dev/error-rate": "0.2" }),
  ] as never);
  await until("canary traffic", 60_000, async () => (await vsWeight()) > 0, 50);
  const firstTraffic = Date.now();
  await until("back at 100/0", 60_000, async () => (await vsWeight()) === 0, 50);
  const seconds = (Date.now() - firstTraffic) / 1000;
  results.push(seconds);
  await until("Failed", 30_000, async () => (await read()).status?.phase === "Failed");
  console.log(`run ${i}: faulty canary had traffic for ${seconds.toFixed(1)} s (phase Failed)`);
}
await controller.stop();
// Leave the shared testbed as we found it: Services and pods hold cluster-wide capacity.
await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: ns });
const sorted = [...results].sort((a, b) => a - b);
console.log(
  `canary-rollback: interval 5s, threshold 2; first traffic -> 100/0: median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} s, ` +
    `min ${sorted[0]?.toFixed(1)} s, max ${sorted.at(-1)?.toFixed(1)} s over ${runs} runs (target < 15 s)`,
);
process.exit(0);
