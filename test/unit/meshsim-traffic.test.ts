import { describe, expect, it } from "vitest";
import { ControlPlane } from "../meshsim/istiod.ts";
import { IstioMetrics, REQUEST_LABEL_NAMES } from "../meshsim/metrics.ts";
import type { ClusterView, TrafficEntry } from "../meshsim/model.ts";
import { ExpositionWriter } from "../meshsim/prom.ts";
import { parseExposition, select, sumOf } from "../meshsim/promtext.ts";
import { seededRandom } from "../meshsim/random.ts";
import {
  deploymentPods,
  destinationRule,
  istiod,
  makeView,
  service,
  simulate,
  trafficSource,
  virtualService,
} from "../meshsim/testkit.ts";
import { TrafficGenerator } from "../meshsim/traffic.ts";
import { parseTrafficConfig } from "../meshsim/traffic-config.ts";

const FQDN = "reviews.shop.svc.cluster.local";

/** reviews with a stable (v1, 3 pods) and a canary (v2, 1 pod) subset. */
function reviews(extra: Partial<Parameters<typeof makeView>[0]> = {}, entries?: TrafficEntry[]): ClusterView {
  return makeView({
    services: [service("reviews", "shop")],
    pods: [
      ...deploymentPods("reviews", "shop", 3, { labels: { version: "v1" }, hash: "aaa" }),
      ...deploymentPods("reviews-canary", "shop", 1, {
        labels: { app: "reviews", version: "v2" },
        hash: "bbb",
      }),
    ],
    destinationRules: [
      destinationRule("reviews", "shop", "reviews", { stable: { version: "v1" }, canary: { version: "v2" } }),
    ],
    trafficSources: [
      trafficSource("load", "shop", entries ?? [{ host: "reviews", rps: 100, requests: [{ weight: 1 }] }]),
    ],
    ...extra,
  });
}

const requests = (samples: ReturnType<typeof parseExposition>, filter: Record<string, string | RegExp>) =>
  sumOf(samples, "istio_requests_total", filter);

describe("rates", () => {
  it("sends exactly rps*t requests over time with fractional rps", () => {
    const rates = [0.3, 2.5, 13.7, 20, 0.05];
    const view = makeView({
      services: rates.map((_, i) => service(`s${i}`, "shop")),
      pods: rates.flatMap((_, i) => deploymentPods(`s${i}`, "shop", 1)),
      trafficSources: [
        trafficSource(
          "load",
          "shop",
          rates.map((rps, i) => ({ host: `s${i}`, rps, requests: [{ weight: 1 }] })),
        ),
      ],
    });
    const { samples } = simulate(view, 100);
    rates.forEach((rps, i) => {
      const n = requests(samples, { reporter: "source", destination_workload: `s${i}` });
      expect(n).toBe(Math.round(rps * 100));
    });
  });

  it("stays exact with irregular ticks and across recompiles", () => {
    const view = reviews({}, [{ host: "reviews", rps: 7.3, requests: [{ weight: 1 }] }]);
    const metrics = new IstioMetrics({ now: () => 0 });
    const generator = new TrafficGenerator({ random: seededRandom(3), metrics });
    const jitter = seededRandom(4);
    let elapsed = 0;
    for (let i = 0; i < 2000; i++) {
      if (i % 97 === 0) generator.setView(view, new ControlPlane(view)); // config churn
      const dt = 0.02 + jitter() * 0.2;
      elapsed += dt;
      generator.tick(dt);
    }
    const w = new ExpositionWriter();
    metrics.render(w);
    const sent = requests(parseExposition(w.toString()), { reporter: "source" });
    expect(Math.abs(sent - 7.3 * elapsed)).toBeLessThanOrEqual(1);
  });
});

