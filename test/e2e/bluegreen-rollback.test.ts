// BlueGreen rollbacks end to end: a failing candidate is never switched to, and a
// rollback after the switch (an abort, or failing post-switch checks) is one
// VirtualService write putting everything back on the previous colour. The time
// from the abort to that write, as a watch in this test sees it, is printed.
import { CoreV1Api } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
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

const ns = useNamespace("bluegreen-rollback");
useController(ns);

/** Deploys revision 1 of `name` with preview traffic and its BlueGreen, and waits until it is initialised. */
async function initialised(name: string, spec: Record<string, unknown>): Promise<RouteRecorder> {
  const n = ns.name;
  await apply(deployment(n, name, { replicas: 2 }), previewTraffic(n, name));
  await apply(blueGreen(n, name, spec));
  await untilBlueGreenPhase(n, name, ["Initialized"], 60_000);
  return new RouteRecorder(n, name);
}

/** A bad release: the new image's pods answer half the requests with 500. */
function badRevision(name: string) {
  return deployment(ns.name, name, {
    replicas: 2,
    image: "example.com/app:bad",
    behaviour: { errorRate: 0.5 },
  });
}

/**
 * Aborts and returns how long after the request the watch saw the VirtualService
 * with all traffic back on blue, checking that it got there in one write.
 */
async function abortAndMeasure(name: string, routes: RouteRecorder): Promise<number> {
  const before = routes.versions.at(-1);
  expect(before?.green).toBe(100);
  const { id, sentAt } = await requestBlueGreenAction(ns.name, name, "abort");
  const back = await eventually(
    "all traffic back on blue",
    () => {
      const v = routes.versions.find((r) => r.at > sentAt && r.green === 0);
      expect(v).toBeDefined();
      return v;
    },
    { timeoutMs: 30_000, intervalMs: 20 },
  );
  // One write: the very next version of the VirtualService is the rolled-back one.
  expect(back?.generation).toBe((before?.generation ?? 0) + 1);
  expect(back).toMatchObject({ blue: 100, green: 0, preview: undefined });
  const status = await untilBlueGreenPhase(ns.name, name, ["Failed"], 30_000);
  expect(status.lastAction).toMatchObject({ id, action: "abort", result: "rolled back" });
  return (back?.at ?? 0) - sentAt;
}

