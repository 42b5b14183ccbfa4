import { describe, expect, it } from "vitest";
import { CanarySpec, type CanaryStatus } from "../../src/api/canary.ts";
import {
  type CanaryObservations,
  decideCanary,
  planCanary,
  routingFor,
  stepWeights,
} from "../../src/strategies/canary.ts";
import type { Action, CheckResult, ManualAction, WebhookResult } from "../../src/strategies/decision.ts";

const t0 = Date.parse("2026-11-22T10:00:00Z");

function spec(analysis: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): CanarySpec {
  return CanarySpec.parse({
    targetRef: { name: "podinfo" },
    service: { port: 9898 },
    analysis: {
      interval: "10s",
      threshold: 2,
      maxWeight: 30,
      stepWeight: 10,
      metrics: [{ name: "request-success-rate", thresholdRange: { min: 99 } }],
      ...analysis,
    },
    ...extra,
  });
}

/** A small pure world: the Deployments as the actions leave them. */
interface World {
  now: number;
  targetHash: string;
  targetReplicas: number;
  targetReady: boolean;
  primaryHash?: string;
  primaryReplicas: number;
  primaryReady: boolean;
  routing?: ReturnType<typeof routingFor>;
}

function world(over: Partial<World> = {}): World {
  return {
    now: t0,
    targetHash: "v1",
    targetReplicas: 2,
    targetReady: true,
    primaryReplicas: 0,
    primaryReady: true,
    ...over,
  };
}

function observe(w: World, more: Partial<CanaryObservations> = {}): CanaryObservations {
  return {
    now: new Date(w.now),
    generation: 1,
    target: {
      exists: true,
      templateHash: w.targetHash,
      replicas: w.targetReplicas,
      readyReplicas: w.targetReplicas,
      ready: w.targetReady,
    },
    primary: {
      exists: w.primaryHash !== undefined,
      templateHash: w.primaryHash,
      replicas: w.primaryReplicas,
      readyReplicas: w.primaryReplicas,
      ready: w.primaryReady,
    },
    windowOpen: true,
    ...more,
  };
}

function act(w: World, actions: Action[]): void {
  for (const a of actions) {
    if (a.type === "PromoteSpec") {
      w.primaryHash = w.targetHash;
      w.primaryReplicas = a.replicas;
    }
    if (a.type === "ScaleTarget") w.targetReplicas = a.replicas;
    if (a.type === "SetRouting") w.routing = a.routing;
  }
}

const pass = (value = 100): CheckResult[] => [{ name: "request-success-rate", verdict: "Pass", value }];
const fail = (value = 80): CheckResult[] => [
  { name: "request-success-rate", verdict: "Fail", value, message: "80 < 99" },
];
const unavailable: CheckResult[] = [
  { name: "request-success-rate", verdict: "Unavailable", message: "no data" },
];

/** Runs reconciles until the phase settles or `steps` run out, answering checks with `checks`. */
function run(
  s: CanarySpec,
  status: CanaryStatus,
  w: World,
  checks: () => CheckResult[],
  steps = 50,
  webhooks: WebhookResult[] = [],
): { status: CanaryStatus; weights: number[]; phases: string[] } {
  const weights: number[] = [];
  const phases: string[] = [];
  let current = status;
  for (let i = 0; i < steps; i++) {
    const plan = planCanary(s, current, new Date(w.now));
    const obs = observe(w, {
      checks: plan.analyse ? checks() : undefined,
      webhooks,
      routingApplied: routed(s, current, w),
    });
    const d = decideCanary(s, current, obs);
    act(w, d.actions);
    current = d.status;
    if (phases.at(-1) !== current.phase) phases.push(current.phase ?? "");
    if (weights.at(-1) !== w.routing?.weights.canary) weights.push(w.routing?.weights.canary ?? -1);
    const requeue = d.actions.find((a) => a.type === "RequeueAfter");
    if (requeue?.type !== "RequeueAfter") break;
    w.now += requeue.ms;
  }
  return { status: current, weights, phases };
}

/** What the adapter observes: does the VirtualService carry the routing the status records? */
function routed(s: CanarySpec, status: CanaryStatus, w: World): boolean {
  return JSON.stringify(w.routing) === JSON.stringify(routingFor(s, status));
}

function initialised(s: CanarySpec, w: World): CanaryStatus {
  return run(s, {}, w, pass).status;
}

