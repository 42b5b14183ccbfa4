import { describe, expect, it } from "vitest";
import {
  behaviourFromAnnotations,
  DEFAULT_P50_MS,
  DEFAULT_P99_MS,
  latencyCdf,
  latencyQuantile,
  sampleLatencyMs,
} from "../meshsim/behaviour.ts";
import { ISTIO_DURATION_BUCKETS } from "../meshsim/metrics.ts";
import { bucketsOf, histogramQuantile, sumOf } from "../meshsim/promtext.ts";
import { seededRandom } from "../meshsim/random.ts";
import { deploymentPods, makeView, service, simulate, trafficSource } from "../meshsim/testkit.ts";

/** One workload with the given annotations, hit at `rps` for `seconds`. */
function run(annotations: Record<string, string>, rps: number, seconds: number, seed = 5) {
  const view = makeView({
    services: [service("api", "shop")],
    pods: deploymentPods("api", "shop", 2, { annotations }),
    trafficSources: [trafficSource("load", "shop", [{ host: "api", rps, requests: [{ weight: 1 }] }])],
  });
  return simulate(view, seconds, seed).samples;
}

describe("annotations", () => {
  it("defaults to a healthy workload with p50 20 ms and p99 60 ms", () => {
    const b = behaviourFromAnnotations({});
    expect(b).toMatchObject({ errorRate: 0, errorCode: 500, p50Ms: DEFAULT_P50_MS, p99Ms: DEFAULT_P99_MS });
    expect(latencyQuantile(b, 0.5)).toBeCloseTo(20, 6);
    expect(latencyQuantile(b, 0.99)).toBeCloseTo(60, 4);
  });

  it("reads error rate, error code and latency, ignoring invalid values", () => {
    expect(
      behaviourFromAnnotations({
        "meshsim.wren.dev/error-rate": "0.25",
        "meshsim.wren.dev/error-code": "503",
        "meshsim.wren.dev/latency-p50-ms": "100",
        "meshsim.wren.dev/latency-p99-ms": "900",
      }),
    ).toMatchObject({ errorRate: 0.25, errorCode: 503, p50Ms: 100, p99Ms: 900 });
    expect(behaviourFromAnnotations({ "meshsim.wren.dev/error-rate": "1.5" }).errorRate).toBe(0);
    expect(behaviourFromAnnotations({ "meshsim.wren.dev/error-rate": "lots" }).errorRate).toBe(0);
    expect(behaviourFromAnnotations({ "meshsim.wren.dev/latency-p99-ms": "-4" }).p99Ms).toBe(DEFAULT_P99_MS);
  });

  it("keeps p99 >= p50 when only one is given", () => {
    expect(behaviourFromAnnotations({ "meshsim.wren.dev/latency-p50-ms": "200" })).toMatchObject({
      p50Ms: 200,
      p99Ms: 600,
    });
    expect(behaviourFromAnnotations({ "meshsim.wren.dev/latency-p99-ms": "10" })).toMatchObject({
      p50Ms: 10,
      p99Ms: 10,
    });
    expect(behaviourFromAnnotations({ "meshsim.wren.dev/latency-p99-ms": "400" })).toMatchObject({
      p50Ms: 20,
      p99Ms: 400,
    });
  });

  it("samples the log-normal it describes", () => {
    const b = behaviourFromAnnotations({ "meshsim.wren.dev/latency-p99-ms": "300" });
    const random = seededRandom(9);
    const xs = Array.from({ length: 100000 }, () => sampleLatencyMs(b, random())).sort((a, c) => a - c);
    expect(xs[49999]).toBeGreaterThan(19);
    expect(xs[49999]).toBeLessThan(21);
    expect(Math.abs((xs[98999] ?? 0) / 300 - 1)).toBeLessThan(0.05);
  });
});

