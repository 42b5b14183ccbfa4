import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WorkQueue } from "../../src/kube/workqueue.ts";

const logger = pino({ level: "silent" });

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

function deferred(): Deferred {
  let resolve: () => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

// Lets queued microtasks (and the queue's pump) run without moving the fake clock.
const settle = () => vi.advanceTimersByTimeAsync(0);

/** A handler that records each call and blocks until the test releases it. */
function blockingHandler() {
  const calls: string[] = [];
  const running = new Map<string, Deferred[]>();
  let concurrent = 0;
  let maxConcurrent = 0;
  const handler = async (key: string) => {
    calls.push(key);
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    const d = deferred();
    running.set(key, [...(running.get(key) ?? []), d]);
    try {
      await d.promise;
    } finally {
      concurrent--;
    }
  };
  const finish = (key: string, error?: Error) => {
    const pending = running.get(key) ?? [];
    const d = pending.shift();
    if (d === undefined) throw new Error(`${key} is not running`);
    if (error) d.reject(error);
    else d.resolve();
  };
  return {
    handler,
    calls,
    finish,
    maxConcurrent: () => maxConcurrent,
    running: () => concurrent,
  };
}

describe("WorkQueue", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("processes a key queued twice once", async () => {
    const queue = new WorkQueue({ logger });
    const calls: string[] = [];
    queue.add("ns/a");
    queue.add("ns/a");
    queue.add("ns/b");
    expect(queue.length).toBe(2);
    queue.run(4, (key) => {
      calls.push(key);
    });
    await settle();
    expect(calls).toEqual(["ns/a", "ns/b"]);
  });

  it("never processes one key concurrently, and reruns a key re-added while it was processing", async () => {
    const queue = new WorkQueue({ logger });
    const h = blockingHandler();
    queue.run(4, h.handler);
    queue.add("ns/a");
    await settle();
    expect(h.calls).toEqual(["ns/a"]);
    queue.add("ns/a");
    queue.add("ns/a");
    await settle();
    expect(h.calls).toEqual(["ns/a"]);
    expect(h.running()).toBe(1);
    h.finish("ns/a");
    await settle();
    expect(h.calls).toEqual(["ns/a", "ns/a"]);
    h.finish("ns/a");
    await settle();
    expect(h.calls).toEqual(["ns/a", "ns/a"]);
    expect(h.maxConcurrent()).toBe(1);
    expect(queue.inFlight).toBe(0);
  });

  it("bounds concurrency to the number of workers", async () => {
    const queue = new WorkQueue({ logger });
    const h = blockingHandler();
    for (const key of ["a", "b", "c", "d", "e"]) queue.add(key);
    queue.run(2, h.handler);
    await settle();
    expect(h.calls).toEqual(["a", "b"]);
    h.finish("b");
    await settle();
    expect(h.calls).toEqual(["a", "b", "c"]);
    h.finish("a");
    h.finish("c");
    await settle();
    expect(h.calls).toEqual(["a", "b", "c", "d", "e"]);
    expect(h.maxConcurrent()).toBe(2);
  });

  it("addAfter waits for the delay and the earliest deadline wins", async () => {
    const queue = new WorkQueue({ logger });
    const calls: Array<[string, number]> = [];
    const start = Date.now();
    queue.run(1, (key) => {
      calls.push([key, Date.now() - start]);
    });
    queue.addAfter("late-then-early", 10_000);
    queue.addAfter("late-then-early", 3_000);
    queue.addAfter("early-then-late", 2_000);
    queue.addAfter("early-then-late", 8_000);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([["early-then-late", 2_000]]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toEqual([
      ["early-then-late", 2_000],
      ["late-then-early", 3_000],
    ]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(2);
  });

  it("addAfter with no delay adds at once", async () => {
    const queue = new WorkQueue({ logger });
    const calls: string[] = [];
    queue.run(1, (key) => {
      calls.push(key);
    });
    queue.addAfter("a", 0);
    await settle();
    expect(calls).toEqual(["a"]);
  });

  it("a failing handler is retried with exponential backoff capped at 5 minutes", async () => {
    const queue = new WorkQueue({ logger });
    const times: number[] = [];
    const start = Date.now();
    queue.run(1, () => {
      times.push(Date.now() - start);
      throw new Error("boom");
    });
    queue.add("a");
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    expect(gaps.slice(0, 10)).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000,
    ]);
    expect(queue.retries("a")).toBe(times.length);
  });

  it("a successful run forgets the key's failures, so backoff starts again at 1 s", async () => {
    const queue = new WorkQueue({ logger });
    let failuresLeft = 3;
    const times: number[] = [];
    queue.run(1, () => {
      times.push(Date.now());
      if (failuresLeft-- > 0) throw new Error("boom");
    });
    queue.add("a");
    await vi.advanceTimersByTimeAsync(7_000); // fails at 0, 1 s, 3 s; succeeds at 7 s
    expect(times).toHaveLength(4);
    expect(queue.retries("a")).toBe(0);
    failuresLeft = 1;
    const before = Date.now();
    queue.add("a");
    await settle();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(times.slice(4).map((t) => t - before)).toEqual([0, 1_000]);
  });

  it("forget resets the backoff of addRateLimited", async () => {
    const queue = new WorkQueue({ logger });
    expect(queue.backoff(0)).toBe(1_000);
    queue.addRateLimited("a");
    queue.addRateLimited("a");
    queue.addRateLimited("a");
    expect(queue.retries("a")).toBe(3);
    queue.forget("a");
    expect(queue.retries("a")).toBe(0);
    const calls: number[] = [];
    const start = Date.now();
    queue.run(1, () => {
      calls.push(Date.now() - start);
    });
    // The first addRateLimited (1 s) is the earliest deadline still pending.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toEqual([1_000]);
  });

  it("a handler that asks for a rate-limited retry itself keeps its backoff growing", async () => {
    const queue = new WorkQueue({ logger });
    const times: number[] = [];
    const start = Date.now();
    queue.run(1, (key) => {
      times.push(Date.now() - start);
      if (times.length < 4) queue.addRateLimited(key);
    });
    queue.add("a");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(times).toEqual([0, 1_000, 3_000, 7_000]);
  });

  it("shutdown waits for in-flight work, then starts nothing new", async () => {
    const queue = new WorkQueue({ logger });
    const h = blockingHandler();
    queue.run(1, h.handler);
    queue.add("a");
    queue.add("b");
    queue.addAfter("c", 1_000);
    await settle();
    expect(h.calls).toEqual(["a"]);
    let drained = false;
    const shutdown = queue.shutdown().then(() => {
      drained = true;
    });
    queue.add("a");
    queue.add("d");
    await vi.advanceTimersByTimeAsync(5_000);
    expect(drained).toBe(false);
    h.finish("a");
    await shutdown;
    expect(drained).toBe(true);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.calls).toEqual(["a"]);
    expect(queue.shuttingDown).toBe(true);
  });

  it("shutdown of an idle queue resolves at once", async () => {
    const queue = new WorkQueue({ logger });
    queue.run(1, () => undefined);
    await expect(queue.shutdown()).resolves.toBeUndefined();
  });

  it("refuses to run twice or with no workers", () => {
    const queue = new WorkQueue({ logger });
    expect(() => queue.run(0, () => undefined)).toThrow(/positive/);
    queue.run(1, () => undefined);
    expect(() => queue.run(1, () => undefined)).toThrow(/already/);
  });
});
