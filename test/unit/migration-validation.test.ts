// Validation of a phase's new services: the PromQL sent, and the verdicts read
// from what a provider answers (values, no data, errors, a throwing provider).
import { describe, expect, it } from "vitest";
import { MigrationValidation } from "../../src/api/migration.ts";
import type { MetricsProvider, QueryOutcome } from "../../src/engine/analysis/prometheus.ts";
import { serviceQuery } from "../../src/engine/analysis/service-queries.ts";
import { validateServices } from "../../src/engine/migration-validation.ts";

/** A provider answering by which metric a query reads; records every query. */
function provider(answer: (query: string) => QueryOutcome | Error): MetricsProvider & { queries: string[] } {
  const queries: string[] = [];
  return {
    queries,
    async instantQuery(query) {
      queries.push(query);
      const a = answer(query);
      if (a instanceof Error) throw a;
      return a;
    },
  };
}

const value = (v: number): QueryOutcome => ({ kind: "value", value: v });
const validation = MigrationValidation.parse({ maxErrorRate: 1, maxP99Latency: "500ms", minThroughput: 2 });

const meshQuery = 'sum(rate(istio_requests_total{destination_service_namespace="shop"}[1m]))';

function byMetric(
  errorRate: QueryOutcome,
  p99: QueryOutcome,
  throughput: QueryOutcome,
  mesh: QueryOutcome = value(120),
  requests: QueryOutcome = value(500),
) {
  return (q: string) =>
    q === meshQuery
      ? mesh
      : q.startsWith("sum(((increase(")
        ? requests
        : q.startsWith("histogram_quantile")
          ? p99
          : q.includes("5..")
            ? errorRate
            : throughput;
}

describe("service queries", () => {
  const scope = { namespace: "shop", service: "orders", range: "30s" };
  const sel = 'reporter="destination",destination_service_namespace="shop",destination_service_name="orders"';
  /** Per series: increase() when older than the range, else its whole value (born within it). */
  const within = (series: string) =>
    `((increase(${series}[30s]) and ${series} offset 30s) or (${series} unless ${series} offset 30s))`;

  it("read what the Service's own sidecars reported, counting series born within the range from 0", () => {
    expect(serviceQuery("errorRate", scope)).toBe(
      `(sum(${within(`istio_requests_total{${sel},response_code=~"5.."}`)}) or vector(0)) / sum(${within(`istio_requests_total{${sel}}`)}) * 100`,
    );
    expect(serviceQuery("p99Latency", scope)).toBe(
      `histogram_quantile(0.99, sum by (le) (${within(`istio_request_duration_milliseconds_bucket{${sel}}`)}))`,
    );
    expect(serviceQuery("throughput", scope)).toBe(
      `(sum(${within(`istio_requests_total{${sel}}`)}) or vector(0)) / 30`,
    );
  });

  it("escape label values and refuse a malformed range", () => {
    expect(serviceQuery("throughput", { namespace: 'a"b', service: "s", range: "1m" })).toContain('"a\\"b"');
    expect(serviceQuery("throughput", { namespace: "a", service: "s", range: "1m" })).toMatch(/\/ 60$/);
    expect(() => serviceQuery("throughput", { namespace: "a", service: "s", range: "1 minute" })).toThrow(
      /range/,
    );
  });
});

