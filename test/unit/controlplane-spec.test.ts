// The ControlPlaneUpgrade schema expresses every rule, naming the field, so the
// reconciler can report an invalid spec before touching anything.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ControlPlaneUpgradeSpec } from "../../src/api/control-plane-upgrade.ts";

const base = {
  from: "1-23-0",
  to: "1-24-0",
  namespaceSelector: { matchLabels: { team: "shop" } },
  waves: [10, 25, 50, 100],
};

function issues(spec: Record<string, unknown>): string[] {
  const parsed = ControlPlaneUpgradeSpec.safeParse(spec);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("ControlPlaneUpgrade spec", () => {
  it("accepts a minimal spec and fills the defaults", () => {
    const spec = ControlPlaneUpgradeSpec.parse(base);
    expect(spec.istioNamespace).toBe("istio-system");
    expect(spec.manualGates).toEqual([]);
    expect(spec.progressDeadlineSeconds).toBe(600);
    expect(spec.analysis).toMatchObject({ interval: "1m", iterations: 1, threshold: 1, metrics: [] });
    expect(spec.analysis.metricsUnavailable).toEqual({ action: "hold", after: 3 });
  });

  it.each([
    ["the same revision twice", { to: "1-23-0" }, "to: to must differ from from"],
    ["a revision that is not a DNS label", { to: "1.24.0" }, "to: must be a DNS label"],
    ["waves that go down", { waves: [10, 50, 25, 100] }, "waves.2: waves must be strictly increasing"],
    ["waves that stop short of 100", { waves: [10, 50] }, "waves.1: the last wave must be 100"],
    ["a wave above 100", { waves: [10, 150] }, "waves.1:"],
    ["a gate on no wave", { manualGates: [30] }, "manualGates.0: 30 is not one of the waves"],
    ["a tag named like a revision", { revisionTag: "1-24-0" }, "revisionTag: a revision tag cannot"],
    [
      "an empty gateway selector",
      { gateways: { selector: {} } },
      "gateways.selector: an empty selector would treat every Deployment as a gateway",
    ],
    [
      "In without values",
      { namespaceSelector: { matchExpressions: [{ key: "team", operator: "In" }] } },
      "namespaceSelector.matchExpressions.0.values: In needs values",
    ],
    [
      "Exists with values",
      { namespaceSelector: { matchExpressions: [{ key: "team", operator: "Exists", values: ["x"] }] } },
      "namespaceSelector.matchExpressions.0.values: Exists takes no values",
    ],
    [
      "an unknown built-in metric",
      { analysis: { metrics: [{ name: "latency-p95", thresholdRange: { max: 5 } }] } },
      'analysis.metrics.0.name: unknown built-in metric "latency-p95"',
    ],
    [
      "a check that can never fail",
      { analysis: { metrics: [{ name: "request-duration", thresholdRange: {} }] } },
      "analysis.metrics.0.thresholdRange: set min, max or both",
    ],
    ["no namespace selector", { namespaceSelector: undefined }, "namespaceSelector:"],
  ])("rejects %s, naming the field", (_what, change, message) => {
    expect(issues({ ...base, ...change }).join("\n")).toContain(message);
  });

  it("accepts a MetricTemplate check under any name", () => {
    expect(
      issues({
        ...base,
        analysis: {
          metrics: [{ name: "gateway-5xx", templateRef: { name: "gw" }, thresholdRange: { max: 1 } }],
        },
      }),
    ).toEqual([]);
  });

  it("accepts examples/controlplaneupgrade.yaml as written", () => {
    const example = parse(
      readFileSync(new URL("../../examples/controlplaneupgrade.yaml", import.meta.url), "utf8"),
    ) as { kind: string; metadata: { namespace?: string }; spec: unknown };
    expect(example.kind).toBe("ControlPlaneUpgrade");
    expect(example.metadata.namespace).toBeUndefined();
    expect(issues(example.spec as Record<string, unknown>)).toEqual([]);
  });
});