describe("stepWeights", () => {
  it("counts up by stepWeight and ends exactly at maxWeight", () => {
    expect(stepWeights(spec({ stepWeight: 20, maxWeight: 50 }))).toEqual([20, 40, 50]);
    expect(stepWeights(spec({ stepWeight: 10, maxWeight: 30 }))).toEqual([10, 20, 30]);
  });
  it("uses explicit stepWeights as given", () => {
    expect(
      stepWeights(spec({ stepWeight: undefined, maxWeight: undefined, stepWeights: [1, 5, 50] })),
    ).toEqual([1, 5, 50]);
  });
});

describe("Canary initialisation", () => {
  it("creates the primary, waits until it is ready, then scales the target down with all traffic on the primary", () => {
    const s = spec();
    const w = world({ primaryReady: false });
    const first = decideCanary(s, {}, observe(w));
    expect(first.status.phase).toBe("Initializing");
    expect(first.actions).toContainEqual({ type: "PromoteSpec", replicas: 2 });
    expect(first.actions.find((a) => a.type === "ScaleTarget")).toBeUndefined();
    act(w, first.actions);

    const waiting = decideCanary(s, first.status, observe(w));
    expect(waiting.status.phase).toBe("Initializing");
    expect(waiting.actions.find((a) => a.type === "ScaleTarget")).toBeUndefined();
    expect(waiting.status.conditions?.[0]?.message).toMatch(/waiting for the primary/);

    w.primaryReady = true;
    const done = decideCanary(s, waiting.status, observe(w));
    expect(done.status.phase).toBe("Initialized");
    expect(done.status.lastPromotedSpec).toBe("v1");
    expect(done.actions).toContainEqual({ type: "ScaleTarget", replicas: 0 });
    expect(done.actions).toContainEqual({
      type: "SetRouting",
      routing: { weights: { primary: 100, canary: 0 }, match: false, mirrorWeight: 0 },
    });
    expect(done.status.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
  });

  it("fails when the primary is not ready within progressDeadlineSeconds", () => {
    const s = spec({}, { progressDeadlineSeconds: 60 });
    const w = world({ primaryReady: false });
    const result = run(s, {}, w, pass, 200);
    expect(result.status.phase).toBe("Failed");
    expect(result.status.conditions?.[0]?.reason).toBe("ProgressDeadlineExceeded");
    expect(w.now - t0).toBeGreaterThan(60_000);
    // The target keeps serving: no traffic was ever sent to the unready primary, and
    // the failed canary neither routes to it nor scales the target down afterwards.
    expect(w.routing).toBeUndefined();
    expect(w.targetReplicas).toBe(2);
    const after = decideCanary(s, result.status, observe(w));
    expect(after.actions.filter((a) => a.type === "SetRouting" || a.type === "ScaleTarget")).toEqual([]);
  });

  it("reports a missing target without acting", () => {
    const d = decideCanary(
      spec(),
      {},
      { ...observe(world()), target: { exists: false, replicas: 0, readyReplicas: 0, ready: false } },
    );
    expect(d.status.conditions?.[0]?.reason).toBe("TargetNotFound");
    const changes = d.actions.filter((a) => ["PromoteSpec", "SetRouting", "ScaleTarget"].includes(a.type));
    expect(changes).toEqual([]);
    expect(d.actions).toContainEqual(
      expect.objectContaining({ type: "Event", eventType: "Warning", reason: "TargetNotFound" }),
    );
  });
});

describe("Canary analysis", () => {
  it("steps a healthy revision up to maxWeight and promotes it", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const result = run(s, init, w, pass);
    expect(result.weights).toEqual([0, 10, 20, 30, 0]);
    expect(result.phases).toEqual(["Progressing", "Promoting", "Finalising", "Succeeded"]);
    expect(result.status.lastPromotedSpec).toBe("v2");
    expect(w.primaryHash).toBe("v2");
    expect(w.targetReplicas).toBe(0);
  });

  it("rolls back after `threshold` failed checks, never touching the primary", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const result = run(s, init, w, fail);
    expect(result.status.phase).toBe("Failed");
    expect(result.status.failedChecks).toBe(2);
    expect(result.weights.at(-1)).toBe(0);
    expect(Math.max(...result.weights)).toBe(10);
    expect(w.primaryHash).toBe("v1");
    expect(w.targetReplicas).toBe(0);
    expect(result.status.conditions?.[0]?.message).toMatch(/2 failed checks/);
  });

  it("holds without promoting while metrics are unavailable, then carries on", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    let calls = 0;
    const result = run(s, init, w, () => (++calls <= 6 ? unavailable : pass()));
    expect(result.status.phase).toBe("Succeeded");
    // weights never moved while unavailable: 10% held over six intervals
    expect(result.weights).toEqual([0, 10, 20, 30, 0]);
    expect(calls).toBeGreaterThan(6);
  });

  it("never promotes on missing data, and the hold policy never rolls back", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const result = run(s, init, w, () => unavailable, 40);
    expect(result.status.phase).toBe("Progressing");
    expect(result.status.canaryWeight).toBe(10);
    expect(result.status.unavailableChecks).toBeGreaterThan(10);
    expect(result.status.failedChecks).toBe(0);
    expect(result.status.conditions?.[0]?.reason).toBe("MetricsUnavailable");
  });

  it("rolls back after N unavailable intervals with the rollback policy", () => {
    const s = spec({ metricsUnavailable: { action: "rollback", after: 3 } });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const result = run(s, init, w, () => unavailable);
    expect(result.status.phase).toBe("Failed");
    expect(result.status.unavailableChecks).toBe(3);
  });

  it("restarts from 0% when a new revision arrives during analysis", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const partial = run(s, init, w, pass, 3);
    expect(partial.status.canaryWeight).toBe(20);
    w.targetHash = "v3";
    const d = decideCanary(s, partial.status, observe(w));
    expect(d.status.canaryWeight).toBe(0);
    expect(d.status.stepIndex).toBe(0);
    expect(d.status.lastAppliedSpec).toBe("v3");
    expect(d.actions).toContainEqual({
      type: "SetRouting",
      routing: { weights: { primary: 100, canary: 0 }, match: false, mirrorWeight: 0 },
    });
  });

  it("uses explicit stepWeights", () => {
    const s = spec({ stepWeight: undefined, maxWeight: undefined, stepWeights: [5, 25, 60] });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    expect(run(s, init, w, pass).weights).toEqual([0, 5, 25, 60, 0]);
  });

  it("killed between recording any step and routing it, a restarted controller serves every step for a whole interval", () => {
    const s = spec({ stepWeightPromotion: 10 });
    const interval = 10_000;
    const healthy = run(s, initialised(s, world()), world({ targetHash: "v2" }), pass);
    const reconciles = healthy.phases.length + 20;
    for (let killAt = 0; killAt < reconciles; killAt++) {
      const w = world();
      let current = initialised(s, w);
      w.targetHash = "v2";
      // [weight, time it reached the VirtualService]
      const routedAt: [number, number][] = [[0, w.now]];
      for (let i = 0; i < 80 && current.phase !== "Succeeded"; i++) {
        const plan = planCanary(s, current, new Date(w.now));
        const obs = observe(w, {
          checks: plan.analyse ? pass() : undefined,
          routingApplied: routed(s, current, w),
        });
        const d = decideCanary(s, current, obs);
        current = d.status;
        const requeue = d.actions.find((a) => a.type === "RequeueAfter");
        if (i === killAt) {
          // Status written, then SIGKILL: nothing acted; the next leader starts 30 s later.
          w.now += 30_000;
          continue;
        }
        act(w, d.actions);
        const weight = w.routing?.weights.canary ?? 0;
        if (routedAt.at(-1)?.[0] !== weight) routedAt.push([weight, w.now]);
        w.now += requeue?.type === "RequeueAfter" ? requeue.ms : 1000;
      }
      expect(current.phase, `killed at reconcile ${killAt}`).toBe("Succeeded");
      expect(
        routedAt.map(([weight]) => weight),
        `killed at reconcile ${killAt}`,
      ).toEqual([0, 10, 20, 30, 20, 10, 0]);
      // Every analysed step (10, 20, 30) and every promotion step stayed routed a whole interval.
      for (let i = 1; i < routedAt.length - 1; i++) {
        const [weight, at] = routedAt[i] as [number, number];
        const next = (routedAt[i + 1] as [number, number])[1];
        expect(next - at, `${weight}% killed at reconcile ${killAt}`).toBeGreaterThanOrEqual(interval);
      }
    }
  });

  it("says why it routes a recorded step again instead of analysing it", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const at20 = run(s, init, w, pass, 3).status;
    expect(at20.canaryWeight).toBe(20);
    // The VirtualService still carries 10%: the controller died after recording 20%.
    w.routing = routingFor(s, { ...at20, canaryWeight: 10 });
    w.now += 60_000;
    const d = decideCanary(s, at20, observe(w, { checks: pass(), routingApplied: routed(s, at20, w) }));
    expect(d.status.canaryWeight).toBe(20);
    expect(d.status.lastStepTime).toBe(new Date(w.now).toISOString());
    expect(d.status.conditions?.[0]?.reason).toBe("RoutingReapplied");
    const routing = d.actions.find((a) => a.type === "SetRouting");
    expect(routing?.type === "SetRouting" && routing.routing.weights).toEqual({ primary: 80, canary: 20 });
  });

  it("steps the primary back up with stepWeightPromotion", () => {
    const s = spec({ stepWeightPromotion: 10 });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    expect(run(s, init, w, pass).weights).toEqual([0, 10, 20, 30, 20, 10, 0]);
  });

  it("promotes without analysis with skipAnalysis", () => {
    const s = spec({}, { skipAnalysis: true });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const result = run(s, init, w, fail);
    expect(result.phases).toEqual(["Promoting", "Finalising", "Succeeded"]);
    expect(Math.max(...result.weights)).toBe(0);
  });

  it("waits for the canary pods, and rolls back when they are not ready by the deadline", () => {
    const s = spec({}, { progressDeadlineSeconds: 30 });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    w.targetReady = false;
    const result = run(s, init, w, pass, 100);
    expect(result.status.phase).toBe("Failed");
    expect(result.status.conditions?.[0]?.message).toMatch(/not ready within 30s/);
  });

  it("holds its weight outside the rollout window", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const started = run(s, init, w, pass, 2).status;
    expect(started.canaryWeight).toBe(10);
    w.now += 10_000;
    const d = decideCanary(s, started, observe(w, { checks: pass(), windowOpen: false }));
    expect(d.status.canaryWeight).toBe(10);
    expect(d.status.conditions?.[0]?.reason).toBe("OutsideWindow");
  });

  it("does not start a new revision outside the window", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const d = decideCanary(s, init, observe(w, { windowOpen: false }));
    expect(d.status.phase).toBe("Waiting");
    expect(d.status.conditions?.[0]?.reason).toBe("OutsideWindow");
  });

  it("does nothing while suspended", () => {
    const s = spec({}, { suspend: true });
    const d = decideCanary(
      s,
      { phase: "Progressing", canaryWeight: 20 },
      observe(world({ primaryHash: "v1" })),
    );
    expect(d.actions).toEqual([]);
    expect(d.status.canaryWeight).toBe(20);
  });

  it("treats a revert to the primary's revision as nothing to release", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const failed = run(s, init, w, fail).status;
    w.targetHash = "v1";
    const d = decideCanary(s, failed, observe(w));
    expect(d.status.phase).toBe("Succeeded");
  });
});

