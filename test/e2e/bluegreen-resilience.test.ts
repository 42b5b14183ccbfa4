// A BlueGreen survives what production throws at it: the controller killed while a
// release waits for a person (autoPromote: false) keeps waiting after the restart,
// and Prometheus going away holds a release before the switch instead of switching.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  analysis,
  blueGreen,
  blueGreenStatus,
  previewTraffic,
  RouteRecorder,
  requestBlueGreenAction,
  untilBlueGreenPhase,
} from "../support/bluegreen.ts";
import { type RunningController, startController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply, deployment } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { type PrivatePrometheus, startPrivatePrometheus } from "../support/private-prometheus.ts";

const ns = useNamespace("bluegreen-resilience");
let prometheus: PrivatePrometheus;
const controllers: RunningController[] = [];

async function start(identity: string): Promise<RunningController> {
  const c = await startController({ namespace: ns.name, identity, prometheusUrl: prometheus.url });
  controllers.push(c);
  return c;
}

beforeAll(async () => {
  prometheus = await startPrivatePrometheus();
});
afterAll(async () => {
  for (const c of controllers) await c.kill("SIGKILL");
  await prometheus?.stop();
});

async function initialised(name: string, spec: Record<string, unknown>): Promise<void> {
  const n = ns.name;
  await apply(deployment(n, name, { replicas: 2 }), previewTraffic(n, name));
  await apply(blueGreen(n, name, spec));
  await untilBlueGreenPhase(n, name, ["Initialized"], 60_000);
}

function decisionsFor(c: RunningController, object: string): number {
  return readFileSync(c.logFile, "utf8")
    .split("\n")
    .filter((line) => line.includes('"msg":"decision"') && line.includes(`"object":"${object}"`)).length;
}

describe("BlueGreen resilience", () => {
  it("autoPromote: false holds before the switch, still holds after the controller is SIGKILLed, and promote finishes", async () => {
    const n = ns.name;
    let current = await start("first");
    await initialised("held", { analysis: analysis(), autoPromote: false });
    const routes = new RouteRecorder(n, "held");
    try {
      await apply(deployment(n, "held", { replicas: 2, image: "example.com/app:2" }));
      const waiting = await untilBlueGreenPhase(n, "held", ["WaitingPromotion", "Failed"]);
      expect(waiting.phase).toBe("WaitingPromotion");
      expect(waiting.conditions?.find((c) => c.type === "Ready")?.reason).toBe("WaitingPromotion");
      await eventually("the watch has seen the preview route", () =>
        expect(routes.versions.at(-1)).toMatchObject({ green: 0, preview: "green" }),
      );

      await current.kill("SIGKILL");
      const atKill = await blueGreenStatus(n, "held");
      const routeAtKill = routes.versions.at(-1);
      const restartedAt = Date.now();
      current = await start("second");
      const object = `${n}/held`;
      // The new controller has decided several times, and its checks keep running while it holds.
      const resumed = await eventually(
        "the restarted controller holding",
        async () => {
          expect(decisionsFor(current, object)).toBeGreaterThanOrEqual(3);
          const s = await blueGreenStatus(n, "held");
          expect(Date.parse(s.lastStepTime ?? "")).toBeGreaterThan(restartedAt);
          return s;
        },
        { timeoutMs: 60_000 },
      );
      expect(atKill.phase).toBe("WaitingPromotion");
      expect(resumed).toMatchObject({
        phase: "WaitingPromotion",
        canaryWeight: 0,
        activeColour: "blue",
        candidateColour: "green",
        lastAppliedSpec: atKill.lastAppliedSpec,
      });
      // Not a single route change since the kill.
      expect(routes.versions.at(-1)).toEqual(routeAtKill);

      const { id } = await requestBlueGreenAction(n, "held", "promote");
      const done = await untilBlueGreenPhase(n, "held", ["Succeeded", "Failed"]);
      expect(done).toMatchObject({ phase: "Succeeded", activeColour: "green" });
      expect(done.lastAction).toMatchObject({ id, action: "promote", requestedBy: "e2e" });
      await eventually("all traffic on green", () => expect(routes.versions.at(-1)?.green).toBe(100));
      expect(routes.greenWeights()).toEqual([0, 100]);
    } finally {
      await routes.stop();
      await current.kill();
    }
  });

  it("never switches while Prometheus is down (hold policy), and carries on when it returns", async () => {
    const n = ns.name;
    const current = await start("metrics");
    await initialised("blind", { analysis: analysis() });
    const routes = new RouteRecorder(n, "blind");
    try {
      await prometheus.stop();
      await apply(deployment(n, "blind", { replicas: 2, image: "example.com/app:2" }));
      const held = await eventually(
        "two rounds without metrics",
        async () => {
          const s = await blueGreenStatus(n, "blind");
          expect(s.unavailableChecks ?? 0).toBeGreaterThanOrEqual(2);
          return s;
        },
        { timeoutMs: 60_000 },
      );
      expect(held).toMatchObject({ phase: "Progressing", canaryWeight: 0, failedChecks: 0, iterations: 0 });
      expect(held.conditions?.find((c) => c.type === "Ready")?.reason).toBe("MetricsUnavailable");
      expect(held.metrics?.[0]?.verdict).toBe("Unavailable");
      expect(routes.greenWeights()).toEqual([0]);

      await prometheus.start();
      const done = await untilBlueGreenPhase(n, "blind", ["Succeeded", "Failed"]);
      expect(done.phase).toBe("Succeeded");
      await eventually("all traffic on green", () => expect(routes.versions.at(-1)?.green).toBe(100));
      expect(routes.greenWeights()).toEqual([0, 100]);
    } finally {
      await routes.stop();
      await current.kill();
    }
  });
});