describe("error rate through the exported metrics", () => {
  it("answers 20% +- 1.5% with 500 for error-rate 0.2", () => {
    const samples = run({ "meshsim.wren.dev/error-rate": "0.2" }, 100, 200);
    const total = sumOf(samples, "istio_requests_total", { reporter: "destination" });
    const errors = sumOf(samples, "istio_requests_total", { reporter: "destination", response_code: "500" });
    expect(total).toBe(20000);
    expect(Math.abs(errors / total - 0.2)).toBeLessThan(0.015);
    // Both reporters saw the same requests.
    expect(sumOf(samples, "istio_requests_total", { reporter: "source", response_code: "500" })).toBe(errors);
  });

  it("answers no errors by default", () => {
    const samples = run({}, 50, 20);
    expect(sumOf(samples, "istio_requests_total", { response_code: /5../ })).toBe(0);
  });

  it("uses the annotated error code", () => {
    const samples = run({ "meshsim.wren.dev/error-rate": "1", "meshsim.wren.dev/error-code": "503" }, 10, 10);
    expect(sumOf(samples, "istio_requests_total", { reporter: "destination", response_code: "503" })).toBe(
      100,
    );
  });
});

describe("latency through the exported histogram", () => {
  // What histogram_quantile returns for a perfect sample of the distribution: it
  // interpolates linearly inside Istio's coarse buckets, so it is not the true p99.
  function expectedQuantile(annotations: Record<string, string>, q: number): number {
    const b = behaviourFromAnnotations(annotations);
    const buckets = new Map<number, number>(ISTIO_DURATION_BUCKETS.map((le) => [le, latencyCdf(b, le)]));
    buckets.set(Number.POSITIVE_INFINITY, 1);
    return histogramQuantile(q, buckets);
  }

  for (const p99 of [200, 400, 800]) {
    it(`histogram_quantile(0.99) is within 20% of a p99 annotation of ${p99} ms`, () => {
      const annotations = { "meshsim.wren.dev/latency-p99-ms": String(p99) };
      const samples = run(annotations, 2000, 100, p99);
      const buckets = bucketsOf(samples, "istio_request_duration_milliseconds", { reporter: "destination" });
      expect(buckets.get(Number.POSITIVE_INFINITY)).toBe(200000);
      const observed = histogramQuantile(0.99, buckets);
      expect(Math.abs(observed / p99 - 1)).toBeLessThan(0.2);
      // And it is what the true distribution gives through the same buckets.
      expect(Math.abs(observed / expectedQuantile(annotations, 0.99) - 1)).toBeLessThan(0.03);
    });
  }

  it("moves the median with the p50 annotation", () => {
    const annotations = {
      "meshsim.wren.dev/latency-p50-ms": "300",
      "meshsim.wren.dev/latency-p99-ms": "900",
    };
    const samples = run(annotations, 1000, 50);
    const p50 = histogramQuantile(0.5, bucketsOf(samples, "istio_request_duration_milliseconds"));
    expect(Math.abs(p50 / expectedQuantile(annotations, 0.5) - 1)).toBeLessThan(0.03);
    expect(p50).toBeGreaterThan(250);
    expect(p50).toBeLessThan(500);
  });

  it("keeps _sum consistent with the distribution mean", () => {
    const samples = run(
      { "meshsim.wren.dev/latency-p50-ms": "50", "meshsim.wren.dev/latency-p99-ms": "100" },
      1000,
      50,
    );
    const sum = sumOf(samples, "istio_request_duration_milliseconds_sum", { reporter: "destination" });
    const count = sumOf(samples, "istio_request_duration_milliseconds_count", { reporter: "destination" });
    const b = behaviourFromAnnotations({
      "meshsim.wren.dev/latency-p50-ms": "50",
      "meshsim.wren.dev/latency-p99-ms": "100",
    });
    const mean = Math.exp(b.mu + (b.sigma * b.sigma) / 2);
    expect(Math.abs(sum / count / mean - 1)).toBeLessThan(0.01);
  });
});

describe("histogram_quantile helper", () => {
  it("interpolates like Prometheus", () => {
    const buckets = new Map([
      [1, 10],
      [2, 20],
      [4, 40],
      [Number.POSITIVE_INFINITY, 40],
    ]);
    expect(histogramQuantile(0.5, buckets)).toBe(2);
    expect(histogramQuantile(0.75, buckets)).toBe(3);
    expect(histogramQuantile(0.1, buckets)).toBe(0.4);
    expect(
      histogramQuantile(
        1,
        new Map([
          [1, 1],
          [Number.POSITIVE_INFINITY, 2],
        ]),
      ),
    ).toBe(1);
    expect(
      histogramQuantile(
        0.5,
        new Map([
          [1, 0],
          [Number.POSITIVE_INFINITY, 0],
        ]),
      ),
    ).toBeNaN();
  });
});
