// Migrations end to end: the real controller, meshsim sending /orders, /users and
// other requests to one host, Prometheus measuring which workload served them.
import { describe, expect, it } from "vitest";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import {
  deployShop,
  migration,
  migrationStatus,
  phaseState,
  RouteRecorder,
  requestMigrationAction,
  servedBy,
  shares,
  sources,
  testPhase,
  untilMigration,
} from "../support/migration.ts";
import { useNamespace } from "../support/namespace.ts";

const ns = useNamespace("migration-release");
useController(ns);

function total(rates: Record<string, number>): number {
  return Object.values(rates).reduce((a, b) => a + b, 0);
}

function round(rates: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, Number(v.toFixed(3))]));
}

describe("Migration", () => {
  it("moves /orders, then /users, to the new services; afterwards only they serve those, the monolith the rest", async () => {
    const n = ns.name;
    const shop = await deployShop(n, "rel");
    const routes = new RouteRecorder(n, "rel", shop.host);
    const started = Date.now();
    try {
      await apply(
        migration(n, "rel", shop, [
          testPhase("orders", "/orders", shop.orders),
          testPhase("users", "/users", shop.users),
        ]),
      );
      const done = await untilMigration(n, "rel", ["Succeeded", "Failed"], 150_000);
      expect(done.phase).toBe("Succeeded");
      expect(phaseState(done)).toEqual({ orders: "Succeeded", users: "Succeeded" });
      expect(done.canaryWeight).toBe(100);
      expect(done.conditions?.find((c) => c.type === "Ready")).toMatchObject({
        status: "True",
        reason: "Succeeded",
      });
      for (const p of done.phases ?? []) {
        expect(p.lastValidation?.verdict, p.name).toBe("Pass");
        expect(p.lastValidation?.throughput, p.name).toBeGreaterThan(0.2);
        expect(p.lastValidation?.errorRate, p.name).toBe(0);
      }
      await eventually("the VirtualService at its final routes", () =>
        expect(routes.routes.at(-1)).toBe("orders:100,users:100"),
      );
      expect(routes.routes).toEqual([
        "orders:10",
        "orders:50",
        "orders:100",
        "orders:100,users:10",
        "orders:100,users:50",
        "orders:100,users:100",
      ]);
      console.info(`two phases of three steps migrated in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    } finally {
      await routes.stop();
    }
    const src = sources("rel");
    const measured = await eventually(
      "every request served where the routes say",
      async () => {
        const orders = await servedBy(n, src.orders);
        const users = await servedBy(n, src.users);
        const other = await servedBy(n, src.other);
        expect(shares(orders)).toEqual({ "rel-orders": 1 });
        expect(shares(users)).toEqual({ "rel-users": 1 });
        expect(shares(other)).toEqual({ "rel-monolith": 1 });
        return { orders, users, other };
      },
      { timeoutMs: 30_000 },
    );
    console.info(
      `requests/s by serving workload after the migration: /orders ${JSON.stringify(round(measured.orders))}, /users ${JSON.stringify(round(measured.users))}, other ${JSON.stringify(round(measured.other))}`,
    );
  });

  it("sends opt-in requests to the new service at 100% from the first step, the phase's other requests at its percent", async () => {
    const n = ns.name;
    const shop = await deployShop(n, "opt");
    // A first step far longer than the test, so everything below happens at 10%.
    await apply(
      migration(n, "opt", shop, [
        testPhase("orders", "/orders", shop.orders, { steps: [10, 100], stepInterval: "1h" }),
      ]),
    );
    await eventually("phase orders at its first step", async () =>
      expect((await migrationStatus(n, "opt")).canaryWeight).toBe(10),
    );
    const src = sources("opt");
    const measured = await eventually(
      "opt-in requests on orders only",
      async () => {
        const optIn = await servedBy(n, src.optIn, "10s");
        const plain = await servedBy(n, src.orders, "10s");
        // A window wholly after the routes appeared: the sources at their full 6 and 18 requests/s.
        expect(total(optIn)).toBeGreaterThan(5);
        expect(total(plain)).toBeGreaterThan(15);
        expect(shares(optIn)).toEqual({ "opt-orders": 1 });
        const moved = shares(plain)["opt-orders"] ?? 0;
        expect(moved).toBeGreaterThan(0.02);
        expect(moved).toBeLessThan(0.3);
        return { optIn, plain, moved };
      },
      { timeoutMs: 60_000 },
    );
    const status = await migrationStatus(n, "opt");
    expect(status.canaryWeight).toBe(10);
    expect(status.phases?.[0]?.stepIndex).toBe(0);
    console.info(
      `at 10%: opt-in requests/s ${JSON.stringify(round(measured.optIn))}; plain /orders requests/s ${JSON.stringify(round(measured.plain))} (${(measured.moved * 100).toFixed(1)}% on orders)`,
    );

    // kubectl wren promote --full finishes the current phase at once.
    const id = await requestMigrationAction(n, "opt", "promote-full");
    const done = await untilMigration(n, "opt", ["Succeeded"], 60_000);
    expect(done.lastAction).toMatchObject({ id, action: "promote-full", result: "promoted fully" });
    expect(phaseState(done)).toEqual({ orders: "Succeeded" });
  });
});