describe("Canary plan", () => {
  it("asks for analysis once per interval, only while progressing", () => {
    const s = spec();
    const now = new Date(t0);
    const status: CanaryStatus = {
      phase: "Progressing",
      stepIndex: 1,
      lastStepTime: new Date(t0 - 5_000).toISOString(),
    };
    expect(planCanary(s, status, now).analyse).toBe(false);
    expect(planCanary(s, { ...status, lastStepTime: new Date(t0 - 10_000).toISOString() }, now).analyse).toBe(
      true,
    );
    expect(planCanary(s, { ...status, phase: "Succeeded" }, now).analyse).toBe(false);
  });
});

describe("Canary webhooks", () => {
  const hook = (type: string, name = type) => ({ name, type, url: `http://hooks.local/${name}` });

  it("waits at Waiting until confirm-rollout passes", () => {
    const s = spec({ webhooks: [hook("confirm-rollout")] });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const closed = decideCanary(
      s,
      init,
      observe(w, { webhooks: [{ name: "confirm-rollout", type: "confirm-rollout", ok: false }] }),
    );
    expect(closed.status.phase).toBe("Waiting");
    expect(planCanary(s, closed.status, new Date(w.now)).gates).toContain("confirm-rollout");
    const open = decideCanary(
      s,
      closed.status,
      observe(w, { webhooks: [{ name: "confirm-rollout", type: "confirm-rollout", ok: true }] }),
    );
    expect(open.status.phase).toBe("Progressing");
  });

  it("counts a failing pre-rollout hook as a failed check before any traffic moves", () => {
    const s = spec({ webhooks: [hook("pre-rollout")] });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const result = run(s, init, w, pass, 20, [{ name: "pre-rollout", type: "pre-rollout", ok: false }]);
    expect(result.status.phase).toBe("Failed");
    expect(Math.max(...result.weights)).toBe(0);
  });

  it("holds at the current weight until confirm-traffic-increase passes", () => {
    const s = spec({ webhooks: [hook("confirm-traffic-increase")] });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const result = run(s, init, w, pass, 10, [
      { name: "confirm-traffic-increase", type: "confirm-traffic-increase", ok: false },
    ]);
    expect(result.status.canaryWeight).toBe(10);
    expect(result.status.conditions?.[0]?.reason).toBe("WaitingForGate");
  });

  it("waits for confirm-promotion at WaitingPromotion", () => {
    const s = spec({ webhooks: [hook("confirm-promotion")] });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const held = run(s, init, w, pass, 10, [
      { name: "confirm-promotion", type: "confirm-promotion", ok: false },
    ]);
    expect(held.status.phase).toBe("WaitingPromotion");
    expect(held.status.canaryWeight).toBe(30);
    const done = run(s, held.status, w, pass, 10, [
      { name: "confirm-promotion", type: "confirm-promotion", ok: true },
    ]);
    expect(done.status.phase).toBe("Succeeded");
  });

  it("rolls back when a rollback hook answers 2xx", () => {
    const s = spec({ webhooks: [hook("rollback")] });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const result = run(s, init, w, pass, 10, [{ name: "rollback", type: "rollback", ok: true }]);
    expect(result.status.phase).toBe("Failed");
    expect(result.status.conditions?.[0]?.message).toMatch(/rollback webhook/);
  });

  it("counts a failing rollout hook as a failed check", () => {
    const s = spec({ webhooks: [hook("rollout", "load")] });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const result = run(s, init, w, pass, 20, [{ name: "load", type: "rollout", ok: false, message: "500" }]);
    expect(result.status.phase).toBe("Failed");
    expect(result.status.conditions?.[0]?.message).toMatch(/rollout webhook load/);
  });
});

