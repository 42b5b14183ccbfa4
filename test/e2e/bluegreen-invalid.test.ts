// Invalid BlueGreen specs that the API server's schema cannot catch (cross-field
// rules) get Ready=False/InvalidSpec naming the field, a Warning Event, and no
// change anywhere else; fixing the spec lets the BlueGreen start.
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { analysis, blueGreen, blueGreenStatus, untilBlueGreenPhase } from "../support/bluegreen.ts";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply, deployment } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("bluegreen-invalid");
useController(ns);
beforeAll(async () => {
  await apply(deployment(ns.name, "app", { replicas: 2 }));
});

const cases: [string, Record<string, unknown>, string][] = [
  ["switch steps that do not end at 100", { switch: { steps: [10, 50] } }, "spec.switch.steps.1"],
  ["switch steps that go down", { switch: { steps: [50, 10, 100] } }, "spec.switch.steps.1"],
  [
    "an unknown built-in metric",
    { analysis: analysis({ metrics: [{ name: "latency-p95", thresholdRange: { max: 5 } }] }) },
    "spec.analysis.metrics.0.name",
  ],
  [
    "a metric that can never fail",
    { analysis: analysis({ metrics: [{ name: "request-duration" }] }) },
    "spec.analysis.metrics.0.thresholdRange",
  ],
];

describe("invalid BlueGreen specs", () => {
  it.each(cases)("%s: InvalidSpec naming the field, a Warning Event", async (what, spec, field) => {
    const n = ns.name;
    const name = `bad-${cases.findIndex((c) => c[0] === what)}`;
    await apply(blueGreen(n, name, { targetRef: { name: "app" }, ...spec }));
    const condition = await eventually("InvalidSpec", async () => {
      const ready = (await blueGreenStatus(n, name)).conditions?.find((c) => c.type === "Ready");
      expect(ready?.reason).toBe("InvalidSpec");
      return ready;
    });
    expect(condition?.status).toBe("False");
    expect(condition?.message).toContain(field);
    await eventually("a Warning Event naming the field", async () => {
      const events = await testbedKubeConfig()
        .makeApiClient(CoreV1Api)
        .listNamespacedEvent({
          namespace: n,
          fieldSelector: `involvedObject.name=${name},reason=InvalidSpec`,
        });
      expect(events.items[0]?.type).toBe("Warning");
      expect(events.items[0]?.message).toContain(field);
    });
  });

  it("changed nothing: no colours, no routing, the target untouched", async () => {
    const n = ns.name;
    const deployments = await testbedKubeConfig()
      .makeApiClient(AppsV1Api)
      .listNamespacedDeployment({ namespace: n });
    expect(deployments.items.map((d) => d.metadata?.name)).toEqual(["app"]);
    expect(deployments.items[0]?.spec?.replicas).toBe(2);
    const services = await testbedKubeConfig()
      .makeApiClient(CoreV1Api)
      .listNamespacedService({ namespace: n });
    expect(services.items).toHaveLength(0);
    const vs = (await testbedKubeConfig().makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
      group: "networking.istio.io",
      version: "v1",
      namespace: n,
      plural: "virtualservices",
    })) as { items: unknown[] };
    expect(vs.items).toHaveLength(0);
  });

  it("starts once the spec is fixed", async () => {
    await apply(blueGreen(ns.name, "bad-0", { targetRef: { name: "app" }, switch: { steps: [10, 100] } }));
    const status = await untilBlueGreenPhase(ns.name, "bad-0", ["Initialized"], 60_000);
    expect(status.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
  });
});
