// Benchmark: a ControlPlaneUpgrade of 50 namespaces x 4 Deployments on the
// testbed, waves 10/25/50/100 with one 10 s round of checks per wave. Reports the
// time of each wave (relabel + restart + rollout, then analysis), the total, the
// controller's writes to the API (by resource) and the LISTs the API server served
// for pods and Deployments meanwhile (other clients of the testbed count too).
//
//   npx node bench/controlplane-upgrade.ts [namespaces] [deployments]
import { request as httpRequest, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { AppsV1Api, CoreV1Api, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { stringify } from "yaml";
import type { ControlPlaneUpgradeStatus } from "../src/api/control-plane-upgrade.ts";
import { applyObjects } from "../test/testbed/apply.ts";
import { cpuSeconds, customObjects, freshNamespace, rssMb, startController, testbed, until } from "./lib.ts";

const namespaceCount = Number(process.argv[2] ?? 50);
const deploymentCount = Number(process.argv[3] ?? 4);
const controllerNamespace = "bench-cpu";
const from = "1-23-0-bench";
const to = "1-24-0-bench";
const label = "wren.dev/bench-cpu";
const names = Array.from({ length: namespaceCount }, (_, i) => `bench-cpu-${String(i).padStart(2, "0")}`);

const { state, kc } = await testbed();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);

function istiod(revision: string): KubernetesObject {
  const labels = { app: "istiod", "istio.io/rev": revision };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `istiod-${revision}`, namespace: "istio-system", labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: "discovery", image: "pilot" }] } },
    },
  } as KubernetesObject;
}

function meshNamespace(name: string): KubernetesObject[] {
  const objects: KubernetesObject[] = [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, labels: { [label]: "true", "istio.io/rev": from } },
    },
  ];
  const hosts: string[] = [];
  for (let d = 0; d < deploymentCount; d++) {
    const app = `app-${d}`;
    hosts.push(app);
    objects.push(
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: app, namespace: name, labels: { app } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app } },
          template: {
            metadata: { labels: { app } },
            spec: { containers: [{ name: "app", image: "app:1" }] },
          },
        },
      } as KubernetesObject,
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: app, namespace: name },
        spec: { selector: { app }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
      } as KubernetesObject,
    );
  }
  objects.push({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "clients", namespace: name, labels: { "meshsim.wren.dev/traffic": "true" } },
    data: { "traffic.yaml": stringify(hosts.map((host) => ({ host, rps: 1 }))) },
  } as KubernetesObject);
  return objects;
}

/** Every pod of every benchmark namespace carries `revision`. */
async function allOn(revision: string): Promise<boolean> {
  const pods = await core.listPodForAllNamespaces({ labelSelector: "app" });
  const ours = pods.items.filter(
    (p) => names.includes(p.metadata?.namespace ?? "") && !p.metadata?.deletionTimestamp,
  );
  return (
    ours.length === namespaceCount * deploymentCount &&
    ours.every((p) => p.metadata?.annotations?.["istio.io/rev"] === revision)
  );
}

