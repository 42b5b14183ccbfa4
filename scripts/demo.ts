// npm run demo [-- --keep]: a healthy canary promoted and a faulty one rolled back,
// on the local testbed, watched live with kubectl wren. Tears everything down at
// the end unless --keep.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { applyObjects } from "../test/testbed/apply.ts";
import { freePort } from "../test/testbed/processes.ts";
import { readState } from "../test/testbed/state.ts";
import { down, envLines, health, up } from "../test/testbed/testbed.ts";

const keep = process.argv.includes("--keep");
const ns = "wren-demo";
const repo = join(import.meta.dirname, "..");
const say = (text: string) => console.log(`\n\x1b[1m▶ ${text}\x1b[0m`);

say(
  "Bringing up the testbed: kube-apiserver, etcd, controller-manager, scheduler, KWOK nodes, Prometheus, meshsim",
);
console.log(
  "  (the first time, the Kubernetes binaries are built from Go modules: about 10 minutes on 2 cores)",
);
const before = readState();
const wasRunning = before !== undefined && Object.values(await health(before)).every(Boolean);
const state = await up();
const kc = new KubeConfig();
kc.loadFromFile(state.kubeconfig);
const core = kc.makeApiClient(CoreV1Api);

say(`Creating namespace ${ns} (sidecar injection on, so meshsim reports like Istio)`);
await core.deleteNamespace({ name: ns }).catch(() => undefined);
for (let i = 0; i < 120; i++) {
  const gone = await core.readNamespace({ name: ns }).then(
    () => false,
    () => true,
  );
  if (gone) break;
  await new Promise((r) => setTimeout(r, 500));
}
await core.createNamespace({ body: { metadata: { name: ns, labels: { "istio-injection": "enabled" } } } });

say("Starting the Wren controller");
const port = await freePort();
const logFile = join(tmpdir(), "wren-demo-controller.log");
const controller = spawn(
  process.execPath,
  [
    join(repo, "src/main.ts"),
    `--kubeconfig=${state.kubeconfig}`,
    `--namespace=${ns}`,
    `--lease-namespace=${ns}`,
    `--metrics-address=127.0.0.1:${port}`,
    `--prometheus-url=${state.prometheus.url}`,
  ],
  { stdio: ["ignore", "pipe", "pipe"] },
);
const log = createWriteStream(logFile);
controller.stdout.pipe(log);
controller.stderr.pipe(log);
console.log(`  logs: ${logFile}; metrics: http://127.0.0.1:${port}/metrics`);

const podinfo = (image: string, annotations: Record<string, string> = {}) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "podinfo", namespace: ns, labels: { app: "podinfo" } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "podinfo" } },
    template: {
      metadata: { labels: { app: "podinfo" }, annotations },
      spec: { containers: [{ name: "podinfo", image, ports: [{ containerPort: 9898 }] }] },
    },
  },
});

say("Deploying podinfo 6.0.0 behind Istio routing, with 50 requests a second from meshsim");
await applyObjects(kc, [
  podinfo("ghcr.io/stefanprodan/podinfo:6.0.0"),
  {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "clients", namespace: ns, labels: { "meshsim.wren.dev/traffic": "true" } },
    data: { "traffic.yaml": stringify([{ host: "podinfo", rps: 50 }]) },
  },
  {
    apiVersion: "wren.dev/v1alpha1",
    kind: "Canary",
    metadata: { name: "podinfo", namespace: ns },
    spec: {
      targetRef: { name: "podinfo" },
      service: { port: 9898 },
      analysis: {
        interval: "5s",
        threshold: 2,
        maxWeight: 50,
        stepWeight: 10,
        metrics: [
          { name: "request-success-rate", thresholdRange: { min: 99 }, interval: "15s" },
          { name: "request-duration", thresholdRange: { max: 500 }, interval: "15s" },
        ],
      },
    },
  },
] as never);

type Canary = { status?: { phase?: string; conditions?: { type: string; message: string }[] } };
const readCanary = async () =>
  (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
    group: "wren.dev",
    version: "v1alpha1",
    namespace: ns,
    plural: "canaries",
    name: "podinfo",
  })) as Canary;
for (let i = 0; i < 240 && (await readCanary()).status?.phase !== "Initialized"; i++) {
  await new Promise((r) => setTimeout(r, 500));
}
console.log("  Wren created podinfo-primary, the Services, DestinationRules and the VirtualService (100/0)");

/** Releases a revision and watches it live with the real kubectl wren; returns the watch's exit code and time. */
function watch(): { code: number; seconds: number } {
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    [
      join(repo, "src/cli/main.ts"),
      "--kubeconfig",
      state.kubeconfig,
      "-n",
      ns,
      "watch",
      "podinfo",
      "--timeout",
      "5m",
    ],
    { stdio: "inherit" },
  );
  return { code: result.status ?? 1, seconds: (Date.now() - started) / 1000 };
}

say("Release 1: podinfo 6.0.1, healthy. Watching with: kubectl wren watch podinfo");
await applyObjects(kc, [podinfo("ghcr.io/stefanprodan/podinfo:6.0.1")] as never);
const healthy = watch();

say("Release 2: podinfo 6.0.2, which fails 25% of requests. Watching again");
await applyObjects(kc, [
  podinfo("ghcr.io/stefanprodan/podinfo:6.0.2", { "meshsim.wren.dev/error-rate": "0.25" }),
] as never);
const faulty = watch();
const why = (await readCanary()).status?.conditions?.find((c) => c.type === "Ready")?.message ?? "";

say("Summary");
console.log(
  `  6.0.1: ${healthy.code === 0 ? "promoted" : "NOT promoted"} in ${healthy.seconds.toFixed(0)} s (10% -> 50% in steps of 10, every 5 s)`,
);
console.log(
  `  6.0.2: ${faulty.code === 1 ? "rolled back" : "NOT rolled back"} after ${faulty.seconds.toFixed(0)} s: ${why}`,
);
const primary = await kc
  .makeApiClient(AppsV1Api)
  .readNamespacedDeployment({ name: "podinfo-primary", namespace: ns });
const vs = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
  group: "networking.istio.io",
  version: "v1",
  namespace: ns,
  plural: "virtualservices",
  name: "podinfo",
})) as { spec?: { http?: { route?: { weight?: number }[] }[] } };
const weights = vs.spec?.http
  ?.at(-1)
  ?.route?.map((r) => r.weight ?? 0)
  .join("/");
console.log(
  `  Now: the primary runs ${primary.spec?.template.spec?.containers[0]?.image}; the VirtualService sends ${weights} (primary/canary).`,
);
console.log(
  `  Look next: kubectl wren status podinfo -n ${ns}; kubectl get events -n ${ns}; the controller log ${logFile}`,
);

controller.kill("SIGTERM");
if (keep) {
  say("--keep: the testbed is still running");
  for (const line of envLines(state)) console.log(`  export ${line}`);
  console.log(
    `  npm start -- --namespace=${ns} --prometheus-url=${state.prometheus.url}   # the controller again`,
  );
  console.log("  npm run testbed -- down   # when you are done");
} else {
  say("Tearing down");
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
  if (!wasRunning) await down();
}
process.exit(healthy.code === 0 && faulty.code === 1 ? 0 : 1);
