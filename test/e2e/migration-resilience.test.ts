// A Migration survives what production throws at it: Prometheus going away (hold,
// never a step forward), the controller killed mid-phase (no step lost or
// repeated), and people pausing, aborting and retrying it (kubectl wren).
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MigrationStatus } from "../../src/api/migration.ts";
import { statusClient, writeStatus } from "../../src/kube/status.ts";
import { type RunningController, startController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import {
  deployShop,
  migration,
  migrationStatus,
  phaseState,
  RouteRecorder,
  requestMigrationAction,
  testPhase,
  untilMigration,
} from "../support/migration.ts";
import { useNamespace } from "../support/namespace.ts";
import { type PrivatePrometheus, startPrivatePrometheus } from "../support/private-prometheus.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("migration-resilience");
let prometheus: PrivatePrometheus;
/** PrivatePrometheus.stop() on a stopped server signals process group 0, i.e. this test run. */
let prometheusUp = false;
const controllers: RunningController[] = [];

async function start(identity: string): Promise<RunningController> {
  const c = await startController({ namespace: ns.name, identity, prometheusUrl: prometheus.url });
  controllers.push(c);
  return c;
}

beforeAll(async () => {
  prometheus = await startPrivatePrometheus();
  prometheusUp = true;
});
afterAll(async () => {
  for (const c of controllers) await c.kill("SIGKILL");
  if (prometheusUp) await prometheus.stop();
});

describe("Migration resilience", () => {
  it("holds the phase while Prometheus is down and carries on when it returns", async () => {
    const n = ns.name;
    const controller = await start("prom");
    try {
      const shop = await deployShop(n, "prom");
      await apply(migration(n, "prom", shop, [testPhase("orders", "/orders", shop.orders)]));
      await eventually(
        "orders at 50%",
        async () => expect((await migrationStatus(n, "prom")).canaryWeight).toBe(50),
        {
          timeoutMs: 60_000,
          intervalMs: 200,
        },
      );
      const before = await migrationStatus(n, "prom");
      await prometheus.stop();
      prometheusUp = false;
      const held = await eventually(
        "two validations without metrics",
        async () => {
          const s = await migrationStatus(n, "prom");
          expect(s.phases?.[0]?.unavailableChecks ?? 0).toBeGreaterThanOrEqual(2);
          return s;
        },
        { timeoutMs: 60_000 },
      );
      expect(held.phase).toBe("Progressing");
      expect(held.canaryWeight).toBe(50);
      // Unavailable is not a failed check.
      expect(held.phases?.[0]?.failedChecks ?? 0).toBe(before.phases?.[0]?.failedChecks ?? 0);
      expect(held.phases?.[0]?.lastValidation?.verdict).toBe("Unavailable");
      expect(held.conditions?.find((c) => c.type === "Ready")?.reason).toBe("MetricsUnavailable");
      expect(held.metrics?.[0]?.message).toMatch(/unreachable/i);
      await prometheus.start();
      prometheusUp = true;
      const done = await untilMigration(n, "prom", ["Succeeded", "Failed"], 90_000);
      expect(done.phase).toBe("Succeeded");
    } finally {
      await controller.kill();
    }
  });

  it("resumes at the same step after SIGKILL, repeating and skipping nothing", async () => {
    const n = ns.name;
    let current = await start("first");
    const shop = await deployShop(n, "kill");
    const routes = new RouteRecorder(n, "kill", shop.host);
    try {
      await apply(
        migration(n, "kill", shop, [
          testPhase("orders", "/orders", shop.orders, { steps: [10, 25, 50, 100], stepInterval: "3s" }),
        ]),
      );
      await eventually(
        "orders at 25%",
        async () => expect((await migrationStatus(n, "kill")).canaryWeight).toBe(25),
        {
          timeoutMs: 60_000,
          intervalMs: 100,
        },
      );
      await current.kill("SIGKILL");
      const atKill = await migrationStatus(n, "kill");
      current = await start("second");
      const done = await untilMigration(n, "kill", ["Succeeded", "Failed"], 90_000);
      expect(done.phase).toBe("Succeeded");
      await eventually("the final routes", () => expect(routes.routes.at(-1)).toBe("orders:100"));
      expect([25, 50]).toContain(atKill.canaryWeight);
      expect(routes.routes).toEqual(["orders:10", "orders:25", "orders:50", "orders:100"]);
    } finally {
      await routes.stop();
      await current.kill();
    }
  });

  it("a step recorded but never routed (killed between the two writes) is routed and observed, not skipped", async () => {
    const n = ns.name;
    let current = await start("recorder");
    const shop = await deployShop(n, "unr");
    const routes = new RouteRecorder(n, "unr", shop.host);
    try {
      await apply(
        migration(n, "unr", shop, [
          testPhase("orders", "/orders", shop.orders, { steps: [10, 25, 50, 100], stepInterval: "3s" }),
        ]),
      );
      await eventually(
        "VirtualService with orders at 10%",
        () => expect(routes.routes.at(-1)).toBe("orders:10"),
        {
          timeoutMs: 60_000,
          intervalMs: 100,
        },
      );
      await current.kill("SIGKILL");
      // The state a SIGKILL between the status write and the VirtualService write leaves:
      // step 2 (25%) recorded a minute ago as advance() records it, the VirtualService still at 10%.
      const obj = (await testbedKubeConfig().makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
        group: "wren.dev",
        version: "v1alpha1",
        namespace: n,
        plural: "migrations",
        name: "unr",
      })) as { metadata?: { resourceVersion?: string }; status?: MigrationStatus };
      const status = obj.status ?? {};
      const [orders, ...others] = status.phases ?? [];
      expect(orders).toMatchObject({ name: "orders", state: "Progressing", stepIndex: 0, percent: 10 });
      const aMinuteAgo = new Date(Date.now() - 60_000).toISOString();
      const written = await writeStatus(statusClient(testbedKubeConfig()), {
        group: "wren.dev",
        version: "v1alpha1",
        plural: "migrations",
        namespace: n,
        name: "unr",
        resourceVersion: obj.metadata?.resourceVersion ?? "",
        status: {
          ...status,
          canaryWeight: 25,
          phases: [
            {
              ...orders,
              stepIndex: 1,
              percent: 25,
              stepStartTime: aMinuteAgo,
              lastCheckTime: aMinuteAgo,
              waitingSince: undefined,
              message: `validation passed; phase orders at 25% of its requests on ${shop.orders} (was 10%; step 2 of 4)`,
            },
            ...others,
          ],
        },
      });
      expect(written.ok).toBe(true);
      expect(routes.routes.at(-1)).toBe("orders:10");
      current = await start("router");
      const done = await untilMigration(n, "unr", ["Succeeded", "Failed"], 90_000);
      expect(done.phase).toBe("Succeeded");
      await eventually("the final routes", () => expect(routes.routes.at(-1)).toBe("orders:100"));
      expect(routes.routes).toEqual(["orders:10", "orders:25", "orders:50", "orders:100"]);
      const events = await testbedKubeConfig().makeApiClient(CoreV1Api).listNamespacedEvent({
        namespace: n,
        fieldSelector: "involvedObject.kind=Migration,involvedObject.name=unr,reason=RoutingReapplied",
      });
      expect(events.items.map((e) => e.message)).toEqual([expect.stringMatching(/phase orders at 25%/)]);
    } finally {
      await routes.stop();
      await current.kill();
    }
  });

  it("pause holds, resume continues, abort rolls back, retry starts the phase again", async () => {
    const n = ns.name;
    const controller = await start("manual");
    try {
      const shop = await deployShop(n, "man");
      await apply(
        migration(n, "man", shop, [
          testPhase("orders", "/orders", shop.orders, { steps: [10, 50, 100], stepInterval: "1h" }),
        ]),
      );
      await eventually("orders started", async () =>
        expect((await migrationStatus(n, "man")).canaryWeight).toBe(10),
      );

      await requestMigrationAction(n, "man", "pause");
      const paused = await untilMigration(n, "man", ["Paused"], 30_000);
      expect(phaseState(paused)).toEqual({ orders: "Paused" });
      expect(paused.lastAction).toMatchObject({ action: "pause", result: "paused", requestedBy: "e2e" });

      await requestMigrationAction(n, "man", "resume");
      await untilMigration(n, "man", ["Progressing"], 30_000);
      // promote: one step now, without waiting for the hour-long step.
      await requestMigrationAction(n, "man", "promote");
      await eventually("50%", async () => expect((await migrationStatus(n, "man")).canaryWeight).toBe(50));

      await requestMigrationAction(n, "man", "abort");
      const aborted = await untilMigration(n, "man", ["Failed"], 30_000);
      expect(phaseState(aborted)).toEqual({ orders: "Failed" });
      expect(aborted.phases?.[0]?.message).toBe("phase orders aborted by e2e at 50%");

      const id = await requestMigrationAction(n, "man", "retry");
      const retried = await untilMigration(n, "man", ["Progressing"], 30_000);
      expect(retried.lastAction).toMatchObject({ id, action: "retry", result: "restarted" });
      expect(retried.canaryWeight).toBe(10);
    } finally {
      await controller.kill();
    }
  });
});
