// Invalid Canary specs that the API server's schema cannot catch (cross-field
// rules) get Ready=False/InvalidSpec naming the field, a Warning Event, and no
// change anywhere else.
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canary, canaryStatus } from "../support/canary.ts";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply, deployment, virtualService } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("canary-invalid");
useController(ns);
beforeAll(async () => {
  await apply(deployment(ns.name, "app", { replicas: 2 }));
});
afterAll(async () => {});

const base = {
  interval: "3s",
  threshold: 2,
  maxWeight: 30,
  stepWeight: 10,
  metrics: [{ name: "request-success-rate", thresholdRange: { min: 99 } }],
};

const cases: [string, Record<string, unknown>, Record<string, unknown>, string][] = [
  ["stepWeight and stepWeights together", { ...base, stepWeights: [10, 20] }, {}, "spec.analysis.stepWeight"],
  [
    "stepWeights not increasing",
    { ...base, stepWeight: undefined, maxWeight: undefined, stepWeights: [10, 50, 40] },
    {},
    "spec.analysis.stepWeights.2",
  ],
  ["stepWeight without maxWeight", { ...base, maxWeight: undefined }, {}, "spec.analysis.maxWeight"],
  [
    "an unknown built-in metric",
    { ...base, metrics: [{ name: "latency-p95", thresholdRange: { max: 5 } }] },
    {},
    "spec.analysis.metrics.0.name",
  ],
  [
    "a metric that can never fail",
    { ...base, metrics: [{ name: "request-duration" }] },
    {},
    "spec.analysis.metrics.0.thresholdRange",
  ],
  [
    "A/B match without iterations",
    { ...base, match: [{ headers: { "x-canary": { exact: "1" } } }] },
    {},
    "spec.analysis.match",
  ],
  ["a malformed cron window", base, { window: { schedules: ["every weekday"] } }, "spec.window.schedules.0"],
];

describe("invalid Canary specs", () => {
  it.each(cases)(
    "%s: InvalidSpec naming the field, an Event, nothing else changed",
    async (what, analysis, extra, field) => {
      const n = ns.name;
      const name = `bad-${cases.findIndex((c) => c[0] === what)}`;
      await apply(canary(n, name, analysis, { targetRef: { name: "app" }, ...extra }));
      const condition = await eventually("InvalidSpec", async () => {
        const ready = (await canaryStatus(n, name)).conditions?.find((c) => c.type === "Ready");
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
    },
  );

  it("changed nothing: no primary, no routing, the target untouched", async () => {
    const n = ns.name;
    const apps = testbedKubeConfig().makeApiClient(AppsV1Api);
    const deployments = await apps.listNamespacedDeployment({ namespace: n });
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

  it("recovers once the spec is fixed", async () => {
    const n = ns.name;
    await apply(canary(n, "bad-0", base, { targetRef: { name: "app" } }));
    await eventually(
      "Initialized",
      async () => expect((await canaryStatus(n, "bad-0")).phase).toBe("Initialized"),
      {
        timeoutMs: 60_000,
      },
    );
  });
});

describe("a Canary adopting a VirtualService that does not exist", () => {
  it("holds with VirtualServiceNotFound naming the field, then starts once it appears", async () => {
    const n = ns.name;
    await apply(deployment(n, "adopter", { replicas: 1 }));
    const service = { port: 80, virtualServiceRef: { name: "shop", routes: ["main"] } };
    await apply(canary(n, "adopter", base, { service }));
    const condition = await eventually("VirtualServiceNotFound", async () => {
      const ready = (await canaryStatus(n, "adopter")).conditions?.find((c) => c.type === "Ready");
      expect(ready?.reason).toBe("VirtualServiceNotFound");
      return ready;
    });
    expect(condition?.message).toContain("spec.service.virtualServiceRef");
    const deployments = await testbedKubeConfig()
      .makeApiClient(AppsV1Api)
      .listNamespacedDeployment({ namespace: n });
    expect(deployments.items.map((d) => d.metadata?.name)).not.toContain("adopter-primary");
    await apply(
      virtualService(n, "shop", {
        hosts: ["adopter"],
        http: [{ name: "main", route: [{ destination: { host: "adopter-primary" } }] }],
      }),
    );
    await eventually(
      "Initialized",
      async () => expect((await canaryStatus(n, "adopter")).phase).toBe("Initialized"),
      {
        timeoutMs: 60_000,
      },
    );
  });
});
