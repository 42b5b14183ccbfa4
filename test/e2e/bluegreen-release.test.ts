// BlueGreen releases end to end: preview requests (and only they) reach the
// candidate before the switch, as Prometheus counts them through meshsim; a
// healthy candidate is switched to in steps and the previous colour stays up for
// scaleDownDelay, then goes to zero.
import { CoreV1Api, type V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { resourceInformer } from "../../src/kube/resource-informer.ts";
import {
  analysis,
  blueGreen,
  blueGreenStatus,
  previewTraffic,
  RouteRecorder,
  readDeployment,
  requestBlueGreenAction,
  requestsTo,
  untilBlueGreenPhase,
} from "../support/bluegreen.ts";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply, deployment } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { queryValue } from "../support/prometheus.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("bluegreen-release");
useController(ns);

/** Deploys revision 1 of `name` with preview traffic and its BlueGreen, and waits until it is initialised. */
async function initialised(name: string, spec: Record<string, unknown>): Promise<void> {
  const n = ns.name;
  await apply(deployment(n, name, { replicas: 2 }), previewTraffic(n, name));
  await apply(blueGreen(n, name, spec));
  await untilBlueGreenPhase(n, name, ["Initialized"], 60_000);
}

describe("BlueGreen release", () => {
  it("before the switch only preview requests reach the candidate (measured in Prometheus)", async () => {
    const n = ns.name;
    await initialised("preview", { analysis: analysis(), autoPromote: false });
    await apply(deployment(n, "preview", { replicas: 2, image: "example.com/app:2" }));
    const waiting = await untilBlueGreenPhase(n, "preview", ["WaitingPromotion", "Failed"]);
    expect(waiting).toMatchObject({
      phase: "WaitingPromotion",
      activeColour: "blue",
      candidateColour: "green",
      canaryWeight: 0,
    });
    await eventually(
      "preview requests counted on the candidate",
      async () => expect(await queryValue(requestsTo(n, "preview-green", "tester"))).toBeGreaterThan(50),
      { timeoutMs: 60_000 },
    );
    const publicBefore = await queryValue(requestsTo(n, "preview-green", "public"));
    const publicOnActive = await queryValue(requestsTo(n, "preview-blue", "public"));
    const held = await blueGreenStatus(n, "preview");
    expect(held.phase).toBe("WaitingPromotion");
    expect(publicBefore).toBe(0);
    expect(publicOnActive).toBeGreaterThan(100);
    expect(held.metrics?.[0]).toMatchObject({ name: "request-success-rate", verdict: "Pass" });
    console.info(
      `before the switch: ${Math.round(await queryValue(requestsTo(n, "preview-green", "tester")))} preview requests on the candidate, ${publicBefore} others; ${Math.round(publicOnActive)} others on the active colour`,
    );

    // The same query sees the public traffic once the switch sends it there: the 0 above is real.
    await requestBlueGreenAction(n, "preview", "promote");
    await untilBlueGreenPhase(n, "preview", ["Succeeded"]);
    await eventually(
      "public requests reach green after the switch",
      async () => expect(await queryValue(requestsTo(n, "preview-green", "public"))).toBeGreaterThan(20),
      { timeoutMs: 60_000 },
    );
  });

  it("switches a healthy candidate 10% then 100%, keeps the old colour for scaleDownDelay, then scales it to 0", async () => {
    const n = ns.name;
    await initialised("healthy", {
      analysis: analysis(),
      switch: { steps: [10, 100], stepInterval: "6s" },
      scaleDownDelay: "20s",
    });
    const routes = new RouteRecorder(n, "healthy");
    const blueReplicas: { at: number; replicas: number }[] = [];
    const deployments = resourceInformer<V1Deployment>(
      testbedKubeConfig(),
      { group: "apps", version: "v1", plural: "deployments" },
      { namespace: n, fieldSelector: "metadata.name=healthy-blue", resyncMs: 0 },
    );
    const onBlue = (d: V1Deployment) => {
      const replicas = d.spec?.replicas ?? 0;
      if (blueReplicas.at(-1)?.replicas !== replicas) blueReplicas.push({ at: Date.now(), replicas });
    };
    deployments.on("add", onBlue);
    deployments.on("update", onBlue);
    deployments.start();
    try {
      await apply(deployment(n, "healthy", { replicas: 2, image: "example.com/app:2" }));
      const done = await untilBlueGreenPhase(n, "healthy", ["Succeeded", "Failed"]);
      expect(done).toMatchObject({ phase: "Succeeded", activeColour: "green", switchStep: 2 });
      // Still running right after the switch, so an abort could send everything back at once.
      const blueAtSwitch = await readDeployment(n, "healthy-blue");
      expect(blueAtSwitch?.spec?.replicas).toBe(2);
      expect(blueAtSwitch?.status?.readyReplicas).toBe(2);
      // The status is recorded before the VirtualService is written: wait for the watch to catch up.
      await eventually("the watch has seen 100% on green", () =>
        expect(routes.versions.at(-1)?.green).toBe(100),
      );
      expect(routes.greenWeights()).toEqual([0, 10, 100]);
      const atTen = routes.versions.find((v) => v.green === 10);
      const atHundred = routes.versions.find((v) => v.green === 100);
      expect(atTen?.preview).toBe("green");
      expect(atHundred?.preview).toBeUndefined();

      await eventually("blue scaled to 0", () => expect(blueReplicas.at(-1)?.replicas).toBe(0), {
        timeoutMs: 60_000,
      });
      const scaledAt = blueReplicas.at(-1)?.at ?? 0;
      const scaleDownAt = Date.parse(done.scaleDownAt ?? "");
      expect(scaledAt).toBeGreaterThanOrEqual(scaleDownAt);
      const switchedAt = atHundred?.at ?? 0;
      console.info(
        `green 10% for ${((switchedAt - (atTen?.at ?? 0)) / 1000).toFixed(1)}s; blue kept ${((scaledAt - switchedAt) / 1000).toFixed(1)}s after the switch (scaleDownDelay 20s)`,
      );

      const target = await readDeployment(n, "healthy");
      expect(target?.spec?.replicas).toBe(0);
      const apex = await testbedKubeConfig()
        .makeApiClient(CoreV1Api)
        .readNamespacedService({ name: "healthy", namespace: n });
      expect(apex.spec?.selector).toEqual({ app: "healthy-green", "wren.dev/colour": "green" });
      expect((await readDeployment(n, "healthy-green"))?.status?.readyReplicas).toBe(2);
    } finally {
      await routes.stop();
      await deployments.stop();
    }
  });
});
