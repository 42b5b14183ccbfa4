// Two rollouts for one Deployment: the one that came second gets Ready=False,
// reason ResourceConflict, naming the object and its owner, and touches nothing,
// instead of the two rewriting one VirtualService in turn; it starts once the
// first is gone.
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { blueGreen, blueGreenStatus, untilBlueGreenPhase } from "../support/bluegreen.ts";
import { canary, canaryStatus } from "../support/canary.ts";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply, deployment } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("rollout-conflict");
useController(ns);

const analysis = {
  interval: "3s",
  threshold: 2,
  maxWeight: 20,
  stepWeight: 10,
  metrics: [{ name: "request-success-rate", thresholdRange: { min: 95 }, interval: "10s" }],
};

async function virtualServiceOwner(namespace: string, name: string): Promise<string | undefined> {
  const vs = (await testbedKubeConfig().makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
    group: "networking.istio.io",
    version: "v1",
    namespace,
    plural: "virtualservices",
    name,
  })) as { metadata?: { ownerReferences?: { kind: string; name: string; controller?: boolean }[] } };
  const owner = vs.metadata?.ownerReferences?.find((r) => r.controller);
  return owner ? `${owner.kind} ${owner.name}` : undefined;
}

describe("two rollouts for one Deployment", () => {
  it("the second holds with ResourceConflict and changes nothing; it starts when the first is deleted", async () => {
    const n = ns.name;
    await apply(deployment(n, "shop", { replicas: 1 }));
    await apply(canary(n, "shop", analysis));
    await eventually(
      "Canary Initialized",
      async () => expect((await canaryStatus(n, "shop")).phase).toBe("Initialized"),
      {
        timeoutMs: 60_000,
      },
    );
    const before = await virtualServiceOwner(n, "shop");
    expect(before).toBe("Canary shop");

    await apply(blueGreen(n, "shop", { analysis: { interval: "3s", iterations: 1, metrics: [] } }));
    const condition = await eventually("ResourceConflict", async () => {
      const ready = (await blueGreenStatus(n, "shop")).conditions?.find((c) => c.type === "Ready");
      expect(ready?.reason).toBe("ResourceConflict");
      return ready;
    });
    expect(condition?.message).toMatch(new RegExp(`${n}/shop(-primary)? is managed by Canary shop`));
    expect(condition?.message).toMatch(/^spec\.targetRef\.name: /);
    // Nothing of the BlueGreen's exists, and the Canary still owns its routing.
    const apps = testbedKubeConfig().makeApiClient(AppsV1Api);
    const names = (await apps.listNamespacedDeployment({ namespace: n })).items.map((d) => d.metadata?.name);
    expect(names.sort()).toEqual(["shop", "shop-primary"]);
    expect(await virtualServiceOwner(n, "shop")).toBe("Canary shop");
    expect((await canaryStatus(n, "shop")).conditions?.find((c) => c.type === "Ready")?.reason).toBe(
      "Initialized",
    );
    const events = await testbedKubeConfig()
      .makeApiClient(CoreV1Api)
      .listNamespacedEvent({ namespace: n, fieldSelector: "reason=ResourceConflict" });
    expect(events.items.map((e) => `${e.involvedObject.kind} ${e.type}`)).toEqual(["BlueGreen Warning"]);

    // The Canary goes (its Service, VirtualService and primary with it): the BlueGreen starts.
    await testbedKubeConfig().makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({
      group: "wren.dev",
      version: "v1alpha1",
      namespace: n,
      plural: "canaries",
      name: "shop",
    });
    await untilBlueGreenPhase(n, "shop", ["Initialized"], 90_000);
    expect(await virtualServiceOwner(n, "shop")).toBe("BlueGreen shop");
  });
});
