// Custom analysis end to end: a MetricTemplate's PromQL with variables, the
// built-in throughput check, and a comparison with the primary over the same
// interval, all asked of the real Prometheus by the real controller.
import { beforeAll, describe, expect, it } from "vitest";
import { canaryStatus, deployCanary, revision, untilPhase } from "../support/canary.ts";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { testbed } from "../support/testbed.ts";

const ns = useNamespace("canary-template");
useController(ns);

function template(name: string, query: string) {
  return {
    apiVersion: "wren.dev/v1alpha1",
    kind: "MetricTemplate",
    metadata: { name, namespace: ns.name },
    spec: { provider: { address: testbed().prometheusUrl }, query },
  } as never;
}

const analysis = {
  interval: "3s",
  threshold: 2,
  maxWeight: 20,
  stepWeight: 10,
  metrics: [
    {
      name: "error-percent",
      templateRef: { name: "error-percent" },
      templateVariables: { code: "5.*" },
      thresholdRange: { max: 5 },
      interval: "10s",
    },
    { name: "request-throughput", thresholdRange: { min: 1 }, interval: "10s" },
    { name: "request-duration", maxIncreaseOverPrimary: 50, interval: "10s" },
  ],
};

async function release(
  name: string,
  behaviour: { errorRate?: number; latencyP50Ms?: number; latencyP99Ms?: number },
) {
  const n = ns.name;
  await deployCanary(n, name, analysis, { replicas: 1, rps: 60 });
  await apply(revision(n, name, "example.com/app:2", behaviour, 1));
  await untilPhase(n, name, ["Succeeded", "Failed"]);
  return canaryStatus(n, name);
}

describe("MetricTemplate and primary comparison", () => {
  beforeAll(async () => {
    await apply(
      template(
        "error-percent",
        'sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="{{ namespace }}",destination_workload="{{ target }}",response_code=~"{{ variables.code }}"}[{{ interval }}])) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="{{ namespace }}",destination_workload="{{ target }}"}[{{ interval }}])) * 100 or on() vector(0)',
      ),
    );
  });

  it("promotes a healthy revision, with every check's value in status", async () => {
    const status = await release("tidy", {});
    expect(status.phase).toBe("Succeeded");
    const byName = Object.fromEntries((status.metrics ?? []).map((m) => [m.name, m]));
    expect(byName["error-percent"]?.verdict).toBe("Pass");
    expect(byName["error-percent"]?.value).toBeLessThan(5);
    expect(byName["request-throughput"]?.value).toBeGreaterThan(1);
    expect(byName["request-duration"]?.primaryValue).toBeGreaterThan(0);
  });

  it("rolls back on the template's error percentage", async () => {
    const status = await release("noisy", { errorRate: 0.25 });
    expect(status.phase).toBe("Failed");
    const check = status.metrics?.find((m) => m.name === "error-percent");
    expect(check?.verdict).toBe("Fail");
    // 25% errors, seen through ~60 requests a window: well above the 5% maximum, with sampling noise.
    expect(check?.value).toBeGreaterThan(5);
    expect(check?.value).toBeLessThan(50);
  });

  it("rolls back a revision much slower than the primary, though no fixed threshold is set", async () => {
    const status = await release("sluggish", { latencyP50Ms: 150, latencyP99Ms: 400 });
    expect(status.phase).toBe("Failed");
    const check = status.metrics?.find((m) => m.name === "request-duration");
    expect(check?.verdict).toBe("Fail");
    expect(check?.value ?? 0).toBeGreaterThan((check?.primaryValue ?? 0) * 1.5);
  });
});

describe("an invalid MetricTemplate", () => {
  it("makes its check Unavailable with the field named, and the canary holds", async () => {
    const n = ns.name;
    await apply(
      template("broken", 'sum(rate(istio_requests_total{destination_workload="{{ tagret }}"}[1m]))'),
    );
    await deployCanary(n, "held", {
      interval: "3s",
      threshold: 2,
      maxWeight: 20,
      stepWeight: 10,
      metrics: [{ name: "broken", templateRef: { name: "broken" }, thresholdRange: { max: 5 } }],
    });
    await apply(revision(n, "held", "example.com/app:2", {}, 1));
    const status = await eventually(
      "two intervals without a usable template",
      async () => {
        const s = await canaryStatus(n, "held");
        expect(s.unavailableChecks ?? 0).toBeGreaterThanOrEqual(2);
        return s;
      },
      { timeoutMs: 60_000 },
    );
    expect(status.phase).toBe("Progressing");
    expect(status.canaryWeight).toBe(10);
    const check = status.metrics?.find((m) => m.name === "broken");
    expect(check?.verdict).toBe("Unavailable");
    expect(check?.message).toMatch(/MetricTemplate .*\/broken is invalid: spec\.query/);
  });
});
