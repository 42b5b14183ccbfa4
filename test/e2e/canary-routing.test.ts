// Routing variants end to end: mirroring, adopting an existing VirtualService,
// and handing traffic back to the target when a Canary is deleted.
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { VirtualService } from "../../src/engine/routing/istio.ts";
import { canaryStatus, deployCanary, readCanary, revision } from "../support/canary.ts";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply, virtualService } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { queryValue } from "../support/prometheus.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("canary-routing");
useController(ns);

const metrics = [{ name: "request-success-rate", thresholdRange: { min: 95 }, interval: "10s" }];

async function initialised(
  name: string,
  analysis: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  const n = ns.name;
  await deployCanary(n, name, analysis, { replicas: 2, rps: 40, extra: extra });
}

async function readVirtualService(name: string): Promise<VirtualService> {
  return (await testbedKubeConfig().makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
    group: "networking.istio.io",
    version: "v1",
    namespace: ns.name,
    plural: "virtualservices",
    name,
  })) as VirtualService;
}

describe("Canary routing", () => {
  it("mirrors traffic to the canary during the iterations without moving live traffic", async () => {
    const n = ns.name;
    await initialised("mirrored", {
      interval: "4s",
      threshold: 2,
      iterations: 3,
      mirror: true,
      mirrorWeight: 50,
      metrics,
    });
    await apply(revision(n, "mirrored", "example.com/app:2"));
    const sel = `reporter="destination",destination_workload_namespace="${n}"`;
    await eventually(
      "mirrored requests reach the canary",
      async () => {
        const ratio = await queryValue(
          `sum(rate(istio_requests_total{${sel},destination_workload="mirrored"}[5s])) / sum(rate(istio_requests_total{${sel},destination_workload="mirrored-primary"}[5s]))`,
        );
        expect(ratio).toBeGreaterThan(0.35);
        expect(ratio).toBeLessThan(0.65);
      },
      { timeoutMs: 60_000 },
    );
    const vs = await readVirtualService("mirrored");
    expect(vs.spec.http?.[0]?.route?.map((r) => r.weight)).toEqual([100, 0]);
    expect(vs.spec.http?.[0]?.mirrorPercentage).toEqual({ value: 50 });
    await eventually(
      "Succeeded",
      async () => expect((await canaryStatus(n, "mirrored")).phase).toBe("Succeeded"),
      {
        timeoutMs: 60_000,
      },
    );
    expect((await readVirtualService("mirrored")).spec.http?.[0]?.mirror).toBeUndefined();
  });

  it("manages only the weights of the named routes of an adopted VirtualService", async () => {
    const n = ns.name;
    const adopted = virtualService(n, "store", {
      hosts: ["store"],
      http: [
        {
          name: "admin",
          match: [{ uri: { prefix: "/admin" } }],
          route: [{ destination: { host: "store-primary" } }],
          timeout: "7s",
        },
        {
          name: "main",
          route: [{ destination: { host: "store-primary" }, weight: 100 }],
          retries: { attempts: 3, perTryTimeout: "2s" },
        },
      ],
    });
    await apply(adopted);
    await initialised(
      "store",
      { interval: "3s", threshold: 2, maxWeight: 20, stepWeight: 10, metrics },
      { service: { port: 80, targetPort: 8080, virtualServiceRef: { name: "store", routes: ["main"] } } },
    );
    await apply(revision(n, "store", "example.com/store:2"));
    await eventually(
      "weight 10 on the main route",
      async () => {
        const main = (await readVirtualService("store")).spec.http?.find((r) => r.name === "main");
        expect(main?.route?.map((r) => [r.destination.host, r.weight])).toEqual([
          ["store-primary", 90],
          ["store-canary", 10],
        ]);
      },
      { timeoutMs: 60_000 },
    );
    await eventually(
      "Succeeded",
      async () => expect((await canaryStatus(n, "store")).phase).toBe("Succeeded"),
      {
        timeoutMs: 60_000,
      },
    );
    const vs = await readVirtualService("store");
    expect(vs.spec.http?.[0]).toEqual((adopted as VirtualService).spec.http?.[0]);
    expect(vs.spec.http?.[1]?.retries).toEqual({ attempts: 3, perTryTimeout: "2s" });
    expect(vs.metadata?.ownerReferences).toBeUndefined();
  });

  it("hands all traffic back to the target when a Canary with revertOnDeletion is deleted", async () => {
    const n = ns.name;
    await initialised(
      "kept",
      { interval: "3s", threshold: 2, maxWeight: 20, stepWeight: 10, metrics },
      { revertOnDeletion: true },
    );
    await eventually("finalizer set", async () =>
      expect((await readCanary(n, "kept")).metadata?.finalizers).toContain("wren.dev/revert-on-deletion"),
    );
    await testbedKubeConfig().makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({
      group: "wren.dev",
      version: "v1alpha1",
      namespace: n,
      plural: "canaries",
      name: "kept",
    });
    const apps = testbedKubeConfig().makeApiClient(AppsV1Api);
    await eventually(
      "primary garbage-collected",
      async () => {
        const names = (await apps.listNamespacedDeployment({ namespace: n })).items.map(
          (d) => d.metadata?.name,
        );
        expect(names).toContain("kept");
        expect(names).not.toContain("kept-primary");
      },
      { timeoutMs: 60_000 },
    );
    expect((await apps.readNamespacedDeployment({ name: "kept", namespace: n })).status?.readyReplicas).toBe(
      2,
    );
    const apex = await testbedKubeConfig()
      .makeApiClient(CoreV1Api)
      .readNamespacedService({ name: "kept", namespace: n });
    expect(apex.spec?.selector).toEqual({ app: "kept" });
    expect(apex.metadata?.ownerReferences ?? []).toHaveLength(0);
    const sel = `reporter="destination",destination_workload_namespace="${n}"`;
    await eventually(
      "all traffic on the target",
      async () => {
        const share = await queryValue(
          `sum(rate(istio_requests_total{${sel},destination_workload="kept"}[4s])) / sum(rate(istio_requests_total{${sel},destination_workload=~"kept|kept-primary"}[4s]))`,
        );
        expect(share).toBe(1);
      },
      { timeoutMs: 30_000 },
    );
  });
});