describe("Canary A/B testing and mirroring", () => {
  it("routes matching requests to the canary for the iterations, then promotes", () => {
    const s = spec({
      stepWeight: undefined,
      maxWeight: undefined,
      iterations: 3,
      match: [{ headers: { "x-canary": { exact: "insider" } } }],
    });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const seen: boolean[] = [];
    let status = init;
    for (let i = 0; i < 30 && status.phase !== "Succeeded"; i++) {
      const plan = planCanary(s, status, new Date(w.now));
      const d = decideCanary(s, status, observe(w, { checks: plan.analyse ? pass() : undefined }));
      act(w, d.actions);
      status = d.status;
      seen.push(w.routing?.match ?? false);
      expect(w.routing?.weights.canary).toBe(0);
      const rq = d.actions.find((a) => a.type === "RequeueAfter");
      w.now += rq?.type === "RequeueAfter" ? rq.ms : 1000;
    }
    expect(status.phase).toBe("Succeeded");
    expect(status.iterations).toBe(3);
    expect(seen.filter(Boolean).length).toBeGreaterThanOrEqual(3);
    expect(w.routing?.match).toBe(false);
  });

  it("mirrors instead of matching when mirror is set", () => {
    const s = spec({
      stepWeight: undefined,
      maxWeight: undefined,
      iterations: 2,
      mirror: true,
      mirrorWeight: 50,
    });
    expect(routingFor(s, { phase: "Progressing", stepIndex: 1, canaryWeight: 0 })).toEqual({
      weights: { primary: 100, canary: 0 },
      match: false,
      mirrorWeight: 50,
    });
  });
});

