// Notifications end to end: the real controller sends signed webhook messages for
// a promoted and a rolled-back canary; a flapping receiver gets each message once;
// a receiver that never answers does not slow a rollout.
import { describe, expect, it } from "vitest";
import { canaryStatus, deployCanary, revision, untilPhase } from "../support/canary.ts";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { type ReceivedCall, signedWith, useWebhookReceiver } from "../support/webhook-receiver.ts";

const ns = useNamespace("notify");
useController(ns);
const signingKey = "s3cret-signing-key";
const receiver = useWebhookReceiver();

/** An AlertProvider of type webhook whose Secret points at the receiver's `path`. */
async function provider(name: string, path: string): Promise<void> {
  const n = ns.name;
  await apply(
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace: n },
      stringData: { address: `${receiver.url}${path}`, signingKey },
    } as never,
    {
      apiVersion: "wren.dev/v1alpha1",
      kind: "AlertProvider",
      metadata: { name, namespace: n },
      spec: { type: "webhook", secretRef: { name }, timeout: "2s" },
    } as never,
  );
}

const analysis = (alert: string) => ({
  interval: "3s",
  threshold: 2,
  maxWeight: 20,
  stepWeight: 10,
  metrics: [{ name: "request-success-rate", thresholdRange: { min: 95 }, interval: "10s" }],
  alerts: [{ name: alert, severity: "info", providerRef: { name: alert } }],
});

/** Releases revision v2 of `name` (with `errorRate`) and returns how long the rollout took. */
async function release(name: string, alert: string, errorRate = 0): Promise<number> {
  const n = ns.name;
  await deployCanary(n, name, analysis(alert), { replicas: 1, rps: 40 });
  const started = Date.now();
  await apply(revision(n, name, "example.com/app:2", { errorRate }, 1));
  await untilPhase(n, name, ["Succeeded", "Failed"]);
  return Date.now() - started;
}

const phasesOf = (calls: ReceivedCall[]) => calls.map((c) => c.body.phase);

describe("webhook notifications", () => {
  it("tells the story of a promotion and of a rollback, signed", async () => {
    await provider("story", "/story");
    await release("promoted", "story");
    await release("rolledback", "story", 0.3);
    const received = (name: string) =>
      receiver.callsTo("/story").filter((c) => (c.body as { name?: string }).name === name);
    await eventually("the promotion's last message", () =>
      expect(phasesOf(received("promoted"))).toContain("Succeeded"),
    );
    await eventually("the rollback's last message", () =>
      expect(phasesOf(received("rolledback"))).toContain("Failed"),
    );
    const promoted = phasesOf(received("promoted"));
    expect(promoted.indexOf("Progressing")).toBeLessThan(promoted.indexOf("Promoting"));
    expect(promoted.indexOf("Promoting")).toBeLessThan(promoted.indexOf("Succeeded"));
    const rolledBack = received("rolledback").find((c) => c.body.phase === "Failed");
    expect(rolledBack?.body.severity).toBe("error");
    expect(String(rolledBack?.body.message)).toMatch(/request-success-rate/);
    for (const call of receiver.callsTo("/story")) {
      expect(signedWith(call, signingKey)).toBe(true);
    }
  });

  it("delivers every message once to a receiver that fails for a while, then recovers", async () => {
    await provider("flappy", "/flappy");
    receiver.answers.set("/flappy", 500);
    const finished = release("flapping", "flappy");
    await eventually("the receiver refused something", () =>
      expect(receiver.callsTo("/flappy").some((c) => c.status === 500)).toBe(true),
    );
    receiver.answers.delete("/flappy");
    await finished;
    await eventually("Succeeded delivered", () =>
      expect(phasesOf(receiver.callsTo("/flappy").filter((c) => c.status === 200))).toContain("Succeeded"),
    );
    const delivered = receiver
      .callsTo("/flappy")
      .filter((c) => c.status === 200)
      .map((c) => String(c.body.id));
    expect(new Set(delivered).size).toBe(delivered.length);
    const attempted = new Set(receiver.callsTo("/flappy").map((c) => String(c.body.id)));
    expect(new Set(delivered)).toEqual(attempted);
  });

  it("does not slow a rollout when the receiver never answers", async () => {
    await provider("fast", "/fast");
    await provider("hung", "/hung");
    receiver.answers.set("/hung", 0);
    const withAnswers = await release("answered", "fast");
    const withHang = await release("unanswered", "hung");
    expect((await canaryStatus(ns.name, "unanswered")).phase).toBe("Succeeded");
    expect(receiver.callsTo("/hung").length).toBeGreaterThan(0);
    console.info(
      `rollout with a receiver that answers: ${(withAnswers / 1000).toFixed(1)}s; with one that never answers: ${(withHang / 1000).toFixed(1)}s`,
    );
  });
});
