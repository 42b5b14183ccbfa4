// Two electors on one real Lease: one leads, release hands over, death hands over.
import { CoordinationV1Api } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { LeaderElector, toMillis } from "../../src/kube/leader-election.ts";
import { eventually } from "../support/eventually.ts";
import { useNamespace } from "../support/namespace.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("kube-leader");
const logger = pino({ level: "silent" });

describe("LeaderElector on a Lease", () => {
  let electors: LeaderElector[] = [];
  afterEach(async () => {
    for (const e of electors) await e.stop();
    electors = [];
  });

  function pair(lease: string) {
    const log: string[] = [];
    const make = (identity: string) =>
      new LeaderElector({
        client: testbedKubeConfig(),
        name: lease,
        namespace: ns.name,
        identity,
        onStartedLeading: () => log.push(`${identity} started`),
        onStoppedLeading: () => log.push(`${identity} stopped`),
        logger,
      });
    electors = [make("replica-a"), make("replica-b")];
    for (const e of electors) e.start();
    return { electors, log };
  }

  const readLease = (name: string) =>
    testbedKubeConfig().makeApiClient(CoordinationV1Api).readNamespacedLease({ name, namespace: ns.name });

  async function leaderOf(
    electors: LeaderElector[],
  ): Promise<{ leader: LeaderElector; follower: LeaderElector }> {
    return eventually(
      "a leader",
      () => {
        const leaders = electors.filter((e) => e.isLeader());
        expect(leaders).toHaveLength(1);
        const [leader] = leaders;
        const follower = electors.find((e) => !e.isLeader());
        if (leader === undefined || follower === undefined) throw new Error("no leader");
        return { leader, follower };
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  }

  it("lets exactly one of two replicas lead", async () => {
    const { electors, log } = pair("one-leader");
    const { leader } = await leaderOf(electors);
    // Over several renew periods, leadership neither doubles nor moves.
    const until = Date.now() + 6_000;
    while (Date.now() < until) {
      expect(electors.filter((e) => e.isLeader()).map((e) => e.identity)).toEqual([leader.identity]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const lease = await readLease("one-leader");
    expect(lease.spec?.holderIdentity).toBe(leader.identity);
    expect(lease.spec?.leaseDurationSeconds).toBe(15);
    expect(Date.now() - (toMillis(lease.spec?.renewTime) ?? 0)).toBeLessThan(4_000);
    expect(log).toEqual([`${leader.identity} started`]);
  });

  it("hands over promptly on release()", async () => {
    const { electors } = pair("release");
    const { leader, follower } = await leaderOf(electors);
    const before = (await readLease("release")).spec?.leaseTransitions ?? 0;
    const releasedAt = Date.now();
    await leader.release();
    expect(leader.isLeader()).toBe(false);
    await eventually("the follower to lead", () => expect(follower.isLeader()).toBe(true), {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    expect(Date.now() - releasedAt).toBeLessThan(4_000);
    const lease = await readLease("release");
    expect(lease.spec?.holderIdentity).toBe(follower.identity);
    expect(lease.spec?.leaseTransitions).toBe(before + 1);
  });

  it("hands over within ~17 s when the leader dies without releasing", async () => {
    const { electors, log } = pair("death");
    const { leader, follower } = await leaderOf(electors);
    const before = await readLease("death");
    const stoppedAt = Date.now();
    await leader.stop(); // no release: as if the process were killed
    const lastRenew = toMillis((await readLease("death")).spec?.renewTime) ?? 0;
    await eventually("the follower to take over", () => expect(follower.isLeader()).toBe(true), {
      timeoutMs: 25_000,
      intervalMs: 100,
    });
    const tookOverAt = Date.now();
    expect(tookOverAt - lastRenew).toBeGreaterThanOrEqual(15_000);
    expect(tookOverAt - lastRenew).toBeLessThanOrEqual(18_000);
    expect(tookOverAt - stoppedAt).toBeLessThanOrEqual(18_000);
    const lease = await readLease("death");
    expect(lease.spec?.holderIdentity).toBe(follower.identity);
    expect(lease.spec?.leaseTransitions).toBe((before.spec?.leaseTransitions ?? 0) + 1);
    expect(log).toEqual([
      `${leader.identity} started`,
      `${leader.identity} stopped`,
      `${follower.identity} started`,
    ]);
  });
});