describe("Canary manual actions", () => {
  const action = (a: ManualAction["action"], id = a): ManualAction => ({
    id,
    action: a,
    requestedBy: "alice",
  });

  function progressingAt10(s: CanarySpec, w: World): CanaryStatus {
    const init = initialised(s, w);
    w.targetHash = "v2";
    return run(s, init, w, pass, 2).status;
  }

  it("promote advances exactly one step, once", () => {
    const s = spec();
    const w = world();
    const at10 = progressingAt10(s, w);
    const d = decideCanary(s, at10, observe(w, { manualAction: action("promote") }));
    expect(d.status.canaryWeight).toBe(20);
    expect(d.status.lastAction).toMatchObject({
      id: "promote",
      requestedBy: "alice",
      result: "advanced one step",
    });
    // the same request seen again is not consumed twice
    const again = decideCanary(s, d.status, observe(w, { manualAction: action("promote") }));
    expect(again.status.canaryWeight).toBe(20);
  });

  it("promote-full skips the remaining steps", () => {
    const s = spec();
    const w = world();
    const d = decideCanary(s, progressingAt10(s, w), observe(w, { manualAction: action("promote-full") }));
    expect(d.status.phase).toBe("Promoting");
  });

  it("abort rolls back at once", () => {
    const s = spec();
    const w = world();
    const d = decideCanary(s, progressingAt10(s, w), observe(w, { manualAction: action("abort") }));
    expect(d.status.phase).toBe("Failed");
    expect(d.actions).toContainEqual({
      type: "SetRouting",
      routing: { weights: { primary: 100, canary: 0 }, match: false, mirrorWeight: 0 },
    });
    expect(d.actions).toContainEqual(
      expect.objectContaining({ type: "Event", eventType: "Warning", reason: "RolledBack" }),
    );
  });

  it("pause holds the weight through intervals and resume continues", () => {
    const s = spec();
    const w = world();
    const paused = decideCanary(
      s,
      progressingAt10(s, w),
      observe(w, { manualAction: action("pause") }),
    ).status;
    expect(paused.phase).toBe("Paused");
    w.now += 60_000;
    const still = decideCanary(s, paused, observe(w, { checks: pass() }));
    expect(still.status.canaryWeight).toBe(10);
    expect(still.actions).toContainEqual(
      expect.objectContaining({
        type: "SetRouting",
        routing: expect.objectContaining({ weights: { primary: 90, canary: 10 } }),
      }),
    );
    const resumed = decideCanary(s, still.status, observe(w, { manualAction: action("resume") }));
    expect(resumed.status.phase).toBe("Progressing");
    expect(run(s, resumed.status, w, pass).status.phase).toBe("Succeeded");
  });

  it("retry restarts a failed release without a spec change", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const failed = run(s, init, w, fail).status;
    expect(failed.phase).toBe("Failed");
    const retried = decideCanary(s, failed, observe(w, { manualAction: action("retry") }));
    expect(retried.status.phase).toBe("Progressing");
    expect(retried.status.failedChecks).toBe(0);
    expect(retried.status.lastAppliedSpec).toBe("v2");
    expect(run(s, retried.status, w, pass).status.phase).toBe("Succeeded");
  });

  it("ignores an action that does not apply, and says so", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    const d = decideCanary(s, init, observe(w, { manualAction: action("resume") }));
    expect(d.status.phase).toBe("Initialized");
    expect(d.status.lastAction?.result).toMatch(/ignored: not paused/);
  });
});

