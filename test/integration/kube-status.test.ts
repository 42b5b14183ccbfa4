// Status writes on a real Canary: optimistic concurrency through the status subresource.
import { CustomObjectsApi } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { statusClient, writeStatus } from "../../src/kube/status.ts";
import { minimalCanary } from "../support/canary.ts";
import { useNamespace } from "../support/namespace.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("kube-status");
const canaries = { group: "wren.dev", version: "v1alpha1", plural: "canaries" };

interface CanaryObject {
  metadata: { resourceVersion: string; generation: number };
  spec: { analysis: { maxWeight: number } };
  status?: Record<string, unknown>;
}

describe("writeStatus", () => {
  const api = () => testbedKubeConfig().makeApiClient(CustomObjectsApi);
  const read = async (name: string) =>
    (await api().getNamespacedCustomObject({ ...canaries, namespace: ns.name, name })) as CanaryObject;

  async function createCanary(name: string): Promise<CanaryObject> {
    return (await api().createNamespacedCustomObject({
      ...canaries,
      namespace: ns.name,
      body: minimalCanary(ns.name, name),
    })) as CanaryObject;
  }

  it("writes status at the current resourceVersion, and reports a conflict at a stale one", async () => {
    const created = await createCanary("status");
    const client = statusClient(testbedKubeConfig());
    const target = { ...canaries, namespace: ns.name, name: "status" };

    const first = await writeStatus(client, {
      ...target,
      resourceVersion: created.metadata.resourceVersion,
      status: { phase: "Progressing", canaryWeight: 10, failedChecks: 1, observedGeneration: 1 },
    });
    if (!first.ok) throw new Error("the first write conflicted");
    expect(first.resourceVersion).not.toBe(created.metadata.resourceVersion);
    const afterFirst = await read("status");
    expect(afterFirst.status).toEqual({
      phase: "Progressing",
      canaryWeight: 10,
      failedChecks: 1,
      observedGeneration: 1,
    });
    expect(afterFirst.metadata.resourceVersion).toBe(first.resourceVersion);

    // The whole status is replaced: fields the new status drops are gone.
    const second = await writeStatus(client, {
      ...target,
      resourceVersion: first.resourceVersion,
      status: { phase: "Progressing", canaryWeight: 20 },
    });
    expect(second.ok).toBe(true);
    expect((await read("status")).status).toEqual({ phase: "Progressing", canaryWeight: 20 });

    // A writer still holding the first resourceVersion must not overwrite.
    const stale = await writeStatus(client, {
      ...target,
      resourceVersion: first.resourceVersion,
      status: { phase: "Failed" },
    });
    expect(stale).toEqual({ ok: false, conflict: true });
    const final = await read("status");
    expect(final.status).toEqual({ phase: "Progressing", canaryWeight: 20 });
    // Status writes never touch the spec.
    expect(final.spec.analysis.maxWeight).toBe(50);
    expect(final.metadata.generation).toBe(1);
  });

  it("throws for an object that does not exist", async () => {
    await expect(
      writeStatus(statusClient(testbedKubeConfig()), {
        ...canaries,
        namespace: ns.name,
        name: "missing",
        resourceVersion: "1",
        status: { phase: "Progressing" },
      }),
    ).rejects.toMatchObject({ code: 404 });
  });
});
