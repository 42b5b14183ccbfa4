// meshsim CLI: watch a cluster, emulate Istio's data plane and injection, serve
// Istio's metrics for Prometheus.
//
//   node test/meshsim/main.ts --kubeconfig <path> --port <port> [--host 127.0.0.1]
//                             [--seed N] [--tick-ms 100] [--log-level info]
//
// GET /metrics      Istio request metrics and istiod metrics (Prometheus text format)
// GET /healthz      200 once every informer has synced, 503 before
// GET /debug/state  JSON: traffic entries, routes, resolved workloads, revisions

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { ClusterWatcher, errorText } from "./cluster.ts";
import { type InjectionResult, Injector } from "./injection.ts";
import { ControlPlane, IstiodMetrics } from "./istiod.ts";
import { IstioMetrics } from "./metrics.ts";
import { EMPTY_VIEW } from "./model.ts";
import { CONTENT_TYPE, ExpositionWriter } from "./prom.ts";
import { seededRandom } from "./random.ts";
import { ModelStore } from "./store.ts";
import { TrafficGenerator } from "./traffic.ts";

const { values: args } = parseArgs({
  options: {
    kubeconfig: { type: "string" },
    port: { type: "string", default: "9464" },
    host: { type: "string", default: "127.0.0.1" },
    seed: { type: "string" },
    "tick-ms": { type: "string", default: "100" },
    "log-level": { type: "string", default: "info" },
  },
  strict: true,
});

const log = pino({ name: "meshsim", level: args["log-level"] }, pino.destination(2));
const port = Number(args.port);
const tickMs = Number(args["tick-ms"]);
const seed = args.seed === undefined ? Date.now() >>> 0 : Number(args.seed);
if (!Number.isInteger(port) || port < 0 || port > 65535 || !(tickMs > 0) || !Number.isFinite(seed)) {
  log.fatal({ args }, "invalid arguments");
  process.exit(2);
}

const kc = new KubeConfig();
if (args.kubeconfig) kc.loadFromFile(args.kubeconfig);
else kc.loadFromDefault();

const store = new ModelStore();
const cluster = new ClusterWatcher(kc, store, log);
const random = seededRandom(seed);
const metrics = new IstioMetrics();
const generator = new TrafficGenerator({ random, metrics });
const istiod = new IstiodMetrics(random);

// Injection results are logged in batches, like model changes.
let injected: InjectionResult[] = [];
const injector = new Injector((ns, name, annotations) => cluster.patchPodAnnotations(ns, name, annotations), {
  onResult: (r) => {
    injected.push(r);
  },
});

let view = EMPTY_VIEW;
let plane = new ControlPlane(view);
let seenVersion = -1;
let lastTick = performance.now();
let lastReport = 0;
let lastCompileAt = Number.NEGATIVE_INFINITY;
let lastCompileMs = 0;
let spareWriter: ExpositionWriter | undefined;

function flushLogs(): void {
  for (const change of store.drainChanges()) log.info(change, `model changed: ${change.kind}`);
  if (injected.length > 0) {
    const failed = injected.filter((r) => r.error !== undefined);
    const ok = injected.filter((r) => r.error === undefined);
    if (ok.length > 0) {
      log.info(
        { count: ok.length, pods: ok.slice(0, 5).map((r) => `${r.namespace}/${r.name}@${r.revision}`) },
        "injected sidecars",
      );
    }
    for (const r of failed.slice(0, 5)) {
      log.warn(
        { pod: `${r.namespace}/${r.name}`, err: errorText(r.error) },
        "sidecar injection patch failed",
      );
    }
    injected = [];
  }
}

// Without a sidecar there is no "destination" reporter, as in Istio; say so once per
// workload, since it is the usual reason a query on reporter="destination" is empty.
const warnedWithoutSidecar = new Set<string>();
function warnAboutMissingSidecars(): void {
  const fresh = generator.workloadsWithoutSidecar().filter((w) => !warnedWithoutSidecar.has(w));
  if (fresh.length === 0) return;
  for (const w of fresh) warnedWithoutSidecar.add(w);
  log.warn(
    { workloads: fresh.slice(0, 10), count: fresh.length },
    "traffic reaches pods without sidecar: only reporter=source metrics for them " +
      "(label the namespace istio-injection=enabled or istio.io/rev=<rev> before creating the pods)",
  );
}

function tick(): void {
  const now = performance.now();
  // Measured, not nominal, so rates hold when timers drift; capped after a stall.
  const dt = Math.min(5, (now - lastTick) / 1000);
  lastTick = now;
  if (!cluster.synced) return;
  // Recompile on change, but spend at most ~1/5 of the time compiling when a large
  // mesh churns (a rollout changes pods every tick); small meshes recompile every tick.
  if (store.version !== seenVersion && now - lastCompileAt >= 5 * lastCompileMs) {
    seenVersion = store.version;
    lastCompileAt = now;
    view = store.view();
    plane = new ControlPlane(view);
    generator.setView(view, plane);
    istiod.update(plane);
    void injector.reconcile(view);
    warnAboutMissingSidecars();
    lastCompileMs = performance.now() - now;
  }
  generator.tick(dt);
  istiod.tick(dt);
  if (now - lastReport >= 1000) {
    lastReport = now;
    void injector.reconcile(view); // retries failed patches
    flushLogs();
  }
}

function debugState(): unknown {
  return {
    seed,
    synced: cluster.synced,
    pendingInformers: cluster.pending(),
    modelVersion: store.version,
    seriesCount: metrics.size,
    revisions: [...plane.revisions.values()],
    invalidObjects: store.problems(),
    traffic: generator.describe(),
  };
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405).end();
    return;
  }
  if (path === "/metrics") {
    // A large mesh scrapes to tens of MB: reuse the buffer once the previous response is done with it.
    const w = spareWriter ?? new ExpositionWriter(64 * 1024);
    spareWriter = undefined;
    w.reset();
    metrics.render(w);
    istiod.render(w);
    res.on("close", () => {
      spareWriter = w;
    });
    res.writeHead(200, { "content-type": CONTENT_TYPE, "content-length": w.size });
    res.end(w.toBuffer());
    return;
  }
  if (path === "/healthz") {
    const synced = cluster.synced;
    res.writeHead(synced ? 200 : 503, { "content-type": "text/plain" });
    res.end(synced ? "ok\n" : `waiting for informers: ${cluster.pending().join(", ")}\n`);
    return;
  }
  if (path === "/debug/state") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(`${JSON.stringify(debugState(), null, 2)}\n`);
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
}

const server = createServer(handle);
server.on("error", (err) => {
  log.fatal({ err: errorText(err) }, "HTTP server failed");
  process.exit(1);
});
server.listen(port, args.host, () => {
  const address = server.address();
  log.info({ address, seed, tickMs }, "meshsim listening");
});
cluster.start();
const timer = setInterval(tick, tickMs);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "shutting down");
  clearInterval(timer);
  setTimeout(() => process.exit(0), 3000).unref();
  server.closeAllConnections();
  await Promise.allSettled([new Promise<void>((resolve) => server.close(() => resolve())), cluster.stop()]);
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
