// Manual actions (what kubectl wren does) through the API: each consumed once,
// recorded in status and an Event.
import { CoreV1Api } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { canaryStatus, deployCanary, requestAction, revision } from "../support/canary.ts";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("canary-manual");
useController(ns);

// A long interval: nothing advances unless a person says so.
const analysis = {
  interval: "10m",
  threshold: 2,
  maxWeight: 40,
  stepWeight: 10,
  metrics: [{ name: "request-success-rate", thresholdRange: { min: 95 }, interval: "10s" }],
};

async function progressingAt10(name: string): Promise<void> {
  const n = ns.name;
  await deployCanary(n, name, analysis, { replicas: 1, rps: 20 });
  await apply(revision(n, name, "example.com/app:2", {}, 1));
  await eventually("weight 10", async () => expect((await canaryStatus(n, name)).canaryWeight).toBe(10), {
    timeoutMs: 60_000,
  });
}

async function consumed(name: string, id: string) {
  return eventually(`action ${id} consumed`, async () => {
    const s = await canaryStatus(ns.name, name);
    expect(s.lastAction?.id).toBe(id);
    return s;
  });
}

describe("manual actions", () => {
  it("promote advances exactly one step; --full promotes", async () => {
    await progressingAt10("stepper");
    const first = await consumed("stepper", await requestAction(ns.name, "stepper", "promote"));
    expect(first.canaryWeight).toBe(20);
    expect(first.lastAction).toMatchObject({
      action: "promote",
      requestedBy: "e2e",
      result: "advanced one step",
    });
    const again = await consumed("stepper", await requestAction(ns.name, "stepper", "promote"));
    expect(again.canaryWeight).toBe(30);
    await consumed("stepper", await requestAction(ns.name, "stepper", "promote-full"));
    await eventually(
      "Succeeded",
      async () => expect((await canaryStatus(ns.name, "stepper")).phase).toBe("Succeeded"),
      {
        timeoutMs: 60_000,
      },
    );
    const events = await testbedKubeConfig()
      .makeApiClient(CoreV1Api)
      .listNamespacedEvent({ namespace: ns.name, fieldSelector: "involvedObject.name=stepper" });
    expect(events.items.some((e) => e.message?.includes("promoted one step by e2e"))).toBe(true);
  });

  it("pause holds, resume continues", async () => {
    await progressingAt10("pausable");
    const paused = await consumed("pausable", await requestAction(ns.name, "pausable", "pause"));
    expect(paused.phase).toBe("Paused");
    const ignored = await consumed("pausable", await requestAction(ns.name, "pausable", "promote"));
    expect(ignored.canaryWeight).toBe(10);
    expect(ignored.lastAction?.result).toMatch(/^ignored/);
    const resumed = await consumed("pausable", await requestAction(ns.name, "pausable", "resume"));
    expect(resumed.phase).toBe("Progressing");
    expect(resumed.canaryWeight).toBe(10);
  });

  it("abort rolls back; retry restarts the same revision without a spec change", async () => {
    await progressingAt10("retried");
    const aborted = await consumed("retried", await requestAction(ns.name, "retried", "abort"));
    expect(aborted.phase).toBe("Failed");
    expect(aborted.canaryWeight).toBe(0);
    const revisionUnderTest = aborted.lastAppliedSpec;
    const retried = await consumed("retried", await requestAction(ns.name, "retried", "retry"));
    expect(["Progressing"]).toContain(retried.phase);
    expect(retried.lastAppliedSpec).toBe(revisionUnderTest);
    expect(retried.failedChecks).toBe(0);
    await eventually(
      "weight 10 again",
      async () => expect((await canaryStatus(ns.name, "retried")).canaryWeight).toBe(10),
      {
        timeoutMs: 60_000,
      },
    );
    await consumed("retried", await requestAction(ns.name, "retried", "promote-full"));
    await eventually(
      "Succeeded",
      async () => expect((await canaryStatus(ns.name, "retried")).phase).toBe("Succeeded"),
      {
        timeoutMs: 60_000,
      },
    );
  });
});
