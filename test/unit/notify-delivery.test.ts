// Delivery: retries with backoff and Retry-After, rate limits, the bounded queue and
// shutdown, driven through the Notifier against nock receivers on fake time.
import nock from "nock";
import type { Counter } from "prom-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Severity } from "../../src/api/common.ts";
import { backoffMs, DeliveryQueue } from "../../src/notify/delivery.ts";
import { retryAfterMs } from "../../src/notify/http.ts";
import { staticLookup } from "../../src/notify/lookup.ts";
import type { Notification } from "../../src/notify/message.ts";
import { type DeliveryTuning, Notifier } from "../../src/notify/notifier.ts";
import {
  notificationRetries,
  notificationsDropped,
  notificationsFailed,
  notificationsSent,
} from "../../src/observability/metrics.ts";

let run = 0;

/** Sum of a counter's values whose labels include `labels`. */
async function count(metric: Counter, labels: Record<string, string>): Promise<number> {
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))
    .reduce((sum, v) => sum + v.value, 0);
}

/** A reply that never comes: nock's delay() runs on real timers, which fake time cannot move. */
function never(): Promise<[number, string]> {
  return new Promise(() => {});
}

/** Lets real I/O (nock's fetch interception) run without moving fake time. */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Waits until the queue has scheduled its `n`th retry (the backoff timer is set in the same tick). */
async function retried(provider: string, n: number): Promise<void> {
  await until(
    async () => (await count(notificationRetries, { provider })) >= n,
    `retry ${n} to be scheduled`,
  );
}

/** Waits until `n` messages have been accepted (answers processed, not just requests seen). */
async function delivered(provider: string, n: number): Promise<void> {
  await until(async () => (await count(notificationsSent, { provider })) >= n, `${n} deliveries`);
}

async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A webhook provider in a fresh namespace (fresh metric labels), and a log of what reached the receiver. */
function setup(
  options: { spec?: Record<string, unknown>; delivery?: DeliveryTuning; random?: () => number } = {},
) {
  run += 1;
  const namespace = `delivery-${run}`;
  // A host per test: no keep-alive connection (or aborted one) carries over between tests.
  const origin = `https://receiver-${run}.example.com`;
  const path = `/hook-${run}`;
  const received: { id: string; severity: Severity }[] = [];
  const notifier = new Notifier({
    lookup: staticLookup({
      alertProviders: {
        [`${namespace}/hook`]: { type: "webhook", secretRef: { name: "hook" }, ...options.spec },
      },
      secrets: { [`${namespace}/hook`]: { address: `${origin}${path}` } },
    }),
    random: options.random ?? (() => 0.5),
    ...(options.delivery ? { delivery: options.delivery } : {}),
  });
  let sequence = 0;
  const send = (severity: Severity = "info", id = `m${++sequence}`) =>
    notifier.notify(
      {
        id,
        severity,
        cluster: "test",
        namespace,
        kind: "Canary",
        name: "podinfo",
        reason: "Progressing",
        message: `message ${id}`,
        timestamp: "2025-03-04T10:00:00.000Z",
      } satisfies Notification,
      [{ providerRef: { name: "hook" } }],
    );
  const receiver = () => {
    const scope = nock(origin);
    scope.on("request", (_req: unknown, _i: unknown, body: string) => {
      const parsed = JSON.parse(body) as { id: string; severity: Severity };
      received.push({ id: parsed.id, severity: parsed.severity });
    });
    return scope;
  };
  return { notifier, send, received, receiver, path, provider: `${namespace}/hook` };
}

beforeEach(() => {
  nock.disableNetConnect();
  vi.useFakeTimers({
    toFake: ["setTimeout", "clearTimeout", "Date"],
    now: Date.parse("2025-03-04T10:00:00Z"),
  });
});

afterEach(() => {
  vi.useRealTimers();
  nock.abortPendingRequests();
  nock.cleanAll();
  nock.enableNetConnect();
});

