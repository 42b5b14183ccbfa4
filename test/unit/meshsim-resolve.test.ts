import { describe, expect, it } from "vitest";
import type { PodInfo } from "../meshsim/model.ts";
import {
  MeshIndex,
  type Resolution,
  resolveDestination,
  sourceIdentity,
  toFqdn,
} from "../meshsim/resolve.ts";
import {
  deploymentPods,
  destinationRule,
  makeView,
  service,
  simulate,
  trafficSource,
  virtualService,
} from "../meshsim/testkit.ts";
import { canonicalRevision, workloadName } from "../meshsim/workload.ts";

const podsOf = (r: Resolution): string[] => (r.kind === "service" ? r.groups.flatMap((g) => g.pods) : []);
const workloadsOf = (r: Resolution): string[] =>
  r.kind === "service" ? r.groups.map((g) => `${g.identity.workload}@${g.identity.canonicalRevision}`) : [];

describe("host names", () => {
  it("resolves short names in the given namespace and completes partial names", () => {
    expect(toFqdn("reviews", "shop")).toBe("reviews.shop.svc.cluster.local");
    expect(toFqdn("reviews.books", "shop")).toBe("reviews.books.svc.cluster.local");
    expect(toFqdn("reviews.books.svc", "shop")).toBe("reviews.books.svc.cluster.local");
    expect(toFqdn("reviews.books.svc.cluster.local", "shop")).toBe("reviews.books.svc.cluster.local");
    expect(toFqdn("Reviews.Books.svc.cluster.local.", "shop")).toBe("reviews.books.svc.cluster.local");
  });

  it("resolves a short destination host in the VirtualService's namespace, not the service's", () => {
    const view = makeView({
      services: [service("reviews", "shop"), service("reviews", "books")],
      pods: [...deploymentPods("reviews", "shop", 1), ...deploymentPods("reviews", "books", 2)],
    });
    const index = new MeshIndex(view);
    expect(podsOf(resolveDestination(index, { host: "reviews" }, "books"))).toHaveLength(2);
    expect(podsOf(resolveDestination(index, { host: "reviews" }, "shop"))).toHaveLength(1);
    expect(podsOf(resolveDestination(index, { host: "reviews.shop" }, "books"))).toHaveLength(1);
  });

  it("finds the VirtualService of a host whatever form its hosts entry takes", () => {
    for (const host of ["reviews", "reviews.shop", "reviews.shop.svc.cluster.local"]) {
      const index = new MeshIndex(
        makeView({ virtualServices: [virtualService("vs", "shop", { hosts: [host] })] }),
      );
      expect(index.virtualServiceFor("reviews.shop.svc.cluster.local")?.name).toBe("vs");
    }
  });

  it("keeps the oldest VirtualService when two claim a host", () => {
    const index = new MeshIndex(
      makeView({
        virtualServices: [
          virtualService("newer", "shop", { hosts: ["reviews"] }, "2026-02-01T00:00:00.000Z"),
          virtualService("older", "shop", { hosts: ["reviews"] }, "2026-01-01T00:00:00.000Z"),
        ],
      }),
    );
    expect(index.virtualServiceFor("reviews.shop.svc.cluster.local")?.name).toBe("older");
  });
});

describe("subsets and readiness", () => {
  const view = makeView({
    services: [service("reviews", "shop")],
    pods: [
      ...deploymentPods("reviews", "shop", 3, { labels: { version: "v1" }, hash: "aaa" }),
      ...deploymentPods("reviews-canary", "shop", 1, {
        labels: { app: "reviews", version: "v2" },
        hash: "bbb",
      }),
      ...deploymentPods("reviews-canary", "shop", 1, {
        labels: { app: "reviews", version: "v2" },
        hash: "ccc",
        ready: false,
      }),
      ...deploymentPods("reviews", "shop", 1, { labels: { version: "v1" }, hash: "ddd", deleting: true }),
    ],
    destinationRules: [
      destinationRule("reviews", "shop", "reviews", { stable: { version: "v1" }, canary: { version: "v2" } }),
    ],
  });
  const index = new MeshIndex(view);

  it("filters the Service's pods by the subset labels", () => {
    expect(workloadsOf(resolveDestination(index, { host: "reviews", subset: "stable" }, "shop"))).toEqual([
      "reviews@v1",
    ]);
    expect(podsOf(resolveDestination(index, { host: "reviews", subset: "stable" }, "shop"))).toHaveLength(3);
    expect(workloadsOf(resolveDestination(index, { host: "reviews", subset: "canary" }, "shop"))).toEqual([
      "reviews-canary@v2",
    ]);
  });

  it("counts only Ready pods without deletionTimestamp", () => {
    const all = resolveDestination(index, { host: "reviews" }, "shop");
    expect(podsOf(all)).toHaveLength(4);
    expect(podsOf(all).some((p) => p.includes("-ccc-") || p.includes("-ddd-"))).toBe(false);
  });

  it("reports a subset no DestinationRule defines, and an unknown host, as no cluster", () => {
    expect(resolveDestination(index, { host: "reviews", subset: "v3" }, "shop").kind).toBe("no-cluster");
    expect(resolveDestination(index, { host: "ratings" }, "shop").kind).toBe("no-cluster");
  });

  it("resolves to no endpoints when no pod is ready", () => {
    const idle = new MeshIndex(
      makeView({ services: [service("x", "shop")], pods: deploymentPods("x", "shop", 2, { ready: false }) }),
    );
    const r = resolveDestination(idle, { host: "x" }, "shop");
    expect(r.kind).toBe("service");
    expect(podsOf(r)).toEqual([]);
  });

  it("prefers the caller's DestinationRule for a subset name defined twice", () => {
    const twice = new MeshIndex(
      makeView({
        services: [service("reviews", "shop")],
        pods: view.pods,
        destinationRules: [
          destinationRule("a", "shop", "reviews", { s: { version: "v1" } }),
          destinationRule("b", "client", "reviews.shop", { s: { version: "v2" } }),
        ],
      }),
    );
    expect(workloadsOf(resolveDestination(twice, { host: "reviews.shop", subset: "s" }, "client"))).toEqual([
      "reviews-canary@v2",
    ]);
    expect(workloadsOf(resolveDestination(twice, { host: "reviews", subset: "s" }, "shop"))).toEqual([
      "reviews@v1",
    ]);
  });
});

