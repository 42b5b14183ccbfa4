import type { V1ConfigMap, V1Deployment, V1Namespace, V1Pod, V1Service } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { podInfo, virtualServiceInfo } from "../meshsim/convert.ts";
import { sumOf } from "../meshsim/promtext.ts";
import { ModelStore } from "../meshsim/store.ts";
import { simulate } from "../meshsim/testkit.ts";

const pod = (
  name: string,
  o: { ready?: boolean; deleting?: boolean; annotations?: Record<string, string> } = {},
): V1Pod => ({
  metadata: {
    name,
    namespace: "shop",
    labels: { app: "api", version: "v1", "pod-template-hash": "abc12" },
    annotations: o.annotations,
    ownerReferences: [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "api-abc12", uid: "u", controller: true },
    ],
    ...(o.deleting ? { deletionTimestamp: new Date("2026-01-01T00:00:00Z") } : {}),
  },
  spec: { containers: [{ name: "app" }], serviceAccountName: "api" },
  status: { conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }] },
});

const svc: V1Service = { metadata: { name: "api", namespace: "shop" }, spec: { selector: { app: "api" } } };
const nsObj: V1Namespace = { metadata: { name: "shop", labels: { "istio-injection": "enabled" } } };
const traffic = (yaml: string): V1ConfigMap => ({
  metadata: { name: "load", namespace: "shop", labels: { "meshsim.wren.dev/traffic": "true" } },
  data: { "traffic.yaml": yaml },
});
const vs = (spec: unknown) => ({
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  metadata: { name: "api", namespace: "shop", creationTimestamp: "2026-01-01T00:00:00Z" as unknown as Date },
  spec,
});

describe("conversion", () => {
  it("reads readiness, termination, owner and service account of a pod", () => {
    expect(podInfo(pod("p"))).toMatchObject({
      ready: true,
      deleting: false,
      owners: [{ kind: "ReplicaSet", name: "api-abc12" }],
      serviceAccount: "api",
    });
    expect(podInfo(pod("p", { ready: false })).ready).toBe(false);
    expect(podInfo(pod("p", { deleting: true })).deleting).toBe(true);
  });

  it("validates VirtualService specs, accepting JSON nulls as unset", () => {
    const ok = virtualServiceInfo(
      vs({ hosts: ["api"], http: [{ match: null, route: [{ destination: { host: "api" }, weight: 100 }] }] }),
    );
    expect(ok.ok && ok.value.spec.http?.[0]?.route?.[0]?.weight).toBe(100);
    expect(ok.ok && ok.value.creationTimestamp).toBe("2026-01-01T00:00:00.000Z");
    const bad = virtualServiceInfo(
      vs({ hosts: ["api"], http: [{ route: [{ destination: { host: "api" }, weight: "ten" }] }] }),
    );
    expect(bad.ok).toBe(false);
  });
});

describe("model store", () => {
  it("builds the view from watch events and feeds the traffic generator", () => {
    const store = new ModelStore();
    store.namespaces.apply("add", nsObj);
    store.services.apply("add", svc);
    store.pods.apply("add", pod("api-abc12-x"));
    store.pods.apply("add", pod("api-abc12-y", { ready: false }));
    store.trafficSources.apply("add", traffic("- {host: api, rps: 10}"));
    const view = store.view();
    expect(view.pods).toHaveLength(2);
    expect(view.namespaces.get("shop")?.labels["istio-injection"]).toBe("enabled");
    // The pods carry no sidecar yet: only the source reports.
    const { samples } = simulate(view, 10);
    expect(sumOf(samples, "istio_requests_total", { reporter: "source", destination_workload: "api" })).toBe(
      100,
    );
    expect(sumOf(samples, "istio_requests_total", { reporter: "destination" })).toBe(0);
  });

  it("bumps the version only when the model changed", () => {
    const store = new ModelStore();
    store.pods.apply("add", pod("a"));
    const v = store.version;
    store.pods.apply("update", { ...pod("a"), metadata: { ...pod("a").metadata, resourceVersion: "99" } });
    expect(store.version).toBe(v);
    expect(store.view()).toBe(store.view()); // cached
    store.pods.apply("update", pod("a", { ready: false }));
    expect(store.version).toBe(v + 1);
    store.pods.apply("delete", pod("a"));
    expect(store.view().pods).toEqual([]);
  });

  it("drops invalid objects, reports why, and summarises changes per kind", () => {
    const store = new ModelStore();
    store.virtualServices.apply("add", vs({ hosts: ["api"], http: [] }));
    store.virtualServices.apply("update", vs({ hosts: "api" }));
    store.trafficSources.apply("add", traffic("- host: api"));
    expect(store.view().virtualServices).toEqual([]);
    expect(store.view().trafficSources).toEqual([]);
    expect(Object.keys(store.problems()).sort()).toEqual([
      "traffic-configmaps shop/load",
      "virtualservices shop/api",
    ]);
    const changes = store.drainChanges();
    expect(changes.map((c) => c.kind).sort()).toEqual(["traffic-configmaps", "virtualservices"]);
    expect(changes.find((c) => c.kind === "virtualservices")).toMatchObject({
      added: 1,
      deleted: 1,
      examples: ["shop/api"],
    });
    expect(store.drainChanges()).toEqual([]);
  });

  it("keeps only istiod Deployments of istio-system, with their revision and health", () => {
    const store = new ModelStore();
    const deployment = (
      name: string,
      namespace: string,
      extra: Partial<V1Deployment["metadata"]> = {},
    ): V1Deployment => ({
      metadata: { name, namespace, ...extra },
      status: { readyReplicas: 1 },
    });
    store.istiods.apply("add", deployment("istiod", "istio-system"));
    store.istiods.apply(
      "add",
      deployment("istiod-canary", "istio-system", { annotations: { "meshsim.wren.dev/faulty": "true" } }),
    );
    store.istiods.apply("add", deployment("prometheus", "istio-system"));
    store.istiods.apply("add", deployment("istiod-x", "elsewhere"));
    expect(store.view().istiods.map((i) => [i.revision, i.faulty, i.readyReplicas])).toEqual([
      ["default", false, 1],
      ["canary", true, 1],
    ]);
  });
});
