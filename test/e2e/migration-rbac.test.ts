// The controller running with exactly deploy/'s RBAC takes a Migration through a
// phase and an abort: every read and write the kind needs is granted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningController, startController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import {
  deployShop,
  migration,
  migrationStatus,
  phaseState,
  requestMigrationAction,
  testPhase,
  untilMigration,
} from "../support/migration.ts";
import { useNamespace } from "../support/namespace.ts";
import { deployAccountKubeConfig } from "../support/service-account.ts";

const ns = useNamespace("migration-rbac");
let controller: RunningController | undefined;

beforeAll(async () => {
  controller = await startController({
    namespace: ns.name,
    kubeconfig: await deployAccountKubeConfig(),
    // No Lease: deploy-rbac.test.ts's controller may hold wren-system's at the same time.
    leaderElect: false,
    identity: `migration-rbac-${process.pid}`,
  });
});
afterAll(async () => {
  await controller?.kill();
});

describe("deploy/ RBAC for Migration", () => {
  it("is enough to route, validate, complete a phase, and roll the next one back", async () => {
    const n = ns.name;
    const shop = await deployShop(n, "rbac");
    await apply(
      migration(n, "rbac", shop, [
        testPhase("orders", "/orders", shop.orders),
        testPhase("users", "/users", shop.users, { steps: [10, 100], stepInterval: "1h" }),
      ]),
    );
    await eventually(
      "orders migrated, users progressing",
      async () =>
        expect(phaseState(await migrationStatus(n, "rbac"))).toEqual({
          orders: "Succeeded",
          users: "Progressing",
        }),
      { timeoutMs: 90_000 },
    );
    await requestMigrationAction(n, "rbac", "abort");
    const aborted = await untilMigration(n, "rbac", ["Failed"], 60_000);
    expect(phaseState(aborted)).toEqual({ orders: "Succeeded", users: "Failed" });
    expect(aborted.phases?.[0]?.lastValidation?.verdict).toBe("Pass");
    expect(controller?.process.exitCode ?? null).toBeNull();
  });
});
