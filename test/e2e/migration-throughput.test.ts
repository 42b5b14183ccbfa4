// A new service that no request reaches (its Service has no ready pod) fails
// minThroughput and rolls back, instead of passing on empty data.
import { describe, expect, it } from "vitest";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import {
  deployShop,
  migration,
  phaseState,
  servedBy,
  shares,
  sources,
  testPhase,
  untilMigration,
} from "../support/migration.ts";
import { useNamespace } from "../support/namespace.ts";
import { queryValue } from "../support/prometheus.ts";

const ns = useNamespace("migration-throughput");
useController(ns);

describe("a new service without traffic", () => {
  it("fails minThroughput with a message saying no request reached it, and rolls back", async () => {
    const n = ns.name;
    const shop = await deployShop(n, "thr", { usersReplicas: 0 });
    await apply(migration(n, "thr", shop, [testPhase("users", "/users", shop.users)]));
    const status = await untilMigration(n, "thr", ["Failed", "Succeeded"], 120_000);
    expect(status.phase).toBe("Failed");
    expect(phaseState(status)).toEqual({ users: "Failed" });
    const users = status.phases?.[0];
    expect(users?.lastValidation).toMatchObject({ verdict: "Fail", throughput: 0 });
    expect(users?.message).toMatch(/no requests reached Service thr-users/);
    const throughput = status.metrics?.find((m) => m.name === "thr-users/throughput");
    expect(throughput).toMatchObject({ verdict: "Fail", value: 0, thresholdRange: { min: 0.2 } });
    // Error rate over no traffic is no data, never a pass.
    expect(status.metrics?.find((m) => m.name === "thr-users/errorRate")?.verdict).toBe("Unavailable");

    const src = sources("thr");
    await eventually(
      "/users back on the monolith",
      async () => expect(shares(await servedBy(n, src.users))).toEqual({ "thr-monolith": 1 }),
      { timeoutMs: 30_000 },
    );
    // What the clients saw while the phase held 10% of /users: 503s with no upstream (UH).
    const failed = await queryValue(
      `sum(increase(istio_requests_total{reporter="source",source_workload_namespace="${n}",source_workload="${src.users}",response_flags="UH"}[5m])) or vector(0)`,
    );
    console.info(
      `requests meshsim answered 503 UH while 10% of /users went to the empty Service: ${failed.toFixed(0)}`,
    );
    expect(failed).toBeGreaterThan(0);
  });
});