describe("Canary plan of gates", () => {
  const s = spec();
  const due = new Date(t0).toISOString();
  const later = new Date(t0 + 10_000);
  it("asks confirm-traffic-increase before a step and confirm-promotion only after the last", () => {
    expect(planCanary(s, { phase: "Progressing", stepIndex: 1, lastStepTime: due }, later).gates).toEqual([
      "rollout",
      "rollback",
      "confirm-traffic-increase",
    ]);
    expect(planCanary(s, { phase: "Progressing", stepIndex: 3, lastStepTime: due }, later).gates).toEqual([
      "rollout",
      "rollback",
      "confirm-promotion",
    ]);
  });
  it("asks pre-rollout before any traffic, and confirm-rollout while waiting", () => {
    expect(planCanary(s, { phase: "Progressing", stepIndex: 0 }, later).gates).toContain("pre-rollout");
    expect(planCanary(s, { phase: "Waiting" }, later).gates).toEqual(["confirm-rollout"]);
  });
});

describe("Canary revertOnDeletion", () => {
  const s = spec({}, { revertOnDeletion: true });

  it("adds its finalizer while revertOnDeletion is set, and removes it when unset", () => {
    const w = world({ primaryHash: "v1" });
    const added = decideCanary(
      s,
      { phase: "Initialized", lastAppliedSpec: "v1", lastPromotedSpec: "v1" },
      observe(w),
    );
    expect(added.actions).toContainEqual({ type: "SetFinalizer", present: true });
    const removed = decideCanary(
      spec(),
      { phase: "Initialized", lastAppliedSpec: "v1", lastPromotedSpec: "v1" },
      observe(w, { finalizer: true }),
    );
    expect(removed.actions).toContainEqual({ type: "SetFinalizer", present: false });
  });

  it("on deletion scales the target up, waits for it, then hands it all traffic and lets go", () => {
    const w = world({ primaryHash: "v1", primaryReplicas: 3, targetReplicas: 0, targetReady: false });
    const status: CanaryStatus = { phase: "Succeeded", lastAppliedSpec: "v1", lastPromotedSpec: "v1" };
    const scaling = decideCanary(s, status, observe(w, { deleting: true, finalizer: true }));
    expect(scaling.actions).toContainEqual({ type: "ScaleTarget", replicas: 3 });
    expect(scaling.actions.find((a) => a.type === "SetFinalizer")).toBeUndefined();
    w.targetReplicas = 3;
    w.targetReady = true;
    const done = decideCanary(s, status, observe(w, { deleting: true, finalizer: true }));
    expect(done.actions.filter((a) => a.type !== "Event")).toEqual([
      {
        type: "SetRouting",
        routing: { weights: { primary: 0, canary: 100 }, match: false, mirrorWeight: 0 },
      },
      { type: "ReleaseApexService" },
      { type: "SetFinalizer", present: false },
    ]);
  });

  it("calls post-rollout hooks once, on success, describing the Succeeded status", () => {
    const w = world();
    const init = initialised(spec(), w);
    w.targetHash = "v2";
    let status = init;
    const posts: number[] = [];
    const calls: Action[] = [];
    for (let i = 0; i < 30; i++) {
      const d = decideCanary(
        spec(),
        status,
        observe(w, { checks: planCanary(spec(), status, new Date(w.now)).analyse ? pass() : undefined }),
      );
      act(w, d.actions);
      status = d.status;
      const post = d.actions.filter((a) => a.type === "CallWebhooks" && a.webhookType === "post-rollout");
      if (post.length > 0) posts.push(i);
      calls.push(...post);
      w.now += 5000;
    }
    expect(status.phase).toBe("Succeeded");
    expect(posts).toHaveLength(1);
    // The payload describes where the rollout is now, not the Finalising status it came from.
    expect(calls).toEqual([expect.objectContaining({ phase: "Succeeded", canaryWeight: 0 })]);
  });
});