describe("retries", () => {
  it("waits exactly as long as Retry-After (seconds) asks, then delivers", async () => {
    const t = setup();
    const scope = t
      .receiver()
      .post(t.path)
      .reply(429, "slow down", { "Retry-After": "7" })
      .post(t.path)
      .reply(200, "ok");
    t.send();
    await retried(t.provider, 1);
    await vi.advanceTimersByTimeAsync(6_999);
    await settle();
    expect(t.received).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await until(() => scope.isDone(), "the retry");
    await t.notifier.idle();
    expect(await count(notificationsSent, { provider: t.provider })).toBe(1);
    expect(await count(notificationRetries, { provider: t.provider })).toBe(1);
    expect(await count(notificationsFailed, { provider: t.provider })).toBe(0);
  });

  it("honours Retry-After given as an HTTP date", async () => {
    const t = setup();
    const scope = t
      .receiver()
      .post(t.path)
      .reply(503, "maintenance", { "Retry-After": "Tue, 04 Mar 2025 10:00:30 GMT" })
      .post(t.path)
      .reply(200, "ok");
    t.send();
    await retried(t.provider, 1);
    await vi.advanceTimersByTimeAsync(29_999);
    await settle();
    expect(t.received).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await until(() => scope.isDone(), "the retry");
  });

  it("retries 5xx with jittered exponential backoff and, once the receiver recovers, delivers exactly once", async () => {
    const t = setup({ random: () => 0 });
    const scope = t
      .receiver()
      .post(t.path)
      .reply(500)
      .post(t.path)
      .reply(502)
      .post(t.path)
      .reply(503)
      .post(t.path)
      .reply(200, "ok");
    t.send("warn", "only-once");
    // random 0 takes the low end of the jitter: half of 1 s, 2 s, 4 s.
    for (const [wait, attempts] of [
      [500, 2],
      [1_000, 3],
      [2_000, 4],
    ] as const) {
      await retried(t.provider, attempts - 1);
      await vi.advanceTimersByTimeAsync(wait - 1);
      await settle();
      expect(t.received).toHaveLength(attempts - 1);
      await vi.advanceTimersByTimeAsync(1);
      await until(() => t.received.length === attempts, `attempt ${attempts}`);
    }
    await t.notifier.idle();
    expect(scope.isDone()).toBe(true);
    await vi.advanceTimersByTimeAsync(600_000);
    await settle();
    expect(t.received.map((r) => r.id)).toEqual(["only-once", "only-once", "only-once", "only-once"]);
    expect(await count(notificationsSent, { provider: t.provider })).toBe(1);
    expect(await count(notificationRetries, { provider: t.provider })).toBe(3);
  });

  it("retries network errors", async () => {
    const t = setup();
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    const scope = t.receiver().post(t.path).replyWithError(refused).post(t.path).reply(204);
    t.send();
    await retried(t.provider, 1);
    await vi.advanceTimersByTimeAsync(750); // random 0.5: three quarters of 1 s
    await until(() => scope.isDone(), "the retry");
    await t.notifier.idle();
    expect(await count(notificationsSent, { provider: t.provider })).toBe(1);
  });

  it("abandons an attempt after the provider's timeout and retries", async () => {
    const t = setup({ spec: { timeout: "2s" } });
    const scope = t.receiver().post(t.path).reply(never).post(t.path).reply(200, "ok");
    t.send();
    await until(() => t.received.length === 1, "the first attempt");
    await vi.advanceTimersByTimeAsync(1_999);
    await settle();
    expect(t.received).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await retried(t.provider, 1);
    await vi.advanceTimersByTimeAsync(750);
    await until(() => t.received.length === 2, "the retry");
    await until(() => scope.isDone(), "the second answer");
    await t.notifier.idle();
    expect(await count(notificationsSent, { provider: t.provider })).toBe(1);
    expect(await count(notificationRetries, { provider: t.provider })).toBe(1);
  });

  it("gives up after the last attempt and counts the failure", async () => {
    const t = setup({ delivery: { maxAttempts: 3 } });
    t.receiver().post(t.path).times(3).reply(500);
    t.send("error");
    // random 0.5: three quarters of 1 s, then of 2 s. Time moves only once each retry is due.
    for (const [n, wait] of [
      [1, 750],
      [2, 1_500],
    ] as const) {
      await retried(t.provider, n);
      await vi.advanceTimersByTimeAsync(wait);
    }
    await t.notifier.idle();
    expect(t.received).toHaveLength(3);
    expect(await count(notificationsFailed, { provider: t.provider, reason: "http" })).toBe(1);
    expect(await count(notificationsSent, { provider: t.provider })).toBe(0);
  });

  it("does not retry a 4xx other than 408 and 429", async () => {
    const t = setup();
    t.receiver().post(t.path).reply(404, "no such hook").post(t.path).reply(200, "ok");
    t.send("error", "first");
    t.send("error", "second");
    await until(() => t.received.length === 2, "both messages");
    await t.notifier.idle();
    expect(t.received.map((r) => r.id)).toEqual(["first", "second"]);
    expect(await count(notificationsFailed, { provider: t.provider, reason: "rejected" })).toBe(1);
    expect(await count(notificationsSent, { provider: t.provider })).toBe(1);
  });
});

describe("DeliveryQueue", () => {
  it("abandons an attempt whose transport ignores the abort signal", async () => {
    run += 1;
    const provider = `queue-${run}/hook`;
    const queue = new DeliveryQueue({ provider, rateLimit: 60, timeoutMs: 5_000, maxAttempts: 1 });
    let signalled = false;
    queue.enqueue({
      severity: "error",
      describe: { id: "deaf" },
      attempt: (signal) => {
        signal.addEventListener("abort", () => {
          signalled = true;
        });
        return new Promise(() => {}); // never settles, abort or not
      },
    });
    await vi.advanceTimersByTimeAsync(5_000);
    await queue.idle();
    expect(signalled).toBe(true);
    expect(await count(notificationsFailed, { provider, reason: "timeout" })).toBe(1);
  });
});