describe("workload identity", () => {
  const base: PodInfo = deploymentPods("checkout", "shop", 1)[0] as PodInfo;

  it("names the Deployment behind a ReplicaSet-owned pod", () => {
    expect(workloadName(base)).toBe("checkout");
    expect(workloadName({ ...base, owners: [{ kind: "ReplicaSet", name: "my-app-7f9c" }], labels: {} })).toBe(
      "my-app",
    );
    expect(workloadName({ ...base, owners: [{ kind: "StatefulSet", name: "db" }] })).toBe("db");
  });

  it("falls back to the app label, then the pod name", () => {
    expect(workloadName({ ...base, owners: [], labels: { app: "loose" } })).toBe("loose");
    expect(workloadName({ ...base, owners: [], labels: {} })).toBe(base.name);
  });

  it("derives the canonical revision like Istio", () => {
    expect(canonicalRevision({ "service.istio.io/canonical-revision": "r1", version: "v1" })).toBe("r1");
    expect(canonicalRevision({ version: "v1" })).toBe("v1");
    expect(canonicalRevision({})).toBe("latest");
  });

  it("groups pods of one Deployment apart when their revision or behaviour differ (rolling update)", () => {
    const view = makeView({
      services: [service("api", "shop")],
      pods: [
        ...deploymentPods("api", "shop", 2, { labels: { version: "v1" }, hash: "old" }),
        ...deploymentPods("api", "shop", 1, {
          labels: { version: "v2" },
          hash: "new",
          annotations: { "meshsim.wren.dev/error-rate": "0.5" },
        }),
      ],
    });
    const r = resolveDestination(new MeshIndex(view), { host: "api" }, "shop");
    expect(
      r.kind === "service" &&
        r.groups.map((g) => [g.identity.canonicalRevision, g.pods.length, g.behaviour.errorRate]),
    ).toEqual([
      ["v1", 2, 0],
      ["v2", 1, 0.5],
    ]);
  });

  it("takes a traffic source's labels from a pod of that workload, else {app: name}", () => {
    const index = new MeshIndex(
      makeView({ pods: deploymentPods("frontend", "shop", 1, { labels: { version: "v7" } }) }),
    );
    expect(sourceIdentity(index, "frontend", "shop").canonicalRevision).toBe("v7");
    expect(sourceIdentity(index, "ghost", "shop")).toMatchObject({
      workload: "ghost",
      app: "ghost",
      namespace: "shop",
    });
  });
});

describe("endpoint picking", () => {
  it("serves in proportion to ready pods per workload", () => {
    const view = makeView({
      services: [service("api", "shop", { app: "api" })],
      pods: [
        ...deploymentPods("api", "shop", 3, { hash: "a" }),
        ...deploymentPods("api-canary", "shop", 1, { labels: { app: "api" }, hash: "b" }),
      ],
      trafficSources: [trafficSource("t", "shop", [{ host: "api", rps: 200, requests: [{ weight: 1 }] }])],
    });
    const { samples } = simulate(view, 100);
    const count = (workload: string) =>
      samples
        .filter(
          (s) =>
            s.name === "istio_requests_total" &&
            s.labels.reporter === "destination" &&
            s.labels.destination_workload === workload,
        )
        .reduce((a, s) => a + s.value, 0);
    const total = count("api") + count("api-canary");
    expect(total).toBe(20000);
    expect(Math.abs(count("api-canary") / total - 0.25)).toBeLessThan(0.015);
  });
});
