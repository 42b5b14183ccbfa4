import { describe, expect, it } from "vitest";
import { CanarySpec } from "../../src/api/canary.ts";

const valid = {
  targetRef: { name: "podinfo" },
  service: { port: 9898 },
  analysis: {
    interval: "10s",
    threshold: 2,
    maxWeight: 50,
    stepWeight: 10,
    metrics: [{ name: "request-success-rate", thresholdRange: { min: 99 } }],
  },
};

function issuePaths(spec: unknown): string[] {
  const result = CanarySpec.safeParse(spec);
  if (result.success) return [];
  return result.error.issues.map((i) => i.path.join("."));
}

describe("CanarySpec", () => {
  it("accepts a minimal canary and fills in the defaults", () => {
    const parsed = CanarySpec.parse(valid);
    expect(parsed.targetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "podinfo" });
    expect(parsed.progressDeadlineSeconds).toBe(600);
    expect(parsed.analysis.metricsUnavailable).toEqual({ action: "hold", after: 3 });
    expect(parsed.service.portName).toBe("http");
  });

  it.each([
    [
      "a malformed interval",
      { ...valid, analysis: { ...valid.analysis, interval: "ten seconds" } },
      "analysis.interval",
    ],
    [
      "stepWeight without maxWeight",
      { ...valid, analysis: { ...valid.analysis, maxWeight: undefined } },
      "analysis.maxWeight",
    ],
    [
      "both stepWeight and stepWeights",
      { ...valid, analysis: { ...valid.analysis, stepWeights: [10, 20] } },
      "analysis.stepWeight",
    ],
    [
      "stepWeights not increasing",
      { ...valid, analysis: { ...valid.analysis, stepWeight: undefined, stepWeights: [10, 30, 20] } },
      "analysis.stepWeights.2",
    ],
    [
      "an unknown built-in metric",
      {
        ...valid,
        analysis: { ...valid.analysis, metrics: [{ name: "latency", thresholdRange: { max: 1 } }] },
      },
      "analysis.metrics.0.name",
    ],
    [
      "a metric with no pass criterion",
      { ...valid, analysis: { ...valid.analysis, metrics: [{ name: "request-duration" }] } },
      "analysis.metrics.0.thresholdRange",
    ],
    [
      "A/B match without iterations",
      { ...valid, analysis: { ...valid.analysis, match: [{ headers: { "x-canary": { exact: "1" } } }] } },
      "analysis.match",
    ],
    [
      "a header match with two operators",
      {
        ...valid,
        analysis: {
          ...valid.analysis,
          stepWeight: undefined,
          maxWeight: undefined,
          iterations: 3,
          match: [{ headers: { "x-canary": { exact: "1", prefix: "1" } } }],
        },
      },
      "analysis.match.0.headers.x-canary",
    ],
    ["a port out of range", { ...valid, service: { port: 70000 } }, "service.port"],
    ["a missing target", { ...valid, targetRef: {} }, "targetRef.name"],
  ])("rejects %s, naming the field", (_what, spec, path) => {
    expect(issuePaths(spec)).toContain(path);
  });
});

describe("CanarySpec cross-field rules", () => {
  it("rejects revertOnDeletion with an adopted VirtualService, naming the field", () => {
    const spec = {
      ...valid,
      revertOnDeletion: true,
      service: { port: 80, virtualServiceRef: { name: "shop", routes: ["main"] } },
    };
    expect(issuePaths(spec)).toContain("revertOnDeletion");
  });
});