describe("rate limit", () => {
  it("posts at most rateLimit messages in any 60 seconds, in order", async () => {
    const t = setup({ spec: { rateLimit: 2 } });
    t.receiver().post(t.path).times(5).reply(200, "ok");
    for (let i = 0; i < 5; i++) t.send();
    await delivered(t.provider, 2);
    await vi.advanceTimersByTimeAsync(59_999);
    await settle();
    expect(t.received).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await delivered(t.provider, 4);
    await vi.advanceTimersByTimeAsync(59_999);
    await settle();
    expect(t.received).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(1);
    await delivered(t.provider, 5);
    expect(t.received.map((r) => r.id)).toEqual(["m1", "m2", "m3", "m4", "m5"]);
  });
});

describe("a full queue", () => {
  it("drops the oldest info message first, then warn, and counts the drops", async () => {
    const t = setup({ spec: { timeout: "5m" }, delivery: { capacity: 3 } });
    // The first message is told to come back in a minute, so the others queue up behind it.
    t.receiver().post(t.path).reply(429, "", { "Retry-After": "60" }).post(t.path).times(10).reply(200, "ok");
    t.send("info", "a-in-flight");
    await retried(t.provider, 1);
    t.send("info", "b");
    t.send("warn", "c");
    t.send("info", "d");
    t.send("error", "e"); // queue b c d e: b goes
    t.send("warn", "f"); // c d e f: d goes
    t.send("info", "g"); // c e f g: g itself is the oldest info
    t.send("error", "h"); // c e f h: c, the oldest warn, goes
    await until(
      async () => (await count(notificationsDropped, { provider: t.provider, reason: "queue-full" })) === 4,
      "four drops",
    );
    await vi.advanceTimersByTimeAsync(60_000);
    await delivered(t.provider, 4);
    await t.notifier.idle();
    expect(t.received.map((r) => r.id)).toEqual(["a-in-flight", "a-in-flight", "e", "f", "h"]);
    const dropped = (severity: string) =>
      count(notificationsDropped, { provider: t.provider, severity, reason: "queue-full" });
    expect({
      info: await dropped("info"),
      warn: await dropped("warn"),
      error: await dropped("error"),
    }).toEqual({
      info: 3,
      warn: 1,
      error: 0,
    });
  });
});

describe("a dead provider", () => {
  it("never makes notify() wait", async () => {
    const t = setup({ spec: { timeout: "1h" } });
    t.receiver().post(t.path).times(200).reply(never);
    const started = performance.now();
    const results = Array.from({ length: 200 }, () => t.send("error"));
    expect(performance.now() - started).toBeLessThan(50);
    expect(results.every((r) => r === undefined)).toBe(true);
  });

  it("shutdown delivers what it can in time and drops the rest", async () => {
    const t = setup({ spec: { timeout: "1h" } });
    t.receiver().post(t.path).reply(200, "ok").post(t.path).times(5).reply(never);
    t.send("info", "delivered");
    await until(() => t.received.length === 1, "the first message");
    t.send("warn", "stuck");
    t.send("error", "queued");
    await until(() => t.received.length === 2, "the stuck attempt");
    let done = false;
    const shutdown = t.notifier.shutdown(5_000).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await shutdown;
    expect(await count(notificationsSent, { provider: t.provider })).toBe(1);
    expect(await count(notificationsDropped, { provider: t.provider, reason: "shutdown" })).toBe(2);
    t.send("error", "too-late");
    expect(await count(notificationsDropped, { provider: t.provider, reason: "shutdown" })).toBe(3);
  });
});

describe("retryAfterMs", () => {
  const now = Date.parse("2025-03-04T10:00:00Z");
  it.each([
    ["7", 7_000],
    ["1.5", 1_500],
    [" 0 ", 0],
    ["Tue, 04 Mar 2025 10:01:00 GMT", 60_000],
    ["Tue, 04 Mar 2025 09:00:00 GMT", 0],
  ])("reads %j as %d ms", (header, ms) => {
    expect(retryAfterMs(header, now)).toBe(ms);
  });

  it("ignores an absent or unreadable header", () => {
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs("soon", now)).toBeUndefined();
  });
});

describe("backoffMs", () => {
  it("doubles from the base, caps, and jitters between half and all of it", () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(a, 1_000, 60_000, () => 0))).toEqual([500, 1_000, 2_000, 4_000]);
    expect([1, 2, 3, 4].map((a) => backoffMs(a, 1_000, 60_000, () => 1))).toEqual([
      1_000, 2_000, 4_000, 8_000,
    ]);
    expect(backoffMs(20, 1_000, 60_000, () => 1)).toBe(60_000);
  });
});