describe("request population", () => {
  it("draws requests by weight and routes each shape by its own attributes", () => {
    const view = reviews(
      {
        virtualServices: [
          virtualService("reviews", "shop", {
            hosts: ["reviews"],
            http: [
              {
                match: [{ headers: { cookie: { regex: "^(.*?;)?(user=test)(;.*)?$" } } }],
                route: [{ destination: { host: "reviews", subset: "canary" } }],
              },
              { route: [{ destination: { host: "reviews", subset: "stable" } }] },
            ],
          }),
        ],
      },
      [
        {
          host: "reviews",
          rps: 200,
          requests: [
            { weight: 3, cookies: { user: "test" } },
            { weight: 1, uri: "/other" },
          ],
        },
      ],
    );
    const { samples } = simulate(view, 100, 21);
    const canary = requests(samples, { reporter: "destination", destination_workload: "reviews-canary" });
    const stable = requests(samples, { reporter: "destination", destination_workload: "reviews" });
    expect(canary + stable).toBe(20000);
    expect(Math.abs(canary / 20000 - 0.75)).toBeLessThan(0.015);
  });

  it("routes by the source workload's labels (sourceLabels)", () => {
    const view = reviews(
      {
        pods: [...reviews().pods, ...deploymentPods("frontend", "shop", 1, { labels: { version: "beta" } })],
        virtualServices: [
          virtualService("reviews", "shop", {
            hosts: ["reviews"],
            http: [
              {
                match: [{ sourceLabels: { app: "frontend", version: "beta" } }],
                route: [{ destination: { host: "reviews", subset: "canary" } }],
              },
              { route: [{ destination: { host: "reviews", subset: "stable" } }] },
            ],
          }),
        ],
      },
      [
        { host: "reviews", rps: 10, requests: [{ weight: 1, source: "frontend" }] },
        { host: "reviews", rps: 10, source: "batch", requests: [{ weight: 1 }] },
      ],
    );
    const { samples } = simulate(view, 10);
    expect(
      requests(samples, {
        reporter: "destination",
        source_workload: "frontend",
        destination_workload: "reviews-canary",
      }),
    ).toBe(100);
    expect(
      requests(samples, {
        reporter: "destination",
        source_workload: "batch",
        destination_workload: "reviews",
      }),
    ).toBe(100);
    expect(requests(samples, { source_canonical_revision: "beta" })).toBe(200);
  });

  it("splits by VirtualService weight within 1.5%", () => {
    const view = reviews({
      virtualServices: [
        virtualService("reviews", "shop", {
          hosts: ["reviews.shop.svc.cluster.local"],
          http: [
            {
              route: [
                { destination: { host: "reviews", subset: "stable" }, weight: 90 },
                { destination: { host: "reviews", subset: "canary" }, weight: 10 },
              ],
            },
          ],
        }),
      ],
    });
    const { samples } = simulate(view, 200, 8);
    const canary = requests(samples, { reporter: "destination", destination_workload: "reviews-canary" });
    expect(Math.abs(canary / 20000 - 0.1)).toBeLessThan(0.015);
  });
});

