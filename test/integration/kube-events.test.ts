// Events on a real Canary: written, and aggregated when repeated.
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { EventRecorder } from "../../src/kube/events.ts";
import { minimalCanary } from "../support/canary.ts";
import { useNamespace } from "../support/namespace.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("kube-events");
const logger = pino({ level: "silent" });

describe("EventRecorder", () => {
  it("writes events for a Canary and aggregates repeats", async () => {
    const created = (await testbedKubeConfig()
      .makeApiClient(CustomObjectsApi)
      .createNamespacedCustomObject({
        group: "wren.dev",
        version: "v1alpha1",
        namespace: ns.name,
        plural: "canaries",
        body: minimalCanary(ns.name, "podinfo"),
      })) as { metadata: { uid: string } };
    const involved = {
      apiVersion: "wren.dev/v1alpha1",
      kind: "Canary",
      name: "podinfo",
      namespace: ns.name,
      uid: created.metadata.uid,
    };
    const recorder = new EventRecorder({ client: testbedKubeConfig(), instance: "wren-test", logger });

    await recorder.warning(involved, "MetricsUnavailable", "prometheus did not answer");
    await recorder.warning(involved, "MetricsUnavailable", "prometheus did not answer");
    await recorder.warning(involved, "MetricsUnavailable", "prometheus did not answer");
    await recorder.normal(involved, "Progressing", "advancing canary weight to 10");

    const events = await testbedKubeConfig()
      .makeApiClient(CoreV1Api)
      .listNamespacedEvent({ namespace: ns.name, fieldSelector: "involvedObject.name=podinfo" });
    const byReason = Object.fromEntries(events.items.map((e) => [e.reason, e]));
    expect(events.items).toHaveLength(2);
    expect(byReason.MetricsUnavailable).toMatchObject({
      type: "Warning",
      message: "prometheus did not answer",
      count: 3,
      involvedObject: { kind: "Canary", name: "podinfo", uid: created.metadata.uid },
      source: { component: "wren" },
      reportingComponent: "wren",
      reportingInstance: "wren-test",
    });
    expect(byReason.Progressing).toMatchObject({ type: "Normal", count: 1 });
    const aggregated = byReason.MetricsUnavailable;
    expect(aggregated?.lastTimestamp?.getTime()).toBeGreaterThanOrEqual(
      aggregated?.firstTimestamp?.getTime() ?? 0,
    );
  });

  it("does not throw when the event cannot be written", async () => {
    const recorder = new EventRecorder({ client: testbedKubeConfig(), logger });
    await expect(
      recorder.normal(
        { apiVersion: "v1", kind: "ConfigMap", name: "x", namespace: "no-such-namespace-wren" },
        "Test",
        "nowhere to go",
      ),
    ).resolves.toBeUndefined();
  });
});
