import { ApiException, type V1Lease, type V1LeaseSpec } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { decideLease, LeaderElector, type LeaseClient, toMillis } from "../../src/kube/leader-election.ts";

const logger = pino({ level: "silent" });
const t0 = Date.parse("2025-01-01T00:00:00Z");

describe("decideLease", () => {
  const held = (holderIdentity: string, renewedAgoMs: number, leaseDurationSeconds = 15): V1LeaseSpec => ({
    holderIdentity,
    leaseDurationSeconds,
    leaseTransitions: 3,
    renewTime: new Date(t0 - renewedAgoMs),
  });

  it("creates a lease that does not exist", () => {
    expect(decideLease(undefined, "me", t0, 15)).toEqual({ action: "create" });
  });

  it("renews a lease it holds", () => {
    expect(decideLease(held("me", 1_000), "me", t0, 15)).toEqual({ action: "renew" });
    expect(decideLease(held("me", 60_000), "me", t0, 15)).toEqual({ action: "renew" });
  });

  it("waits while another holder's lease is unexpired", () => {
    expect(decideLease(held("other", 14_999), "me", t0, 15)).toEqual({
      action: "wait",
      holderIdentity: "other",
      expiresAt: t0 + 1,
    });
  });

  it("takes over an expired lease, counting the transition", () => {
    expect(decideLease(held("other", 15_000), "me", t0, 15)).toEqual({
      action: "acquire",
      leaseTransitions: 4,
    });
  });

  it("uses the lease's own duration, and the default when it has none", () => {
    expect(decideLease(held("other", 20_000, 30), "me", t0, 15).action).toBe("wait");
    const noDuration: V1LeaseSpec = { holderIdentity: "other", renewTime: new Date(t0 - 16_000) };
    expect(decideLease(noDuration, "me", t0, 15)).toEqual({ action: "acquire", leaseTransitions: 1 });
    expect(decideLease(noDuration, "me", t0, 20).action).toBe("wait");
  });

  it("acquires a released lease (no holder) at once", () => {
    expect(decideLease({ leaseTransitions: 2, renewTime: new Date(t0) }, "me", t0, 15)).toEqual({
      action: "acquire",
      leaseTransitions: 3,
    });
    expect(decideLease({ holderIdentity: "" }, "me", t0, 15).action).toBe("acquire");
  });

  it("takes over a lease whose holder never wrote a renewTime", () => {
    expect(decideLease({ holderIdentity: "other" }, "me", t0, 15).action).toBe("acquire");
  });

  it("reads MicroTime strings as the API client returns them", () => {
    expect(toMillis("2025-01-01T00:00:01.500000Z")).toBe(t0 + 1_500);
    expect(toMillis(undefined)).toBeUndefined();
    const spec = {
      holderIdentity: "other",
      renewTime: "2025-01-01T00:00:00.000000Z",
    } as unknown as V1LeaseSpec;
    expect(decideLease(spec, "me", t0 + 10_000, 15).action).toBe("wait");
    expect(decideLease(spec, "me", t0 + 15_000, 15).action).toBe("acquire");
  });
});

/** One Lease in memory, with the API server's compare-and-swap on resourceVersion. */
class FakeLeaseApi {
  lease: V1Lease | undefined;
  revision = 0;
  failing = new Set<string>();

  client(identity: string): LeaseClient {
    const check = () => {
      if (this.failing.has(identity)) throw new Error("connection refused");
    };
    // JSON round trip: the real client sends JSON and hands MicroTimes back as strings.
    const copy = (lease: V1Lease): V1Lease => JSON.parse(JSON.stringify(lease));
    return {
      readNamespacedLease: async () => {
        check();
        if (this.lease === undefined) throw new ApiException(404, "not found", {}, {});
        return copy(this.lease);
      },
      createNamespacedLease: async ({ body }: { body: V1Lease }) => {
        check();
        if (this.lease !== undefined) throw new ApiException(409, "already exists", {}, {});
        this.lease = copy({
          ...body,
          metadata: { ...body.metadata, resourceVersion: String(++this.revision) },
        });
        return copy(this.lease);
      },
      replaceNamespacedLease: async ({ body }: { body: V1Lease }) => {
        check();
        if (body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion)
          throw new ApiException(409, "conflict", {}, {});
        this.lease = copy({
          ...body,
          metadata: { ...body.metadata, resourceVersion: String(++this.revision) },
        });
        return copy(this.lease);
      },
    } as unknown as LeaseClient;
  }
}

