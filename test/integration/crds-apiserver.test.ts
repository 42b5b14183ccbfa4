// The generated CRDs, as the real API server takes them.
import { ApiException, ApiextensionsV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { kinds } from "../../src/api/kinds.ts";
import { useNamespace } from "../support/namespace.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("crds");

const canary = (name: string, analysis: Record<string, unknown>) => ({
  apiVersion: "wren.dev/v1alpha1",
  kind: "Canary",
  metadata: { name },
  spec: { targetRef: { name: "podinfo" }, service: { port: 9898 }, analysis },
});

async function rejection(body: object): Promise<string> {
  const api = testbedKubeConfig().makeApiClient(CustomObjectsApi);
  try {
    await api.createNamespacedCustomObject({
      group: "wren.dev",
      version: "v1alpha1",
      namespace: ns.name,
      plural: "canaries",
      body,
    });
  } catch (error) {
    if (error instanceof ApiException) return String(error.body);
    throw error;
  }
  throw new Error("the API server accepted an invalid object");
}

describe("generated CRDs on the API server", () => {
  it("are accepted as structural schemas and established", async () => {
    const api = testbedKubeConfig().makeApiClient(ApiextensionsV1Api);
    for (const kind of kinds) {
      const crd = await api.readCustomResourceDefinition({ name: `${kind.plural}.wren.dev` });
      const conditions = Object.fromEntries((crd.status?.conditions ?? []).map((c) => [c.type, c.status]));
      expect(conditions.Established).toBe("True");
      expect(conditions.NonStructuralSchema).toBeUndefined();
      expect(crd.spec.versions[0]?.schema?.openAPIV3Schema?.properties?.spec?.type).toBe("object");
    }
  });

  it("store a valid Canary with the schema's defaults applied", async () => {
    const api = testbedKubeConfig().makeApiClient(CustomObjectsApi);
    const created = (await api.createNamespacedCustomObject({
      group: "wren.dev",
      version: "v1alpha1",
      namespace: ns.name,
      plural: "canaries",
      body: canary("valid", { interval: "10s", maxWeight: 50, stepWeight: 10 }),
    })) as { spec: { progressDeadlineSeconds: number; analysis: { threshold: number } } };
    expect(created.spec.progressDeadlineSeconds).toBe(600);
    expect(created.spec.analysis.threshold).toBe(5);
  });

  it("reject an invalid Canary with a message naming the field", async () => {
    const message = await rejection(
      canary("bad-threshold", { interval: "10s", threshold: 0, maxWeight: 50, stepWeight: 10 }),
    );
    expect(message).toContain("spec.analysis.threshold");
    const duration = await rejection(
      canary("bad-interval", { interval: "soon", maxWeight: 50, stepWeight: 10 }),
    );
    expect(duration).toContain("spec.analysis.interval");
    const missing = await rejection({
      ...canary("no-target", { interval: "10s" }),
      spec: { service: { port: 80 }, analysis: {} },
    });
    expect(missing).toContain("spec.targetRef");
  });
});
