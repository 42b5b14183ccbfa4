import { ApiException, type CoreV1Event } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type EventClient, EventRecorder } from "../../src/kube/events.ts";

const canary = {
  apiVersion: "wren.dev/v1alpha1",
  kind: "Canary",
  name: "podinfo",
  namespace: "ns",
  uid: "u-1",
};

class FakeEvents {
  events = new Map<string, CoreV1Event>();
  calls: string[] = [];
  failing = false;

  client(): EventClient {
    return {
      createNamespacedEvent: async ({ body }: { body: CoreV1Event }) => {
        this.calls.push("create");
        if (this.failing) throw new ApiException(500, "boom", {}, {});
        const name = body.metadata.name ?? "";
        this.events.set(name, JSON.parse(JSON.stringify(body)));
        return body;
      },
      patchNamespacedEvent: async ({ name, body }: { name: string; body: Partial<CoreV1Event> }) => {
        this.calls.push("patch");
        if (this.failing) throw new ApiException(500, "boom", {}, {});
        const existing = this.events.get(name);
        if (existing === undefined) throw new ApiException(404, "not found", {}, {});
        Object.assign(existing, body);
        return existing;
      },
    } as unknown as EventClient;
  }
}

describe("EventRecorder", () => {
  let fake: FakeEvents;
  const warnings: string[] = [];
  const logger = pino({ level: "warn" }, { write: (line: string) => warnings.push(line) });
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse("2025-01-01T00:00:00Z") });
    fake = new FakeEvents();
    warnings.length = 0;
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("writes a core/v1 Event about the involved object", async () => {
    const recorder = new EventRecorder({ client: fake.client(), instance: "wren-0", logger });
    await recorder.normal(canary, "Progressing", "weight 10");
    const [event] = fake.events.values();
    expect(event).toMatchObject({
      metadata: { namespace: "ns" },
      involvedObject: canary,
      type: "Normal",
      reason: "Progressing",
      message: "weight 10",
      count: 1,
      source: { component: "wren" },
      reportingComponent: "wren",
      reportingInstance: "wren-0",
      firstTimestamp: "2025-01-01T00:00:00.000Z",
      lastTimestamp: "2025-01-01T00:00:00.000Z",
    });
    expect(event?.metadata.name).toMatch(/^podinfo\.[0-9a-f]+$/);
  });

  it("counts identical events within 10 minutes on one Event", async () => {
    const recorder = new EventRecorder({ client: fake.client(), logger });
    await recorder.warning(canary, "MetricsUnavailable", "prometheus is down");
    await vi.advanceTimersByTimeAsync(60_000);
    await recorder.warning(canary, "MetricsUnavailable", "prometheus is down");
    await vi.advanceTimersByTimeAsync(60_000);
    await recorder.warning(canary, "MetricsUnavailable", "prometheus is down");
    expect(fake.calls).toEqual(["create", "patch", "patch"]);
    const [event] = fake.events.values();
    expect(event?.count).toBe(3);
    expect(event?.lastTimestamp).toBe("2025-01-01T00:02:00.000Z");
    expect(event?.firstTimestamp).toBe("2025-01-01T00:00:00.000Z");
  });

  it("counts concurrent identical events without racing", async () => {
    const recorder = new EventRecorder({ client: fake.client(), logger });
    await Promise.all([1, 2, 3, 4].map(() => recorder.normal(canary, "Synced", "same")));
    expect(fake.events.size).toBe(1);
    expect([...fake.events.values()][0]?.count).toBe(4);
  });

  it("starts a new Event for a different message or reason, or after 10 quiet minutes", async () => {
    const recorder = new EventRecorder({ client: fake.client(), logger });
    await recorder.normal(canary, "Progressing", "weight 10");
    await recorder.normal(canary, "Progressing", "weight 20");
    await recorder.warning(canary, "Progressing", "weight 20");
    await recorder.normal({ ...canary, name: "other" }, "Progressing", "weight 20");
    expect(fake.events.size).toBe(4);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    await recorder.normal(canary, "Progressing", "weight 10");
    expect(fake.events.size).toBe(5);
    expect(fake.calls).toEqual(["create", "create", "create", "create", "create"]);
  });

  it("starts a new Event when the one it would count on was deleted", async () => {
    const recorder = new EventRecorder({ client: fake.client(), logger });
    await recorder.normal(canary, "Synced", "same");
    fake.events.clear();
    await recorder.normal(canary, "Synced", "same");
    expect(fake.calls).toEqual(["create", "patch", "create"]);
    expect([...fake.events.values()][0]?.count).toBe(1);
  });

  it("logs, and never throws, when the API server refuses", async () => {
    const recorder = new EventRecorder({ client: fake.client(), logger });
    fake.failing = true;
    await expect(recorder.warning(canary, "Failed", "x")).resolves.toBeUndefined();
    expect(warnings.join("")).toContain("could not record event");
    expect(warnings.join("")).toContain("HTTP 500");
  });

  it("truncates very long messages", async () => {
    const recorder = new EventRecorder({ client: fake.client(), logger });
    await recorder.normal(canary, "Long", "x".repeat(5000));
    expect([...fake.events.values()][0]?.message).toHaveLength(1024);
  });
});
