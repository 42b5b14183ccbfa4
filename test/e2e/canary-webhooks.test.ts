// Webhook gates end to end: every gate type, called by the real controller at its
// point of the rollout, against a local receiver.
import { describe, expect, it } from "vitest";
import { canaryStatus, deployCanary, revision } from "../support/canary.ts";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { useWebhookReceiver } from "../support/webhook-receiver.ts";

const ns = useNamespace("canary-webhooks");
useController(ns);
const receiver = useWebhookReceiver();

const types = [
  "confirm-rollout",
  "pre-rollout",
  "rollout",
  "confirm-traffic-increase",
  "confirm-promotion",
  "post-rollout",
  "event",
] as const;

async function initialised(name: string, webhooks: { name: string; type: string; url: string }[]) {
  const analysis = {
    interval: "3s",
    threshold: 2,
    maxWeight: 20,
    stepWeight: 10,
    metrics: [{ name: "request-success-rate", thresholdRange: { min: 95 }, interval: "10s" }],
    webhooks,
  };
  await deployCanary(ns.name, name, analysis, { rps: 30 });
}

describe("Canary webhooks", () => {
  it("calls each gate at its point and holds at confirm-promotion until it opens", async () => {
    const n = ns.name;
    await initialised(
      "gated",
      types.map((type) => ({ name: type, type, url: `${receiver.url}/gated/${type}` })),
    );
    receiver.answers.set("/gated/confirm-promotion", 403);
    await apply(revision(n, "gated", "example.com/app:2", {}, 1));
    await eventually(
      "WaitingPromotion",
      async () => expect((await canaryStatus(n, "gated")).phase).toBe("WaitingPromotion"),
      {
        timeoutMs: 60_000,
      },
    );
    const held = await canaryStatus(n, "gated");
    expect(held.canaryWeight).toBe(20);
    expect(held.conditions?.find((c) => c.type === "Ready")?.message).toMatch(/confirm-promotion/);
    receiver.answers.delete("/gated/confirm-promotion");
    await eventually(
      "Succeeded",
      async () => expect((await canaryStatus(n, "gated")).phase).toBe("Succeeded"),
      {
        timeoutMs: 60_000,
      },
    );
    await eventually("post-rollout called", () =>
      expect(receiver.callsTo("/gated/post-rollout")).toHaveLength(1),
    );
    const first = (type: string) => receiver.callsTo(`/gated/${type}`)[0]?.at ?? Number.POSITIVE_INFINITY;
    expect(first("confirm-rollout")).toBeLessThanOrEqual(first("pre-rollout"));
    expect(first("pre-rollout")).toBeLessThan(first("rollout"));
    expect(first("rollout")).toBeLessThan(first("confirm-promotion"));
    expect(first("confirm-promotion")).toBeLessThan(first("post-rollout"));
    expect(receiver.callsTo("/gated/post-rollout")[0]?.body).toMatchObject({ phase: "Succeeded" });
    expect(receiver.callsTo("/gated/confirm-traffic-increase").length).toBeGreaterThan(0);
    expect(receiver.callsTo("/gated/pre-rollout")[0]?.body).toMatchObject({
      name: "gated",
      namespace: n,
      type: "pre-rollout",
    });
    const events = receiver.callsTo("/gated/event").map((c) => String(c.body.message));
    expect(events.some((m) => m.startsWith("Succeeded"))).toBe(true);
  });

  it("holds at Waiting while confirm-rollout is closed", async () => {
    const n = ns.name;
    await initialised("waiting", [
      { name: "approve", type: "confirm-rollout", url: `${receiver.url}/waiting/approve` },
    ]);
    receiver.answers.set("/waiting/approve", 500);
    await apply(revision(n, "waiting", "example.com/app:2", {}, 1));
    await eventually("Waiting", async () => expect((await canaryStatus(n, "waiting")).phase).toBe("Waiting"));
    await eventually("asked twice", () =>
      expect(receiver.callsTo("/waiting/approve").length).toBeGreaterThanOrEqual(2),
    );
    expect((await canaryStatus(n, "waiting")).phase).toBe("Waiting");
    receiver.answers.delete("/waiting/approve");
    await eventually("Progressing", async () =>
      expect((await canaryStatus(n, "waiting")).phase).toBe("Progressing"),
    );
  });

  it("rolls back when a rollback hook answers 2xx", async () => {
    const n = ns.name;
    await initialised("rollback", [{ name: "stop", type: "rollback", url: `${receiver.url}/rollback/stop` }]);
    await apply(revision(n, "rollback", "example.com/app:2", {}, 1));
    await eventually("Failed", async () => expect((await canaryStatus(n, "rollback")).phase).toBe("Failed"), {
      timeoutMs: 60_000,
    });
    expect((await canaryStatus(n, "rollback")).conditions?.find((c) => c.type === "Ready")?.message).toMatch(
      /rollback webhook stop/,
    );
  });
});
