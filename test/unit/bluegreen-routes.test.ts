import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { BlueGreenSpec } from "../../src/api/bluegreen.ts";
import {
  apexService,
  blueGreenVirtualService,
  colourDestinationRules,
  colourServices,
} from "../../src/engine/routing/bluegreen-routes.ts";
import { colourDeployment, colourLabels } from "../../src/engine/workload/colours.ts";
import { templateHash } from "../../src/engine/workload/deployments.ts";

const owner: KubernetesObject = {
  apiVersion: "wren.dev/v1alpha1",
  kind: "BlueGreen",
  metadata: { name: "shop", namespace: "ns", uid: "u-1" },
};

const target: V1Deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "shop", namespace: "ns", labels: { app: "shop", team: "a" } },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: "shop" } },
    template: {
      metadata: { labels: { app: "shop", version: "2" }, annotations: { note: "x" } },
      spec: { containers: [{ name: "app", image: "shop:2" }] },
    },
  },
};

function spec(over: Record<string, unknown> = {}): BlueGreenSpec {
  return BlueGreenSpec.parse({
    targetRef: { name: "shop" },
    service: { port: 80, targetPort: 8080, hosts: ["shop.example.com"], gateways: ["public"], timeout: "5s" },
    preview: { match: [{ headers: { "x-env": { exact: "preview" } } }] },
    ...over,
  });
}

describe("colour Deployments", () => {
  it("copy the target's template under labels only that colour's selector matches", () => {
    const d = colourDeployment(target, owner, "green", 3);
    expect(d.metadata).toMatchObject({
      name: "shop-green",
      namespace: "ns",
      labels: { app: "shop-green", team: "a", "wren.dev/colour": "green" },
      annotations: { "wren.dev/source-revision": templateHash(target) },
    });
    expect(d.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "BlueGreen",
      uid: "u-1",
      controller: true,
    });
    expect(d.spec?.replicas).toBe(3);
    expect(d.spec?.selector.matchLabels).toEqual({ app: "shop-green", "wren.dev/colour": "green" });
    expect(d.spec?.template.metadata?.labels).toEqual({
      app: "shop-green",
      version: "2",
      "wren.dev/colour": "green",
    });
    expect(d.spec?.template.spec).toEqual(target.spec?.template.spec);
    expect(d.spec?.template.metadata?.annotations).toEqual({ note: "x" });
  });

  it("never select each other's pods or the target's", () => {
    const blue = colourLabels({ app: "shop" }, ["app"], "blue");
    const green = colourDeployment(target, owner, "green", 1).spec?.template.metadata?.labels ?? {};
    const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
      Object.entries(selector).every(([k, v]) => labels[k] === v);
    expect(matches(blue, green)).toBe(false);
    expect(matches({ app: "shop" }, green)).toBe(false);
  });
});

describe("BlueGreen routing objects", () => {
  it("one Service and DestinationRule per colour; the apex Service follows the active colour", () => {
    const s = spec({
      service: { port: 80, targetPort: 8080, trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } },
    });
    const [blue, green] = colourServices(s, target, owner);
    expect(blue?.metadata?.name).toBe("shop-blue");
    expect(blue?.spec?.selector).toEqual({ app: "shop-blue", "wren.dev/colour": "blue" });
    expect(green?.spec?.selector).toEqual({ app: "shop-green", "wren.dev/colour": "green" });
    expect(green?.spec?.ports).toEqual([{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }]);
    expect(apexService(s, target, owner, "green").spec?.selector).toEqual({
      app: "shop-green",
      "wren.dev/colour": "green",
    });
    expect(colourDestinationRules(s, "ns", owner).map((d) => d.spec)).toEqual([
      { host: "shop-blue", trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } },
      { host: "shop-green", trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } },
    ]);
  });

  it("the VirtualService puts the preview route first, then the weighted default route", () => {
    const vs = blueGreenVirtualService(spec(), "ns", owner, {
      active: "blue",
      weights: { blue: 90, green: 10 },
      preview: "green",
    });
    expect(vs.metadata?.name).toBe("shop");
    expect(vs.spec.hosts).toEqual(["shop", "shop.example.com"]);
    expect(vs.spec.gateways).toEqual(["public", "mesh"]);
    const port = { number: 80 };
    expect(vs.spec.http).toEqual([
      {
        name: "preview",
        match: [{ headers: { "x-env": { exact: "preview" } } }],
        route: [
          { destination: { host: "shop-blue", port }, weight: 0 },
          { destination: { host: "shop-green", port }, weight: 100 },
        ],
        timeout: "5s",
      },
      {
        name: "default",
        route: [
          { destination: { host: "shop-blue", port }, weight: 90 },
          { destination: { host: "shop-green", port }, weight: 10 },
        ],
        timeout: "5s",
      },
    ]);
  });

  it("without a preview colour there is only the default route", () => {
    const vs = blueGreenVirtualService(spec(), "ns", owner, {
      active: "green",
      weights: { blue: 0, green: 100 },
    });
    expect(vs.spec.http?.map((r) => r.name)).toEqual(["default"]);
  });
});
