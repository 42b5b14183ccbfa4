// A canary survives what production throws at it: Prometheus going away, the
// controller killed mid-analysis, and the leader dying with a standby waiting.
import { readFileSync } from "node:fs";
import { CoordinationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statusClient, writeStatus } from "../../src/kube/status.ts";
import { canaryStatus, deployCanary, readCanary, revision, WeightRecorder } from "../support/canary.ts";
import { type RunningController, startController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { type PrivatePrometheus, startPrivatePrometheus } from "../support/private-prometheus.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("canary-resilience");
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

const analysis = (interval: string) => ({
  interval,
  threshold: 2,
  maxWeight: 30,
  stepWeight: 10,
  metrics: [{ name: "request-success-rate", thresholdRange: { min: 95 }, interval: "10s" }],
});

async function initialised(name: string, interval: string): Promise<void> {
  const n = ns.name;
  await deployCanary(n, name, analysis(interval), { replicas: 2, rps: 50 });
}

async function leaseHolder(): Promise<string | undefined> {
  const lease = await testbedKubeConfig()
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: "wren-controller", namespace: ns.name });
  return lease.spec?.holderIdentity ?? undefined;
}

function decisionsFor(c: RunningController, object: string): number {
  return readFileSync(c.logFile, "utf8")
    .split("\n")
    .filter((line) => line.includes('"msg":"decision"') && line.includes(`"object":"${object}"`)).length;
}

describe("Canary resilience", () => {
  it("neither advances nor promotes while Prometheus is down, and carries on when it returns", async () => {
    const n = ns.name;
    const leader = await start("solo");
    await initialised("steady", "3s");
    await apply(revision(n, "steady", "example.com/app:2"));
    await eventually(
      "weight 10",
      async () => expect((await canaryStatus(n, "steady")).canaryWeight).toBe(10),
      {
        timeoutMs: 60_000,
        intervalMs: 200,
      },
    );
    await prometheus.stop();
    const held = await eventually(
      "two intervals without metrics",
      async () => {
        const s = await canaryStatus(n, "steady");
        expect(s.unavailableChecks ?? 0).toBeGreaterThanOrEqual(2);
        return s;
      },
      { timeoutMs: 60_000 },
    );
    expect(held.phase).toBe("Progressing");
    expect(held.canaryWeight).toBe(10);
    expect(held.failedChecks ?? 0).toBe(0);
    expect(held.conditions?.find((c) => c.type === "Ready")?.reason).toBe("MetricsUnavailable");
    expect(held.metrics?.[0]?.message).toMatch(/unreachable/i);
    await prometheus.start();
    await eventually(
      "Succeeded",
      async () => expect((await canaryStatus(n, "steady")).phase).toBe("Succeeded"),
      {
        timeoutMs: 90_000,
      },
    );
    await leader.kill();
  });

  it("resumes at the same step after SIGKILL, repeating and skipping nothing", async () => {
    const n = ns.name;
    let current = await start("first");
    await initialised("killed", "4s");
    const weights = new WeightRecorder(n, "killed");
    try {
      await apply(revision(n, "killed", "example.com/app:2"));
      await eventually(
        "weight 20",
        async () => expect((await canaryStatus(n, "killed")).canaryWeight).toBe(20),
        {
          timeoutMs: 60_000,
          intervalMs: 100,
        },
      );
      await current.kill("SIGKILL");
      const atKill = await canaryStatus(n, "killed");
      current = await start("second");
      await eventually(
        "Succeeded",
        async () => expect((await canaryStatus(n, "killed")).phase).toBe("Succeeded"),
        {
          timeoutMs: 90_000,
        },
      );
      await eventually("back at 100/0", () => expect(weights.weights.at(-1)).toBe(0));
      expect(atKill.canaryWeight).toBe(20);
      expect(weights.weights).toEqual([0, 10, 20, 30, 0]);
    } finally {
      await weights.stop();
      await current.kill();
    }
  });

  it("a step recorded but never routed (killed between the two writes) is routed and observed, not skipped", async () => {
    const n = ns.name;
    let current = await start("recorder");
    await initialised("unrouted", "4s");
    const weights = new WeightRecorder(n, "unrouted");
    try {
      await apply(revision(n, "unrouted", "example.com/app:2"));
      await eventually("VirtualService at 10%", () => expect(weights.weights.at(-1)).toBe(10), {
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      await current.kill("SIGKILL");
      // The state a SIGKILL between the status write and the VirtualService write leaves:
      // step 2 (20%) recorded a minute ago, the VirtualService still at 10%.
      const obj = await readCanary(n, "unrouted");
      const written = await writeStatus(statusClient(testbedKubeConfig()), {
        group: "wren.dev",
        version: "v1alpha1",
        plural: "canaries",
        namespace: n,
        name: "unrouted",
        resourceVersion: obj.metadata?.resourceVersion ?? "",
        status: {
          ...obj.status,
          stepIndex: 2,
          canaryWeight: 20,
          lastStepTime: new Date(Date.now() - 60_000).toISOString(),
        },
      });
      expect(written.ok).toBe(true);
      current = await start("router");
      await eventually(
        "Succeeded",
        async () => expect((await canaryStatus(n, "unrouted")).phase).toBe("Succeeded"),
        { timeoutMs: 90_000 },
      );
      await eventually("back at 100/0", () => expect(weights.weights.at(-1)).toBe(0));
      expect(weights.weights).toEqual([0, 10, 20, 30, 0]);
      const events = await testbedKubeConfig().makeApiClient(CoreV1Api).listNamespacedEvent({
        namespace: n,
        fieldSelector: "involvedObject.name=unrouted,reason=RoutingReapplied",
      });
      expect(events.items.map((e) => e.message)).toEqual([expect.stringMatching(/canary weight 20%/)]);
    } finally {
      await weights.stop();
      await current.kill();
    }
  });

  it("with two replicas only the leader acts, and the standby finishes when the leader dies", async () => {
    const n = ns.name;
    const a = await start("replica-a");
    await eventually("replica-a leads", async () => expect(await leaseHolder()).toBe("replica-a"), {
      timeoutMs: 30_000,
    });
    const b = await start("replica-b");
    await initialised("ha", "3s");
    await apply(revision(n, "ha", "example.com/app:2"));
    await eventually("weight 10", async () => expect((await canaryStatus(n, "ha")).canaryWeight).toBe(10), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    expect(decisionsFor(a, `${n}/ha`)).toBeGreaterThan(0);
    expect(decisionsFor(b, `${n}/ha`)).toBe(0);
    await a.kill("SIGKILL");
    const killedAt = Date.now();
    await eventually("replica-b leads", async () => expect(await leaseHolder()).toBe("replica-b"), {
      timeoutMs: 30_000,
    });
    const takeover = Date.now() - killedAt;
    await eventually("Succeeded", async () => expect((await canaryStatus(n, "ha")).phase).toBe("Succeeded"), {
      timeoutMs: 90_000,
    });
    expect(decisionsFor(b, `${n}/ha`)).toBeGreaterThan(0);
    console.info(`standby took over ${(takeover / 1000).toFixed(1)}s after the leader was killed`);
    await b.kill();
  });
});
