import { describe, expect, it } from "vitest";
import { BlueGreenSpec, blueGreenKind } from "../../src/api/bluegreen.ts";
import { kinds } from "../../src/api/kinds.ts";

const valid = { targetRef: { name: "shop" }, service: { port: 80 } };

function issues(spec: unknown): string[] {
  const result = BlueGreenSpec.safeParse(spec);
  if (result.success) return [];
  return result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("BlueGreenSpec", () => {
  it("accepts a minimal BlueGreen and fills in the defaults", () => {
    const parsed = BlueGreenSpec.parse(valid);
    expect(parsed.targetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "shop" });
    expect(parsed.switch).toEqual({ steps: [100] });
    expect(parsed.analysis).toMatchObject({
      interval: "1m",
      threshold: 5,
      iterations: 1,
      postSwitchIterations: 0,
      metrics: [],
      webhooks: [],
      metricsUnavailable: { action: "hold", after: 3 },
    });
    expect(parsed).toMatchObject({
      autoPromote: true,
      scaleDownDelay: "30s",
      progressDeadlineSeconds: 600,
      suspend: false,
    });
    expect(parsed.preview).toBeUndefined();
  });

  it("accepts a full spec", () => {
    const spec = {
      ...valid,
      service: { port: 80, targetPort: 8080, hosts: ["shop.example.com"], gateways: ["public"] },
      preview: { match: [{ headers: { "x-env": { exact: "green" } } }, { uri: { prefix: "/preview" } }] },
      analysis: {
        interval: "30s",
        iterations: 3,
        postSwitchIterations: 2,
        metrics: [{ name: "request-success-rate", thresholdRange: { min: 99 }, maxIncreaseOverPrimary: 1 }],
        webhooks: [{ name: "smoke", type: "pre-rollout", url: "http://smoke.test/run" }],
      },
      switch: { steps: [10, 50, 100], stepInterval: "2m" },
      autoPromote: false,
      scaleDownDelay: "10m",
    };
    expect(issues(spec)).toEqual([]);
  });

  it.each([
    ["steps not ending at 100", { switch: { steps: [10, 50] } }, "switch.steps.1: the last step must be 100"],
    [
      "steps going down",
      { switch: { steps: [50, 10, 100] } },
      "switch.steps.1: steps must be strictly increasing",
    ],
    [
      "a repeated step",
      { switch: { steps: [100, 100] } },
      "switch.steps.1: steps must be strictly increasing",
    ],
    ["a step above 100", { switch: { steps: [150] } }, "switch.steps.0"],
    ["no steps", { switch: { steps: [] } }, "switch.steps"],
    ["a malformed stepInterval", { switch: { stepInterval: "soon" } }, "switch.stepInterval"],
    ["a malformed scaleDownDelay", { scaleDownDelay: "10 minutes" }, "scaleDownDelay"],
    ["an empty preview", { preview: { match: [] } }, "preview.match"],
    [
      "a preview match with two kinds of string match",
      { preview: { match: [{ uri: { exact: "/", prefix: "/" } }] } },
      "preview.match.0.uri",
    ],
    ["negative iterations", { analysis: { iterations: -1 } }, "analysis.iterations"],
    [
      "an unknown built-in metric",
      { analysis: { metrics: [{ name: "p95", thresholdRange: { max: 1 } }] } },
      "analysis.metrics.0.name",
    ],
    [
      "a metric that can never fail",
      { analysis: { metrics: [{ name: "request-duration" }] } },
      "analysis.metrics.0.thresholdRange",
    ],
    [
      "an unknown webhook type",
      { analysis: { webhooks: [{ name: "x", type: "maybe", url: "http://x" }] } },
      "analysis.webhooks.0.type",
    ],
  ])("rejects %s, naming the field", (_what, over, expected) => {
    const found = issues({ ...valid, ...over });
    expect(
      found.some((i) => i.startsWith(expected)),
      found.join("\n"),
    ).toBe(true);
  });

  it("is a rollout kind in the wren category, listed with the others", () => {
    expect(kinds).toContain(blueGreenKind);
    expect(blueGreenKind).toMatchObject({ plural: "bluegreens", shortNames: ["wbg"], categories: ["wren"] });
  });
});