describe("Canary manual actions at a gate", () => {
  const gated = spec({
    webhooks: [{ name: "approve", type: "confirm-rollout", url: "http://gate.local/approve" }],
  });
  const closed = [{ name: "approve", type: "confirm-rollout" as const, ok: false }];
  const action = (a: ManualAction["action"], id = a): ManualAction => ({ id, action: a, requestedBy: "bob" });

  function waiting(w: World): CanaryStatus {
    const init = initialised(gated, w);
    w.targetHash = "v2";
    const d = decideCanary(gated, init, observe(w, { webhooks: closed }));
    expect(d.status.phase).toBe("Waiting");
    return d.status;
  }

  it("promote approves the waiting revision", () => {
    const w = world();
    const d = decideCanary(
      gated,
      waiting(w),
      observe(w, { webhooks: closed, manualAction: action("promote") }),
    );
    expect(d.status.phase).toBe("Progressing");
    expect(d.status.lastAppliedSpec).toBe("v2");
  });

  it("promote-full releases it without analysis, promoting the new revision", () => {
    const w = world();
    const d = decideCanary(
      gated,
      waiting(w),
      observe(w, { webhooks: closed, manualAction: action("promote-full") }),
    );
    expect(d.status.phase).toBe("Promoting");
    expect(d.status.lastAppliedSpec).toBe("v2");
    act(w, d.actions);
    const next = decideCanary(gated, d.status, observe(w, { webhooks: closed }));
    expect(next.actions).toContainEqual({ type: "PromoteSpec", replicas: 2 });
  });

  it("abort declines it for good", () => {
    const w = world();
    const d = decideCanary(
      gated,
      waiting(w),
      observe(w, { webhooks: closed, manualAction: action("abort") }),
    );
    expect(d.status.phase).toBe("Failed");
    const later = decideCanary(gated, d.status, observe(w, { webhooks: closed }));
    expect(later.status.phase).toBe("Failed");
  });

  it("a paused canary stays paused when a new revision arrives, and starts it on resume", () => {
    const w = world();
    const init = initialised(spec(), w);
    w.targetHash = "v2";
    const at10 = run(spec(), init, w, pass, 2).status;
    const paused = decideCanary(spec(), at10, observe(w, { manualAction: action("pause") })).status;
    w.targetHash = "v3";
    const held = decideCanary(spec(), paused, observe(w));
    expect(held.status.phase).toBe("Paused");
    expect(held.status.canaryWeight).toBe(10);
    const resumed = decideCanary(spec(), held.status, observe(w, { manualAction: action("resume") }));
    const restarted = decideCanary(spec(), resumed.status, observe(w));
    expect(restarted.status.lastAppliedSpec).toBe("v3");
    expect(restarted.status.canaryWeight).toBe(0);
  });

  it("records an Event for every weight change", () => {
    const w = world();
    const init = initialised(spec(), w);
    w.targetHash = "v2";
    let status = init;
    const moves: string[] = [];
    for (let i = 0; i < 12 && status.phase !== "Succeeded"; i++) {
      const plan = planCanary(spec(), status, new Date(w.now));
      const d = decideCanary(spec(), status, observe(w, { checks: plan.analyse ? pass() : undefined }));
      act(w, d.actions);
      if ((d.status.canaryWeight ?? 0) !== (status.canaryWeight ?? 0)) {
        expect(d.actions.some((a) => a.type === "Event")).toBe(true);
        moves.push(`${status.canaryWeight ?? 0}->${d.status.canaryWeight ?? 0}`);
      }
      status = d.status;
      w.now += 10_000;
    }
    expect(moves).toEqual(["0->10", "10->20", "20->30", "30->0"]);
  });
});