describe("validateServices", () => {
  it("judges every configured check of every service; p99 is compared in milliseconds", async () => {
    const p = provider(byMetric(value(0.5), value(120), value(8)));
    const result = await validateServices({
      provider: p,
      namespace: "shop",
      services: ["orders", "orders-eu"],
      validation,
      range: "1m",
    });
    // Three checks and a request count per service, and one look at the namespace's mesh data.
    expect(p.queries).toHaveLength(9);
    expect(p.queries.filter((q) => q === meshQuery)).toHaveLength(1);
    expect(result.map((s) => s.service)).toEqual(["orders", "orders-eu"]);
    expect(result[0]?.checks.map((c) => [c.name, c.verdict, c.value, c.thresholdRange])).toEqual([
      ["errorRate", "Pass", 0.5, { max: 1 }],
      ["p99Latency", "Pass", 120, { max: 500 }],
      ["throughput", "Pass", 8, { min: 2 }],
    ]);
  });

  it("fails errors and latency above their maximum", async () => {
    const p = provider(byMetric(value(30), value(900), value(8)));
    const [orders] = await validateServices({
      provider: p,
      namespace: "shop",
      services: ["orders"],
      validation,
      range: "1m",
    });
    expect(orders?.checks.map((c) => c.verdict)).toEqual(["Fail", "Fail", "Pass"]);
    expect(orders?.checks[0]?.message).toBe("30 is above the maximum 1");
  });

  it("fails minThroughput when no request reached the service, saying so", async () => {
    const noData: QueryOutcome = { kind: "no-data", message: "the query returned NaN" };
    const p = provider(byMetric(noData, noData, value(0)));
    const [orders] = await validateServices({
      provider: p,
      namespace: "shop",
      services: ["orders"],
      validation,
      range: "1m",
    });
    const throughput = orders?.checks.find((c) => c.name === "throughput");
    expect(throughput).toMatchObject({ verdict: "Fail", value: 0 });
    expect(throughput?.message).toMatch(/no requests reached Service orders in the last 1m/);
    expect(orders?.checks.filter((c) => c.verdict === "Unavailable").map((c) => c.name)).toEqual([
      "errorRate",
      "p99Latency",
    ]);
  });

  it("holds 0 requests/s as Unavailable until the routes have been in place for the whole range, then fails it", async () => {
    const noData: QueryOutcome = { kind: "no-data", message: "the query returned NaN" };
    const p = provider(byMetric(noData, noData, value(0)));
    const request = { provider: p, namespace: "shop", services: ["orders"], validation, range: "1m" };
    const throughput = async (routedForMs: number) =>
      (await validateServices({ ...request, routedForMs }))[0]?.checks.find((c) => c.name === "throughput");
    const early = await throughput(9_000);
    expect(early).toMatchObject({ verdict: "Unavailable" });
    expect(early?.message).toMatch(
      /no requests counted yet: the routes to Service orders have been in place for 9s, less than the 1m/,
    );
    expect(await throughput(60_000)).toMatchObject({ verdict: "Fail", value: 0 });
  });

  it("never passes errorRate or p99Latency on fewer than minRequests requests; a failure still fails", async () => {
    const few = value(4);
    const passing = provider(byMetric(value(0), value(80), value(0.4), value(120), few));
    const [quiet] = await validateServices({
      provider: passing,
      namespace: "shop",
      services: ["orders"],
      validation,
      range: "10s",
    });
    expect(quiet?.checks.map((c) => [c.name, c.verdict])).toEqual([
      ["errorRate", "Unavailable"],
      ["p99Latency", "Unavailable"],
      ["throughput", "Fail"],
    ]);
    // minRequests gates only the checks judged on requests, not the request rate itself.
    const busy = provider(byMetric(value(0), value(80), value(3), value(120), few));
    const [low] = await validateServices({
      provider: busy,
      namespace: "shop",
      services: ["orders"],
      validation,
      range: "10s",
    });
    expect(low?.checks.find((c) => c.name === "throughput")?.verdict).toBe("Pass");
    expect(quiet?.checks[0]?.message).toBe(
      "0 passed (max 1), but on too few requests to judge: 4 in the last 10s (minRequests 10)",
    );
    const failing = provider(byMetric(value(50), value(80), value(0.4), value(120), few));
    const [bad] = await validateServices({
      provider: failing,
      namespace: "shop",
      services: ["orders"],
      validation,
      range: "10s",
    });
    expect(bad?.checks[0]).toMatchObject({ name: "errorRate", verdict: "Fail", value: 50 });
  });

  it("is Unavailable, not Fail, at 0 requests/s when Prometheus holds no mesh data at all (just restarted)", async () => {
    const noData: QueryOutcome = { kind: "no-data", message: "the query returned an empty result" };
    const p = provider(byMetric(noData, noData, value(0), noData));
    const [orders] = await validateServices({
      provider: p,
      namespace: "shop",
      services: ["orders"],
      validation,
      range: "1m",
    });
    const throughput = orders?.checks.find((c) => c.name === "throughput");
    expect(throughput?.verdict).toBe("Unavailable");
    expect(throughput?.message).toMatch(/^no mesh data for namespace shop over the last 1m/);
  });

  it("is Unavailable, never Pass, when Prometheus cannot answer", async () => {
    const down: QueryOutcome = {
      kind: "error",
      reason: "unreachable",
      message: "Prometheus unreachable: ECONNREFUSED",
    };
    const p = provider(() => down);
    const [orders] = await validateServices({
      provider: p,
      namespace: "shop",
      services: ["orders"],
      validation,
      range: "1m",
    });
    expect(orders?.checks.map((c) => c.verdict)).toEqual(["Unavailable", "Unavailable", "Unavailable"]);
    expect(orders?.checks[2]?.message).toBe("cannot read it: Prometheus unreachable: ECONNREFUSED");
  });

  it("is Unavailable when the provider throws", async () => {
    const p = provider(() => new Error("socket hang up"));
    const [orders] = await validateServices({
      provider: p,
      namespace: "shop",
      services: ["orders"],
      validation: MigrationValidation.parse({ minThroughput: 1 }),
      range: "1m",
    });
    expect(orders?.checks).toEqual([
      {
        name: "throughput",
        verdict: "Unavailable",
        thresholdRange: { min: 1 },
        message: "cannot read it: socket hang up",
      },
    ]);
  });
});
