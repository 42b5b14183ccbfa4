// A faulty new service rolls its phase back: with rollback: phase the completed
// phases stay migrated, with rollback: all every phase returns to the monolith.
// Where requests went is measured in Prometheus by serving workload.
import { describe, expect, it } from "vitest";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import {
  deployShop,
  migration,
  phaseState,
  RouteRecorder,
  servedBy,
  shares,
  sources,
  testPhase,
  untilMigration,
  warningEvents,
} from "../support/migration.ts";
import { useNamespace } from "../support/namespace.ts";

const ns = useNamespace("migration-rollback");
useController(ns);

/** The phase routes left once the users phase has rolled back. */
const finalRoutes = { phase: "orders:100", all: "" };

/** Deploys a shop whose users service answers half its requests with 500, and migrates it. */
async function faultyUsers(prefix: string, rollback: "phase" | "all") {
  const n = ns.name;
  const shop = await deployShop(n, prefix, { users: { errorRate: 0.5 } });
  const routes = new RouteRecorder(n, prefix, shop.host);
  await apply(
    migration(n, prefix, shop, [
      testPhase("orders", "/orders", shop.orders),
      testPhase("users", "/users", shop.users, { rollback }),
    ]),
  );
  try {
    const status = await untilMigration(n, prefix, ["Failed", "Succeeded"], 150_000);
    // Status is recorded before the VirtualService is written: wait for the rollback to land.
    await eventually("the rolled-back routing", () =>
      expect(routes.routes.at(-1)).toBe(finalRoutes[rollback]),
    );
    return { shop, status, routes: routes.routes };
  } finally {
    await routes.stop();
  }
}

describe("a faulty new service", () => {
  it("rollback: phase sends /users back to the monolith and keeps /orders migrated", async () => {
    const n = ns.name;
    const { status, routes } = await faultyUsers("ph", "phase");
    expect(status.phase).toBe("Failed");
    expect(status.currentPhase).toBe("users");
    expect(phaseState(status)).toEqual({ orders: "Succeeded", users: "Failed" });
    const users = status.phases?.[1];
    expect(users?.message).toMatch(/failed 3 validations \(threshold 3\).*ph-users errorRate/);
    expect(users?.lastValidation?.verdict).toBe("Fail");
    expect(users?.lastValidation?.errorRate).toBeGreaterThan(5);
    expect(users?.failedChecks).toBe(3);
    expect(routes).toContain("orders:100,users:10");
    expect(routes).not.toContain("orders:100,users:100");
    expect((await warningEvents(n, "ph", "RolledBack")).length).toBeGreaterThan(0);

    const src = sources("ph");
    const measured = await eventually(
      "/users on the monolith, /orders still on orders",
      async () => {
        const orders = shares(await servedBy(n, src.orders));
        const usersServed = shares(await servedBy(n, src.users));
        expect(orders).toEqual({ "ph-orders": 1 });
        expect(usersServed).toEqual({ "ph-monolith": 1 });
        return { errorRate: users?.lastValidation?.errorRate };
      },
      { timeoutMs: 30_000 },
    );
    console.info(
      `rollback: phase — users' measured error rate ${measured.errorRate?.toFixed(1)}%; routes ${JSON.stringify(routes)}`,
    );
  });

  it("rollback: all sends every phase back to the monolith, the completed one too", async () => {
    const n = ns.name;
    const { status, routes } = await faultyUsers("all", "all");
    expect(status.phase).toBe("Failed");
    expect(phaseState(status)).toEqual({ orders: "RolledBack", users: "Failed" });
    expect(status.phases?.[0]?.message).toBe("rolled back with phase users (rollback: all)");
    expect(status.conditions?.find((c) => c.type === "Ready")?.message).toMatch(
      /every phase's requests are back on the monolith/,
    );
    expect(routes.at(-1)).toBe("");
    expect(routes).toContain("orders:100");

    const src = sources("all");
    await eventually(
      "every request on the monolith",
      async () => {
        expect(shares(await servedBy(n, src.orders))).toEqual({ "all-monolith": 1 });
        expect(shares(await servedBy(n, src.users))).toEqual({ "all-monolith": 1 });
        expect(shares(await servedBy(n, src.optIn))).toEqual({ "all-monolith": 1 });
      },
      { timeoutMs: 30_000 },
    );
    console.info(`rollback: all — routes ${JSON.stringify(routes)}`);
  });
});