describe("LeaderElector", () => {
  let api: FakeLeaseApi;
  let electors: LeaderElector[];
  let log: string[];

  const elector = (identity: string) => {
    const e = new LeaderElector({
      client: api.client(identity),
      name: "wren",
      namespace: "wren-system",
      identity,
      onStartedLeading: (signal) => {
        log.push(`${identity} started`);
        signal.addEventListener("abort", () => log.push(`${identity} signal aborted`));
      },
      onStoppedLeading: () => log.push(`${identity} stopped`),
      logger,
    });
    electors.push(e);
    return e;
  };
  const leaders = () => electors.filter((e) => e.isLeader()).map((e) => e.identity);

  beforeEach(() => {
    vi.useFakeTimers({ now: t0 });
    api = new FakeLeaseApi();
    electors = [];
    log = [];
  });
  afterEach(async () => {
    for (const e of electors) await e.stop();
    vi.useRealTimers();
  });

  it("of two replicas exactly one leads, and keeps leading while it renews", async () => {
    elector("a").start();
    elector("b").start();
    await vi.advanceTimersByTimeAsync(0);
    expect(leaders()).toEqual(["a"]);
    for (let i = 0; i < 30; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      expect(leaders()).toEqual(["a"]);
    }
    expect(api.lease?.spec?.holderIdentity).toBe("a");
    expect(api.lease?.spec?.leaseTransitions).toBe(0);
    expect(Date.now() - (toMillis(api.lease?.spec?.renewTime) ?? 0)).toBeLessThanOrEqual(2_000);
    expect(log).toEqual(["a started"]);
  });

  it("when the leader dies without releasing, the other takes over after the lease expires (15-17 s)", async () => {
    const a = elector("a").start();
    await vi.advanceTimersByTimeAsync(0);
    elector("b").start();
    await vi.advanceTimersByTimeAsync(5_000);
    const lastRenew = toMillis(api.lease?.spec?.renewTime) ?? 0;
    await a.stop();
    expect(log).toEqual(["a started", "a signal aborted", "a stopped"]);
    let takeoverAt = 0;
    for (let i = 0; i < 40 && takeoverAt === 0; i++) {
      await vi.advanceTimersByTimeAsync(500);
      if (leaders().includes("b")) takeoverAt = Date.now();
    }
    expect(takeoverAt - lastRenew).toBeGreaterThanOrEqual(15_000);
    expect(takeoverAt - lastRenew).toBeLessThanOrEqual(17_000);
    expect(api.lease?.spec?.holderIdentity).toBe("b");
    expect(api.lease?.spec?.leaseTransitions).toBe(1);
  });

  it("release hands over at the other replica's next retry", async () => {
    const a = elector("a").start();
    await vi.advanceTimersByTimeAsync(0);
    elector("b").start();
    await vi.advanceTimersByTimeAsync(5_000);
    const releasedAt = Date.now();
    await a.release();
    expect(api.lease?.spec?.holderIdentity).toBeUndefined();
    expect(a.isLeader()).toBe(false);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(leaders()).toEqual(["b"]);
    expect(Date.now() - releasedAt).toBeLessThanOrEqual(2_000);
    expect(api.lease?.spec?.leaseTransitions).toBe(1);
    expect(log).toEqual(["a started", "a signal aborted", "a stopped", "b started"]);
  });

  it("a leader that cannot renew steps down at the renew deadline, before its lease expires", async () => {
    const a = elector("a").start();
    await vi.advanceTimersByTimeAsync(0);
    const lastRenew = Date.now();
    api.failing.add("a");
    await vi.advanceTimersByTimeAsync(9_999);
    expect(a.isLeader()).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(a.isLeader()).toBe(false);
    expect(Date.now() - lastRenew).toBe(10_000);
    expect(log).toEqual(["a started", "a signal aborted", "a stopped"]);
  });

  it("a leader that finds another holder in the lease steps down", async () => {
    const a = elector("a").start();
    await vi.advanceTimersByTimeAsync(0);
    expect(a.isLeader()).toBe(true);
    const lease = api.lease;
    if (lease?.spec === undefined) throw new Error("no lease");
    // Someone else wrote the lease (e.g. an operator forcing a handover).
    api.lease = {
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(++api.revision) },
      spec: { ...lease.spec, holderIdentity: "intruder", renewTime: new Date(Date.now()) },
    };
    await vi.advanceTimersByTimeAsync(2_000);
    expect(a.isLeader()).toBe(false);
  });

  it("a hung API call does not keep a leader leading", async () => {
    const hung = api.client("a");
    const a = new LeaderElector({
      client: {
        ...hung,
        readNamespacedLease: (...args: Parameters<LeaseClient["readNamespacedLease"]>) =>
          api.revision > 0 ? new Promise<V1Lease>(() => undefined) : hung.readNamespacedLease(...args),
      } as LeaseClient,
      name: "wren",
      namespace: "wren-system",
      identity: "a",
      logger,
    });
    electors.push(a);
    a.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(a.isLeader()).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(a.isLeader()).toBe(false);
  });

  it("refuses a renew deadline that is not shorter than the lease", () => {
    expect(
      () =>
        new LeaderElector({
          client: api.client("a"),
          name: "wren",
          namespace: "ns",
          identity: "a",
          renewDeadlineMs: 15_000,
        }),
    ).toThrow(/renewDeadlineMs/);
  });
});
