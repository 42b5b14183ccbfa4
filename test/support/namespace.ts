// Each test file gets its own namespace, deleted when the file is done.
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll } from "vitest";
import { testbedKubeConfig } from "./testbed.ts";

/**
 * Creates a fresh namespace for the calling test file; `.name` is set once
 * beforeAll has run. It is labelled for sidecar injection (the default revision),
 * so meshsim reports its traffic from both sides as Istio does.
 */
export function useNamespace(
  prefix: string,
  labels: Record<string, string> = { "istio-injection": "enabled" },
): { name: string } {
  const ns = { name: "" };
  beforeAll(async () => {
    const api = testbedKubeConfig().makeApiClient(CoreV1Api);
    const created = await api.createNamespace({
      body: { metadata: { generateName: `${prefix}-`, labels: { "wren.dev/test": prefix, ...labels } } },
    });
    ns.name = created.metadata?.name ?? "";
  });
  afterAll(async () => {
    if (ns.name === "") return;
    const api = testbedKubeConfig().makeApiClient(CoreV1Api);
    await api.deleteNamespace({ name: ns.name }).catch(() => undefined);
  });
  return ns;
}
