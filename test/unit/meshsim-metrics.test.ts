import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ISTIO_DURATION_BUCKETS, IstioMetrics, type RequestLabels } from "../meshsim/metrics.ts";
import { ExpositionWriter, escapeLabelValue, formatLabels } from "../meshsim/prom.ts";
import { parseExposition, select } from "../meshsim/promtext.ts";
import { serviceRef } from "../meshsim/resolve.ts";
import { splitWeights } from "../meshsim/routing.ts";
import { UNKNOWN_PEER } from "../meshsim/workload.ts";

const labels = (o: Partial<RequestLabels> = {}): RequestLabels => ({
  reporter: "destination",
  source: UNKNOWN_PEER,
  destination: { ...UNKNOWN_PEER, workload: "api", namespace: "shop" },
  service: serviceRef("api.shop.svc.cluster.local"),
  responseCode: 200,
  responseFlags: "-",
  ...o,
});

function render(m: IstioMetrics): string {
  const w = new ExpositionWriter(16);
  m.render(w);
  return w.toString();
}

describe("exposition", () => {
  it("writes a counter and a histogram with Istio's buckets that agree with each other", () => {
    const m = new IstioMetrics();
    const s = m.request(labels());
    for (const v of [0.2, 3, 3, 70, 5000, 4e6]) s.observe(v);
    const text = render(m);
    expect(text).toContain("# TYPE istio_requests_total counter");
    expect(text).toContain("# TYPE istio_request_duration_milliseconds histogram");
    const samples = parseExposition(text);
    expect(select(samples, "istio_requests_total")[0]?.value).toBe(6);
    const buckets = select(samples, "istio_request_duration_milliseconds_bucket");
    expect(buckets.map((b) => b.labels.le)).toEqual([...ISTIO_DURATION_BUCKETS.map(String), "+Inf"]);
    const at = (le: string) => buckets.find((b) => b.labels.le === le)?.value;
    expect([at("0.5"), at("1"), at("5"), at("100"), at("5000"), at("3600000"), at("+Inf")]).toEqual([
      1, 1, 3, 4, 5, 5, 6,
    ]);
    expect(select(samples, "istio_request_duration_milliseconds_count")[0]?.value).toBe(6);
    expect(select(samples, "istio_request_duration_milliseconds_sum")[0]?.value).toBeCloseTo(4005076.2, 6);
  });

  it("returns the same series for the same labels and a new one for other labels", () => {
    const m = new IstioMetrics();
    expect(m.request(labels())).toBe(m.request(labels()));
    expect(m.request(labels({ responseCode: 500 }))).not.toBe(m.request(labels()));
    expect(m.size).toBe(2);
  });

  it("renders nothing at all before the first request", () => {
    expect(render(new IstioMetrics())).toBe("");
  });

  it("escapes label values so any string round-trips", () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const text = `m{${formatLabels(["a", "b"], [value, "x"])}} 1`;
        const parsed = parseExposition(text)[0];
        return parsed?.labels.a === value && parsed.labels.b === "x";
      }),
    );
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });
});

describe("weights, for any weights", () => {
  it("give shares that sum to 1 and follow the weights", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 2, maxLength: 6 }), (weights) => {
        const route = { route: weights.map((w, i) => ({ destination: { host: `h${i}` }, weight: w })) };
        const split = splitWeights(route);
        const total = weights.reduce((a, b) => a + b, 0);
        const sum = split.reduce((a, s) => a + s.share, 0);
        if (Math.abs(sum - 1) > 1e-9) return false;
        if (total === 0) return split.length === weights.length;
        return split.every((s) => {
          const w = weights[Number(s.destination.host.slice(1))] ?? 0;
          return w > 0 && Math.abs(s.share - w / total) < 1e-12;
        });
      }),
    );
  });
});