describe("what the metrics say", () => {
  it("routes a host without VirtualService straight to its Service, with Istio's full label set", () => {
    const { samples } = simulate(reviews(), 1);
    const dest = select(samples, "istio_requests_total", {
      reporter: "destination",
      destination_workload: "reviews",
    })[0];
    expect(Object.keys(dest?.labels ?? {}).sort()).toEqual([...REQUEST_LABEL_NAMES].sort());
    expect(dest?.labels).toMatchObject({
      source_workload: "meshsim-client",
      source_workload_namespace: "shop",
      destination_workload: "reviews",
      destination_workload_namespace: "shop",
      destination_service: FQDN,
      destination_service_name: "reviews",
      destination_service_namespace: "shop",
      destination_canonical_service: "reviews",
      destination_canonical_revision: "v1",
      destination_version: "v1",
      destination_app: "reviews",
      destination_principal: "spiffe://cluster.local/ns/shop/sa/default",
      request_protocol: "http",
      response_code: "200",
      response_flags: "-",
      connection_security_policy: "mutual_tls",
    });
    const src = select(samples, "istio_requests_total", {
      reporter: "source",
      destination_workload: "reviews",
    })[0];
    expect(src?.labels.connection_security_policy).toBe("unknown");
    expect(requests(samples, { reporter: "source" })).toBe(requests(samples, { reporter: "destination" }));
  });

  it("answers 503 UH from the source when the destination has no ready pods", () => {
    const view = reviews({ pods: deploymentPods("reviews", "shop", 2, { ready: false }) });
    const { samples } = simulate(view, 10);
    expect(
      requests(samples, {
        reporter: "source",
        response_code: "503",
        response_flags: "UH",
        destination_workload: "unknown",
      }),
    ).toBe(1000);
    expect(requests(samples, { reporter: "source", response_flags: "UH", destination_service: FQDN })).toBe(
      1000,
    );
    expect(requests(samples, { reporter: "destination" })).toBe(0);
  });

  it("answers 503 NC for a subset no DestinationRule defines, 404 NR when no route matches", () => {
    const view = reviews(
      {
        virtualServices: [
          virtualService("reviews", "shop", {
            hosts: ["reviews"],
            http: [
              {
                match: [{ uri: { prefix: "/a" } }],
                route: [{ destination: { host: "reviews", subset: "nope" } }],
              },
            ],
          }),
        ],
      },
      [
        { host: "reviews", rps: 10, requests: [{ weight: 1, uri: "/a" }] },
        { host: "reviews", rps: 5, requests: [{ weight: 1, uri: "/b" }] },
      ],
    );
    const { samples } = simulate(view, 10);
    expect(requests(samples, { reporter: "source", response_code: "503", response_flags: "NC" })).toBe(100);
    expect(
      requests(samples, {
        reporter: "source",
        response_code: "404",
        response_flags: "NR",
        destination_service: FQDN,
      }),
    ).toBe(50);
  });

  it("counts mirrored requests at the mirror's destination reporter only", () => {
    const view = reviews({
      virtualServices: [
        virtualService("reviews", "shop", {
          hosts: ["reviews"],
          http: [
            {
              route: [{ destination: { host: "reviews", subset: "stable" } }],
              mirror: { host: "reviews", subset: "canary" },
              mirrorPercentage: { value: 40 },
            },
          ],
        }),
      ],
    });
    const { samples } = simulate(view, 200, 13);
    const mirrored = requests(samples, { reporter: "destination", destination_workload: "reviews-canary" });
    expect(Math.abs(mirrored / 20000 - 0.4)).toBeLessThan(0.015);
    expect(requests(samples, { reporter: "source", destination_workload: "reviews-canary" })).toBe(0);
    expect(requests(samples, { reporter: "source" })).toBe(20000);
  });

  it("reports only from the source side for a destination without sidecar", () => {
    const view = reviews({ pods: deploymentPods("reviews", "shop", 1, { revision: null }) });
    const { samples, generator } = simulate(view, 10);
    expect(generator.workloadsWithoutSidecar()).toEqual(["shop/reviews"]);
    expect(simulate(reviews(), 0).generator.workloadsWithoutSidecar()).toEqual([]);
    expect(requests(samples, { reporter: "source", destination_workload: "reviews" })).toBe(1000);
    expect(requests(samples, { reporter: "destination" })).toBe(0);
  });

  it("answers injected aborts from the source with flag FI", () => {
    const view = reviews({
      virtualServices: [
        virtualService("reviews", "shop", {
          hosts: ["reviews"],
          http: [
            {
              route: [{ destination: { host: "reviews" } }],
              fault: { abort: { httpStatus: 418, percentage: { value: 50 } } },
            },
          ],
        }),
      ],
    });
    const { samples } = simulate(view, 100, 2);
    const aborted = requests(samples, { reporter: "source", response_code: "418", response_flags: "FI" });
    expect(Math.abs(aborted / 10000 - 0.5)).toBeLessThan(0.02);
    expect(requests(samples, { reporter: "destination" })).toBe(10000 - aborted);
  });

  it("fails half the requests of pods whose control-plane revision is faulty", () => {
    const view = reviews({
      pods: [
        ...deploymentPods("reviews", "shop", 1, {
          labels: { version: "v1" },
          hash: "aaa",
          revision: "stable",
        }),
        ...deploymentPods("reviews", "shop", 1, {
          labels: { version: "v1" },
          hash: "ccc",
          revision: "canary",
        }),
      ],
      istiods: [istiod("stable"), istiod("canary", { faulty: true })],
    });
    const { samples } = simulate(view, 200, 17);
    const served = requests(samples, { reporter: "destination" });
    const failed = requests(samples, { reporter: "destination", response_code: "503", response_flags: "UF" });
    expect(served).toBe(20000);
    // Half the pods are on the faulty revision and fail half their requests: 25%.
    expect(Math.abs(failed / served - 0.25)).toBeLessThan(0.015);
    expect(requests(samples, { reporter: "source", response_code: "503", response_flags: "-" })).toBe(failed);
  });

  it("keeps the series count bounded: idle series are collected", () => {
    let now = 0;
    const metrics = new IstioMetrics({ now: () => now });
    const generator = new TrafficGenerator({ random: seededRandom(1), metrics, seriesTtlMs: 60_000 });
    const before = reviews();
    generator.setView(before);
    generator.tick(1);
    const series = metrics.size;
    expect(series).toBeGreaterThan(0);
    // The canary goes away; its series stop moving and are dropped after the TTL.
    const after = reviews({
      pods: deploymentPods("reviews", "shop", 3, { labels: { version: "v1" }, hash: "aaa" }),
    });
    for (let i = 0; i < 5; i++) {
      now += 30_000;
      generator.setView(after);
      generator.tick(1);
    }
    expect(metrics.size).toBeLessThan(series);
    const w = new ExpositionWriter();
    metrics.render(w);
    expect(w.toString()).not.toContain("reviews-canary");
  });
});

describe("traffic ConfigMap format", () => {
  it("parses hosts, rates and request populations", () => {
    const parsed = parseTrafficConfig(`
- host: reviews
  rps: 20
  source: frontend
  requests:
    - weight: 90
    - weight: 10
      uri: /api?x=1
      headers: { x-version: 2 }
      cookies: { user: test }
- host: ratings.other
  rps: 0.5
`);
    expect(parsed).toEqual({
      ok: true,
      entries: [
        {
          host: "reviews",
          rps: 20,
          source: "frontend",
          requests: [
            { weight: 90 },
            { weight: 10, uri: "/api?x=1", headers: { "x-version": "2" }, cookies: { user: "test" } },
          ],
        },
        { host: "ratings.other", rps: 0.5, source: undefined, requests: [{ weight: 1 }] },
      ],
    });
  });

  it("rejects malformed configs with a reason", () => {
    for (const bad of [
      "- host: x",
      "- host: x\n  rps: -1",
      "- {host: x, rps: 1, bogus: 2}",
      "x: [",
      "- host: x\n  rps: 1\n  requests: [{weight: 0}]",
    ]) {
      const parsed = parseTrafficConfig(bad);
      expect(parsed.ok).toBe(false);
      expect(parsed.ok ? "" : parsed.error).not.toBe("");
    }
    expect(parseTrafficConfig(undefined).ok).toBe(false);
    expect(parseTrafficConfig("")).toEqual({ ok: true, entries: [] });
  });
});
