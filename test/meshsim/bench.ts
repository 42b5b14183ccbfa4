// Benchmark: meshsim's CPU cost for a large mesh. Reports, asserts nothing.
//
//   node test/meshsim/bench.ts [--hosts 200] [--rps 20] [--seconds 120]
//
// Builds a synthetic view (each host: a Service with a stable and a canary
// Deployment, a DestinationRule, a VirtualService with a header route and a 90/10
// split, a traffic entry with two request shapes), then runs the generator in
// 100 ms ticks for the simulated duration, rendering /metrics once per simulated
// second as Prometheus would scrape it. CPU time per simulated second is the
// fraction of one core meshsim needs in real time.

import { parseArgs } from "node:util";
import { ControlPlane, IstiodMetrics } from "./istiod.ts";
import { IstioMetrics } from "./metrics.ts";
import type { ClusterView } from "./model.ts";
import { ExpositionWriter } from "./prom.ts";
import { seededRandom } from "./random.ts";
import {
  deploymentPods,
  destinationRule,
  istiod,
  makeView,
  service,
  trafficSource,
  virtualService,
} from "./testkit.ts";
import { TrafficGenerator } from "./traffic.ts";

export function syntheticView(hosts: number, rps: number): ClusterView {
  const names = Array.from({ length: hosts }, (_, i) => `svc-${String(i).padStart(3, "0")}`);
  const ns = (i: number) => `team-${i % 10}`;
  return makeView({
    services: names.map((n, i) => service(n, ns(i))),
    pods: names.flatMap((n, i) => [
      ...deploymentPods(n, ns(i), 3, { labels: { version: "v1" }, hash: "s1" }),
      ...deploymentPods(`${n}-canary`, ns(i), 1, {
        labels: { app: n, version: "v2" },
        hash: "c1",
        annotations: { "meshsim.wren.dev/error-rate": "0.01", "meshsim.wren.dev/latency-p99-ms": "200" },
      }),
    ]),
    destinationRules: names.map((n, i) =>
      destinationRule(n, ns(i), n, { stable: { version: "v1" }, canary: { version: "v2" } }),
    ),
    virtualServices: names.map((n, i) =>
      virtualService(n, ns(i), {
        hosts: [n],
        http: [
          {
            match: [{ headers: { "x-canary": { exact: "always" } } }],
            route: [{ destination: { host: n, subset: "canary" } }],
          },
          {
            route: [
              { destination: { host: n, subset: "stable" }, weight: 90 },
              { destination: { host: n, subset: "canary" }, weight: 10 },
            ],
          },
        ],
      }),
    ),
    istiods: [istiod("default")],
    trafficSources: Array.from({ length: 10 }, (_, t) =>
      trafficSource(
        "load",
        `team-${t}`,
        names
          .filter((_, i) => i % 10 === t)
          .map((n) => ({
            host: n,
            rps,
            requests: [{ weight: 95 }, { weight: 5, headers: { "x-canary": "always" } }],
          })),
      ),
    ),
  });
}

export interface BenchResult {
  readonly hosts: number;
  readonly rps: number;
  readonly simulatedSeconds: number;
  readonly requests: number;
  readonly series: number;
  readonly scrapeBytes: number;
  readonly compileMs: number;
  /** CPU seconds per simulated second = fraction of one core. */
  readonly coreFraction: number;
  readonly generateMsPerSecond: number;
  readonly renderMsPerScrape: number;
}

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

export function runBench(hosts: number, rps: number, seconds: number): BenchResult {
  const view = syntheticView(hosts, rps);
  const random = seededRandom(42);
  const metrics = new IstioMetrics();
  const generator = new TrafficGenerator({ random, metrics });
  const istiodMetrics = new IstiodMetrics(random);

  let t = process.cpuUsage();
  const plane = new ControlPlane(view);
  generator.setView(view, plane);
  istiodMetrics.update(plane);
  const compileMs = cpuMs(t);

  let generateMs = 0;
  let renderMs = 0;
  let scrapeBytes = 0;
  const w = new ExpositionWriter();
  const total = process.cpuUsage();
  for (let s = 0; s < seconds; s++) {
    t = process.cpuUsage();
    for (let k = 0; k < 10; k++) {
      generator.tick(0.1);
      istiodMetrics.tick(0.1);
    }
    generateMs += cpuMs(t);
    t = process.cpuUsage();
    w.reset();
    metrics.render(w);
    istiodMetrics.render(w);
    scrapeBytes = w.toBuffer().length;
    renderMs += cpuMs(t);
  }
  const totalMs = cpuMs(total);
  return {
    hosts,
    rps,
    simulatedSeconds: seconds,
    requests: Math.round(hosts * rps * seconds),
    series: metrics.size,
    scrapeBytes,
    compileMs,
    coreFraction: totalMs / 1000 / seconds,
    generateMsPerSecond: generateMs / seconds,
    renderMsPerScrape: renderMs / seconds,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      hosts: { type: "string", default: "200" },
      rps: { type: "string", default: "20" },
      seconds: { type: "string", default: "120" },
    },
  });
  const r = runBench(Number(values.hosts), Number(values.rps), Number(values.seconds));
  console.log(
    [
      `meshsim bench: ${r.hosts} hosts x ${r.rps} rps = ${r.hosts * r.rps} req/s, ${r.simulatedSeconds} simulated s`,
      `  requests sent          ${r.requests}`,
      `  series (istio_*)       ${r.series}`,
      `  /metrics size          ${(r.scrapeBytes / 1024).toFixed(0)} KiB`,
      `  plan compile           ${r.compileMs.toFixed(1)} ms CPU`,
      `  generate               ${r.generateMsPerSecond.toFixed(2)} ms CPU per simulated second`,
      `  render /metrics        ${r.renderMsPerScrape.toFixed(2)} ms CPU per scrape (1 scrape/s)`,
      `  total                  ${(r.coreFraction * 100).toFixed(2)}% of one core`,
    ].join("\n"),
  );
}