describe("Canary with an adopted VirtualService that is not there", () => {
  it("holds everything and says which field points at what is missing", () => {
    const w = world({ primaryHash: "v1" });
    const status: CanaryStatus = { phase: "Progressing", canaryWeight: 20, lastAppliedSpec: "v1" };
    const problem = "spec.service.virtualServiceRef: VirtualService shop/store not found";
    const d = decideCanary(spec(), status, observe(w, { routingProblem: problem }));
    expect(d.status.canaryWeight).toBe(20);
    expect(d.status.conditions?.[0]).toMatchObject({
      status: "False",
      reason: "VirtualServiceNotFound",
      message: problem,
    });
    expect(d.actions.map((a) => a.type)).toEqual(["Event", "RequeueAfter"]);
    const again = decideCanary(spec(), d.status, observe(w, { routingProblem: problem }));
    expect(again.actions.map((a) => a.type)).toEqual(["RequeueAfter"]);
  });
});

describe("Canary whose objects another rollout manages", () => {
  const conflict =
    "spec.targetRef.name: VirtualService shop/checkout is managed by BlueGreen checkout; one rollout per Deployment";

  it("creates nothing, routes nothing, and says once which object and whose", () => {
    const w = world();
    const d = decideCanary(spec(), {}, observe(w, { conflict }));
    expect(d.status.phase).toBeUndefined();
    expect(d.status.conditions?.[0]).toMatchObject({
      status: "False",
      reason: "ResourceConflict",
      message: conflict,
    });
    expect(d.actions).toEqual([
      { type: "Event", eventType: "Warning", reason: "ResourceConflict", message: conflict },
      { type: "RequeueAfter", ms: 30_000 },
    ]);
    const again = decideCanary(spec(), d.status, observe(w, { conflict }));
    expect(again.actions.map((a) => a.type)).toEqual(["RequeueAfter"]);
  });

  it("holds a running release where it is, and lets go of its finalizer so it can be deleted", () => {
    const w = world({ primaryHash: "v1", targetHash: "v2" });
    const status: CanaryStatus = { phase: "Progressing", canaryWeight: 20, lastAppliedSpec: "v2" };
    const s = spec({}, { revertOnDeletion: true });
    const d = decideCanary(s, status, observe(w, { conflict, finalizer: true, deleting: true }));
    expect(d.status.canaryWeight).toBe(20);
    expect(d.actions.map((a) => a.type)).toEqual(["SetFinalizer", "Event", "RequeueAfter"]);
    expect(d.actions[0]).toEqual({ type: "SetFinalizer", present: false });
  });

  it("starts once the other rollout is gone", () => {
    const w = world();
    const held = decideCanary(spec(), {}, observe(w, { conflict }));
    const d = decideCanary(spec(), held.status, observe(w));
    expect(d.status.phase).toBe("Initializing");
    expect(d.actions.map((a) => a.type)).toContain("PromoteSpec");
  });
});
