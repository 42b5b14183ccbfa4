// A Migration's VirtualService: route order, opt-in routes, splits in whole percents.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MigrationSpec } from "../../src/api/migration.ts";
import { migrationVirtualService } from "../../src/engine/routing/migration-routes.ts";
import { splitPercent } from "../../src/strategies/migration-routing.ts";

const owner = {
  apiVersion: "wren.dev/v1alpha1",
  kind: "Migration",
  metadata: { name: "shop-migration", namespace: "shop", uid: "u-1" },
};

const spec = MigrationSpec.parse({
  host: "shop",
  monolith: { service: "monolith", port: 8080 },
  gateways: ["istio-system/public"],
  hosts: ["shop.example.com"],
  phases: [
    {
      name: "orders",
      match: [{ uri: { prefix: "/orders" } }],
      to: [{ service: "orders", port: 80 }],
      validation: { maxErrorRate: 1 },
    },
    {
      name: "users",
      match: [
        { uri: { prefix: "/users" }, headers: { "x-region": { exact: "eu" } } },
        { uri: { exact: "/me" } },
      ],
      to: [
        { service: "users-a", port: 80, weight: 50 },
        { service: "users-b", port: 81, weight: 50 },
      ],
      validation: { maxErrorRate: 1 },
    },
  ],
});

describe("the Migration VirtualService", () => {
  it("routes every routed phase's opt-in route, then its split route, then the monolith", () => {
    const vs = migrationVirtualService(spec, "shop", owner, {
      phases: [
        { name: "orders", percent: 100 },
        { name: "users", percent: 5 },
      ],
    });
    expect(vs.metadata).toMatchObject({
      name: "shop-migration",
      namespace: "shop",
      labels: { "app.kubernetes.io/managed-by": "wren" },
      ownerReferences: [{ kind: "Migration", name: "shop-migration", uid: "u-1", controller: true }],
    });
    expect(vs.spec.hosts).toEqual(["shop", "shop.example.com"]);
    expect(vs.spec.gateways).toEqual(["istio-system/public", "mesh"]);
    expect(vs.spec.http).toEqual([
      {
        name: "opt-in-orders",
        match: [{ uri: { prefix: "/orders" }, headers: { "x-migration-phase": { exact: "orders" } } }],
        route: [{ destination: { host: "orders", port: { number: 80 } }, weight: 100 }],
      },
      {
        name: "phase-orders",
        match: [{ uri: { prefix: "/orders" } }],
        route: [{ destination: { host: "orders", port: { number: 80 } }, weight: 100 }],
      },
      {
        name: "opt-in-users",
        match: [
          {
            uri: { prefix: "/users" },
            headers: { "x-region": { exact: "eu" }, "x-migration-phase": { exact: "users" } },
          },
          { uri: { exact: "/me" }, headers: { "x-migration-phase": { exact: "users" } } },
        ],
        route: [
          { destination: { host: "users-a", port: { number: 80 } }, weight: 50 },
          { destination: { host: "users-b", port: { number: 81 } }, weight: 50 },
        ],
      },
      {
        name: "phase-users",
        match: [
          { uri: { prefix: "/users" }, headers: { "x-region": { exact: "eu" } } },
          { uri: { exact: "/me" } },
        ],
        route: [
          { destination: { host: "users-a", port: { number: 80 } }, weight: 3 },
          { destination: { host: "users-b", port: { number: 81 } }, weight: 2 },
          { destination: { host: "monolith", port: { number: 8080 } }, weight: 95 },
        ],
      },
      {
        name: "monolith",
        route: [{ destination: { host: "monolith", port: { number: 8080 } }, weight: 100 }],
      },
    ]);
  });

  it("is only the monolith route when no phase routes", () => {
    const vs = migrationVirtualService(spec, "shop", owner, { phases: [] });
    expect(vs.spec.http?.map((r) => r.name)).toEqual(["monolith"]);
  });
});

describe("splitPercent", () => {
  it("gives whole percents that add up to the phase's percent, close to the weights", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 5 }),
        (percent, raw) => {
          const total = raw.reduce((a, b) => a + b, 0);
          const to = raw.map((w, i) => ({ service: `s${i}`, port: 80, weight: (w * 100) / total }));
          const shares = splitPercent(percent, to);
          expect(shares.reduce((a, s) => a + s.percent, 0)).toBe(percent);
          shares.forEach((s, i) => {
            expect(Number.isInteger(s.percent)).toBe(true);
            expect(Math.abs(s.percent - (percent * (to[i]?.weight ?? 0)) / 100)).toBeLessThan(1);
          });
        },
      ),
    );
  });

  it("gives a single service everything", () => {
    expect(splitPercent(25, [{ service: "a", port: 80 }])).toEqual([{ service: "a", port: 80, percent: 25 }]);
  });
});