/** The API server's own /metrics (plain text), with the testbed admin's credentials. */
async function metricsText(config: KubeConfig): Promise<string> {
  const url = new URL(`${config.getCurrentCluster()?.server}/metrics`);
  const options: RequestOptions = { method: "GET" };
  await config.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** LIST requests the API server has served for a resource (apiserver_request_total). */
async function lists(resource: string): Promise<number> {
  try {
    const text = await metricsText(kc);
    return text
      .split("\n")
      .filter(
        (l) =>
          l.startsWith("apiserver_request_total{") &&
          l.includes('verb="LIST"') &&
          l.includes(`resource="${resource}"`),
      )
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
  } catch {
    return Number.NaN;
  }
}

/** Deletes the namespaces a previous run may have left, and waits until they are gone. */
async function removeNamespaces(list: string[]): Promise<void> {
  for (const name of list) await core.deleteNamespace({ name }).catch(() => undefined);
  await until("old benchmark namespaces gone", 300_000, async () => {
    const all = await core.listNamespace();
    return !all.items.some((n) => list.includes(n.metadata?.name ?? ""));
  });
}

console.log(`setting up ${namespaceCount} namespaces x ${deploymentCount} Deployments on ${from}`);
await removeNamespaces([...names, controllerNamespace]);
await applyObjects(kc, [istiod(from), istiod(to)] as never);
for (const name of names) await applyObjects(kc, meshNamespace(name) as never);
await freshNamespace(kc, controllerNamespace);
await until(`every pod on ${from}`, 300_000, () => allOn(from), 1000);

const controller = await startController(state, controllerNamespace);
const pid = controller.child.pid ?? 0;
let exited: string | undefined;
controller.child.once("exit", (code, signal) => {
  exited = `controller exited (code ${code}, signal ${signal})`;
});
/** The controller's metrics, read while it runs: the last reading survives it. */
let lastMetrics = "";
const readMetrics = async () => {
  lastMetrics = await (await fetch(`${controller.metricsUrl}/metrics`)).text();
  return lastMetrics;
};
const writesBefore = await readMetrics();
const listsBefore = { pods: await lists("pods"), deployments: await lists("deployments") };
const cpuBefore = cpuSeconds(pid);
const rssBefore = rssMb(pid);
const started = Date.now();
await applyObjects(kc, [
  {
    apiVersion: "wren.dev/v1alpha1",
    kind: "ControlPlaneUpgrade",
    metadata: { name: "bench", namespace: controllerNamespace },
    spec: {
      from,
      to,
      namespaceSelector: { matchLabels: { [label]: "true" } },
      waves: [10, 25, 50, 100],
      progressDeadlineSeconds: 600,
      analysis: {
        interval: "10s",
        metrics: [{ name: "request-success-rate", thresholdRange: { min: 95 }, interval: "10s" }],
      },
    },
  },
] as never);

const read = async () =>
  (
    (await customObjects(kc).getNamespacedCustomObject({
      group: "wren.dev",
      version: "v1alpha1",
      namespace: controllerNamespace,
      plural: "controlplaneupgrades",
      name: "bench",
    })) as { status?: ControlPlaneUpgradeStatus }
  ).status ?? {};
let status: ControlPlaneUpgradeStatus = {};
let peakRss = 0;
await until(
  "upgrade finished",
  900_000,
  async () => {
    if (exited) return true;
    status = await read();
    peakRss = Math.max(peakRss, rssMb(pid));
    await readMetrics();
    return status.phase === "Succeeded" || status.phase === "Failed";
  },
  500,
);
const total = (Date.now() - started) / 1000;
if (exited) {
  console.error(`${exited} before the upgrade finished (phase ${status.phase}); see its log in the temp dir`);
  process.exit(1);
}
const cpu = cpuSeconds(pid) - cpuBefore;
const writesAfter = await readMetrics();
const listsAfter = { pods: await lists("pods"), deployments: await lists("deployments") };
await controller.stop();

const writes = (text: string, resource: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith("wren_kubernetes_writes_total{") && l.includes(`resource="${resource}"`))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
const resources = ["namespaces", "deployments", "controlplaneupgrades/status"];
const writeCounts = resources.map((r) => `${r} ${writes(writesAfter, r) - writes(writesBefore, r)}`);
const events = await core.listNamespacedEvent({ namespace: controllerNamespace });

console.log(`phase ${status.phase}: ${status.conditions?.find((c) => c.type === "Ready")?.message}`);
for (const w of status.waves ?? []) {
  const start = Date.parse(w.startedAt);
  const moved = ((Date.parse(w.movedAt ?? "") - start) / 1000).toFixed(1);
  const done = ((Date.parse(w.finishedAt ?? "") - start) / 1000).toFixed(1);
  console.log(
    `wave ${w.index} (${w.percent}%): ${w.namespaces.length} namespaces, ${w.namespaces.length * deploymentCount} Deployments; every pod on ${to} after ${moved} s, wave done after ${done} s`,
  );
}
console.log(
  `controlplane-upgrade: ${namespaceCount} namespaces x ${deploymentCount} Deployments in ${total.toFixed(1)} s ` +
    `(analysis interval 10s per wave); controller CPU ${cpu.toFixed(1)} s, RSS ${rssBefore.toFixed(0)} MB before, ${peakRss.toFixed(0)} MB peak`,
);
console.log(`API writes by the controller: ${writeCounts.join(", ")}; Events ${events.items.length}`);
console.log(
  `LISTs served by the API server meanwhile (all clients): pods ${listsAfter.pods - listsBefore.pods}, deployments ${listsAfter.deployments - listsBefore.deployments}`,
);

// Leave the shared testbed as we found it.
await removeNamespaces([...names, controllerNamespace]);
for (const revision of [from, to]) {
  await apps
    .deleteNamespacedDeployment({ name: `istiod-${revision}`, namespace: "istio-system" })
    .catch(() => undefined);
}
process.exit(status.phase === "Succeeded" ? 0 : 1);
