import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { statusCode } from "../../src/kube/errors.ts";
import { type StatusClient, writeStatus } from "../../src/kube/status.ts";

describe("writeStatus", () => {
  const write = {
    group: "wren.dev",
    version: "v1alpha1",
    plural: "canaries",
    namespace: "ns",
    name: "podinfo",
    resourceVersion: "41",
    status: { phase: "Progressing" },
  };
  const client = (respond: (param: { body: unknown }) => Promise<unknown>): StatusClient =>
    ({ patchNamespacedCustomObjectStatus: respond }) as unknown as StatusClient;

  it("replaces status with the resourceVersion as a precondition and returns the new resourceVersion", async () => {
    let sent: unknown;
    const result = await writeStatus(
      client(async ({ body }) => {
        sent = body;
        return { metadata: { resourceVersion: "42" } };
      }),
      write,
    );
    expect(result).toEqual({ ok: true, resourceVersion: "42" });
    expect(sent).toEqual([
      { op: "replace", path: "/metadata/resourceVersion", value: "41" },
      { op: "add", path: "/status", value: { phase: "Progressing" } },
    ]);
  });

  it("reports a 409 as a conflict", async () => {
    const result = await writeStatus(
      client(async () => {
        throw new ApiException(409, "conflict", {}, {});
      }),
      write,
    );
    expect(result).toEqual({ ok: false, conflict: true });
  });

  it("throws other errors, and refuses to write without a resourceVersion", async () => {
    const failing = client(async () => {
      throw new ApiException(404, "not found", {}, {});
    });
    const error = await writeStatus(failing, write).catch((e: unknown) => e);
    expect(statusCode(error)).toBe(404);
    await expect(writeStatus(failing, { ...write, resourceVersion: "" })).rejects.toThrow(/resourceVersion/);
  });
});
