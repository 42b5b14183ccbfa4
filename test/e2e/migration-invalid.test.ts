// Invalid Migrations: rules of the schema (overlapping phases, steps) and facts
// only the cluster knows (a Service that does not exist, a port it lacks, another
// VirtualService for the host) get Ready=False/InvalidSpec naming the field, a
// Warning Event, and no routing change.
import { CustomObjectsApi } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { VirtualService } from "../../src/engine/routing/istio.ts";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply, deployment, service, virtualService } from "../support/fixtures.ts";
import {
  migration,
  migrationStatus,
  shopNames,
  testPhase,
  untilMigration,
  warningEvents,
} from "../support/migration.ts";
import { useNamespace } from "../support/namespace.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("migration-invalid");
useController(ns);

async function virtualServices(): Promise<VirtualService[]> {
  const list = (await testbedKubeConfig().makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
    group: "networking.istio.io",
    version: "v1",
    namespace: ns.name,
    plural: "virtualservices",
  })) as { items: VirtualService[] };
  return list.items;
}

/** The host and services every case shares: shop (the monolith), shop-orders, shop-users. */
const shop = shopNames("shop");

async function deployServices(): Promise<void> {
  const n = ns.name;
  await apply(
    deployment(n, "shop-monolith"),
    service(n, shop.host, { app: "shop-monolith" }),
    deployment(n, shop.orders),
    service(n, shop.orders, { app: shop.orders }),
  );
}

const orders = testPhase("orders", "/orders", shop.orders);

const cases: [string, Record<string, unknown>[], string][] = [
  [
    "overlapping matches",
    [orders, testPhase("archive", "/orders/archive", shop.orders)],
    "spec.phases.1.match.0: overlaps phases.0.match.0",
  ],
  [
    "steps not increasing",
    [testPhase("orders", "/orders", shop.orders, { steps: [10, 50, 25, 100] })],
    "spec.phases.0.steps.2: steps must be strictly increasing",
  ],
  [
    "an unknown service",
    [orders, testPhase("users", "/users", shop.users)],
    `spec.phases.1.to.0.service: Service NS/${shop.users} not found`,
  ],
  [
    "a port the service does not expose",
    [testPhase("orders", "/orders", shop.orders, { to: [{ service: shop.orders, port: 9090 }] })],
    `spec.phases.0.to.0.port: Service NS/${shop.orders} has no port 9090 (it has 80)`,
  ],
];

describe("invalid Migrations", () => {
  it.each(cases)(
    "%s: InvalidSpec naming the field, a Warning Event, no routing",
    async (what, phases, field) => {
      const n = ns.name;
      await deployServices();
      const name = `bad-${cases.findIndex((c) => c[0] === what)}`;
      const expected = field.replace("NS", n);
      await apply(migration(n, name, shop, phases));
      const ready = await eventually("InvalidSpec", async () => {
        const condition = (await migrationStatus(n, name)).conditions?.find((c) => c.type === "Ready");
        expect(condition?.reason).toBe("InvalidSpec");
        return condition;
      });
      expect(ready?.status).toBe("False");
      expect(ready?.message).toContain(expected);
      await eventually("a Warning Event naming the field", async () => {
        const events = await warningEvents(n, name, "InvalidSpec");
        expect(events[0]?.message).toContain(expected);
      });
      const status = await migrationStatus(n, name);
      expect(status.phase).toBeUndefined();
      expect(status.phases).toBeUndefined();
      expect((await virtualServices()).map((v) => v.metadata?.name)).not.toContain(name);
    },
  );

  it("refuses to compete with another VirtualService for the host", async () => {
    const n = ns.name;
    await deployServices();
    await apply(
      virtualService(n, "legacy", {
        hosts: [`${shop.host}.${n}.svc.cluster.local`],
        http: [{ route: [{ destination: { host: shop.host } }] }],
      }),
    );
    await apply(migration(n, "compete", shop, [orders]));
    const ready = await eventually("InvalidSpec", async () => {
      const condition = (await migrationStatus(n, "compete")).conditions?.find((c) => c.type === "Ready");
      expect(condition?.reason).toBe("InvalidSpec");
      return condition;
    });
    expect(ready?.message).toContain(`spec.host: VirtualService ${n}/legacy also routes ${shop.host}`);
    expect((await virtualServices()).map((v) => v.metadata?.name)).not.toContain("compete");
    // The legacy VirtualService is left exactly as its owner wrote it.
    const legacy = (await virtualServices()).find((v) => v.metadata?.name === "legacy");
    expect(legacy?.spec.http).toEqual([{ route: [{ destination: { host: shop.host } }] }]);
  });

  it("starts once the missing Service exists", async () => {
    const n = ns.name;
    const name = `bad-${cases.findIndex((c) => c[0] === "an unknown service")}`;
    await apply(deployment(n, shop.users), service(n, shop.users, { app: shop.users }));
    // The previous test's Migration and legacy VirtualService also claim this host: remove both,
    // so this Migration is the host's only router.
    const api = testbedKubeConfig().makeApiClient(CustomObjectsApi);
    await api.deleteNamespacedCustomObject({
      group: "wren.dev",
      version: "v1alpha1",
      namespace: n,
      plural: "migrations",
      name: "compete",
    });
    await api.deleteNamespacedCustomObject({
      group: "networking.istio.io",
      version: "v1",
      namespace: n,
      plural: "virtualservices",
      name: "legacy",
    });
    const status = await untilMigration(n, name, ["Progressing"], 60_000);
    expect(status.currentPhase).toBe("orders");
    await eventually("its VirtualService", async () =>
      expect((await virtualServices()).map((v) => v.metadata?.name)).toContain(name),
    );
  });
});