describe("BlueGreen rollback", () => {
  it("never switches to a failing candidate: no request without the preview header reaches it", async () => {
    const n = ns.name;
    const routes = await initialised("failing", { analysis: analysis({ iterations: 3 }) });
    try {
      await apply(badRevision("failing"));
      const failed = await untilBlueGreenPhase(n, "failing", ["Failed", "Succeeded"]);
      expect(failed).toMatchObject({
        phase: "Failed",
        activeColour: "blue",
        canaryWeight: 0,
        failedChecks: 2,
      });
      expect(failed.conditions?.find((c) => c.type === "Ready")?.reason).toBe("RolledBack");
      expect(failed.metrics?.[0]?.verdict).toBe("Fail");
      await eventually("the watch has seen the preview route removed", () =>
        expect(routes.versions.at(-1)?.preview).toBeUndefined(),
      );
      expect(routes.greenWeights()).toEqual([0]);
      expect(routes.versions.some((v) => v.preview === "green")).toBe(true);
      // Prometheus: the preview requests reached it (so it was judged on real traffic), nothing else did.
      await eventually(
        "preview requests counted",
        async () => expect(await queryValue(requestsTo(n, "failing-green", "tester"))).toBeGreaterThan(20),
        { timeoutMs: 30_000 },
      );
      expect(await queryValue(requestsTo(n, "failing-green", "public"))).toBe(0);
      await eventually("green scaled to 0", async () =>
        expect((await readDeployment(n, "failing-green"))?.spec?.replicas).toBe(0),
      );
      expect((await readDeployment(n, "failing-blue"))?.spec?.replicas).toBe(2);
    } finally {
      await routes.stop();
    }
  });

  it("abort after the switch, during post-switch checks: all traffic back on the old colour in one write", async () => {
    const n = ns.name;
    const routes = await initialised("aborted", {
      analysis: analysis({ iterations: 1, postSwitchIterations: 100 }),
    });
    try {
      await apply(deployment(n, "aborted", { replicas: 2, image: "example.com/app:2" }));
      await untilBlueGreenPhase(n, "aborted", ["Verifying"]);
      await eventually("the watch has seen 100% on green", () =>
        expect(routes.versions.at(-1)?.green).toBe(100),
      );
      const ms = await abortAndMeasure("aborted", routes);
      console.info(`abort during post-switch checks -> VirtualService back on blue: ${ms.toFixed(0)} ms`);
      expect(routes.greenWeights()).toEqual([0, 100, 0]);
      await eventually("green scaled to 0", async () =>
        expect((await readDeployment(n, "aborted-green"))?.spec?.replicas).toBe(0),
      );
    } finally {
      await routes.stop();
    }
  });

  it("abort after success, within scaleDownDelay: the previous colour takes everything back at once", async () => {
    const n = ns.name;
    const routes = await initialised("regret", {
      analysis: analysis({ iterations: 1 }),
      scaleDownDelay: "5m",
    });
    try {
      await apply(deployment(n, "regret", { replicas: 2, image: "example.com/app:2" }));
      const done = await untilBlueGreenPhase(n, "regret", ["Succeeded", "Failed"]);
      expect(done).toMatchObject({ phase: "Succeeded", activeColour: "green" });
      await eventually("the watch has seen 100% on green", () =>
        expect(routes.versions.at(-1)?.green).toBe(100),
      );
      const ms = await abortAndMeasure("regret", routes);
      console.info(`abort after success -> VirtualService back on blue: ${ms.toFixed(0)} ms`);
      const status = await blueGreenStatus(n, "regret");
      expect(status).toMatchObject({
        activeColour: "blue",
        candidateColour: "green",
        lastAppliedSpec: done.lastAppliedSpec,
      });
      // The revision blue still runs, not the one rolled back.
      const blue = await readDeployment(n, "regret-blue");
      expect(status.lastPromotedSpec).not.toBe(done.lastPromotedSpec);
      expect(status.lastPromotedSpec).toBe(blue?.metadata?.annotations?.["wren.dev/source-revision"]);
      await eventually("the apex Service selects blue again", async () => {
        const apex = await testbedKubeConfig()
          .makeApiClient(CoreV1Api)
          .readNamespacedService({ name: "regret", namespace: n });
        expect(apex.spec?.selector?.["wren.dev/colour"]).toBe("blue");
      });
    } finally {
      await routes.stop();
    }
  });

  it("failing post-switch checks roll back to the old colour in one write", async () => {
    const n = ns.name;
    const routes = await initialised("late", {
      analysis: analysis({ iterations: 0, threshold: 1, postSwitchIterations: 3 }),
    });
    try {
      await apply(badRevision("late"));
      const failed = await untilBlueGreenPhase(n, "late", ["Failed", "Succeeded"]);
      expect(failed).toMatchObject({ phase: "Failed", activeColour: "blue", canaryWeight: 0 });
      expect(failed.conditions?.find((c) => c.type === "Ready")?.message).toMatch(/request-success-rate/);
      await eventually("the watch has seen the rollback", () =>
        expect(routes.versions.at(-1)?.green).toBe(0),
      );
      expect(routes.greenWeights()).toEqual([0, 100, 0]);
      const atHundred = routes.versions.findIndex((v) => v.green === 100);
      const back = routes.versions[atHundred + 1];
      expect(back?.generation).toBe((routes.versions[atHundred]?.generation ?? 0) + 1);
      expect(back).toMatchObject({ blue: 100, green: 0 });
    } finally {
      await routes.stop();
    }
  });
});
