import { describe, expect, it } from "vitest";
import { BlueGreenSpec, type BlueGreenStatus, type Colour } from "../../src/api/bluegreen.ts";
import {
  type BlueGreenAction,
  type BlueGreenObservations,
  type BlueGreenRouting,
  decideBlueGreen,
  planBlueGreen,
  postSwitchMetrics,
  routingFor,
} from "../../src/strategies/bluegreen.ts";
import type {
  CheckResult,
  EngineAction,
  ManualAction,
  ManualActionName,
  WebhookResult,
} from "../../src/strategies/decision.ts";

const t0 = Date.parse("2026-11-22T10:00:00Z");
type Action = BlueGreenAction | EngineAction;

function spec(over: Record<string, unknown> = {}, analysis: Record<string, unknown> = {}): BlueGreenSpec {
  return BlueGreenSpec.parse({
    targetRef: { name: "shop" },
    service: { port: 80 },
    preview: { match: [{ headers: { "x-env": { exact: "preview" } } }] },
    analysis: {
      interval: "10s",
      threshold: 2,
      iterations: 2,
      metrics: [{ name: "request-success-rate", thresholdRange: { min: 99 } }],
      ...analysis,
    },
    switch: { steps: [10, 100] },
    scaleDownDelay: "60s",
    ...over,
  });
}

interface ColourState {
  exists: boolean;
  hash?: string;
  replicas: number;
  ready: boolean;
}

/** A small pure world: the Deployments and the routing as the actions leave them. */
interface World {
  now: number;
  targetExists: boolean;
  targetHash: string;
  targetReplicas: number;
  colours: Record<Colour, ColourState>;
  /** Whether a colour is ready right after it is deployed. */
  readyOnDeploy: boolean;
  routing?: BlueGreenRouting;
  /** Every cluster-changing action, in order. */
  log: BlueGreenAction[];
}

function world(over: Partial<World> = {}): World {
  return {
    now: t0,
    targetExists: true,
    targetHash: "v1",
    targetReplicas: 3,
    colours: {
      blue: { exists: false, replicas: 0, ready: false },
      green: { exists: false, replicas: 0, ready: false },
    },
    readyOnDeploy: true,
    log: [],
    ...over,
  };
}

function observe(w: World, more: Partial<BlueGreenObservations> = {}): BlueGreenObservations {
  const colour = (c: ColourState) => ({
    exists: c.exists,
    templateHash: c.hash,
    replicas: c.replicas,
    readyReplicas: c.ready ? c.replicas : 0,
    ready: c.ready && c.replicas > 0,
  });
  return {
    now: new Date(w.now),
    generation: 1,
    target: {
      exists: w.targetExists,
      templateHash: w.targetHash,
      replicas: w.targetReplicas,
      readyReplicas: w.targetReplicas,
      ready: w.targetReplicas > 0,
    },
    colours: { blue: colour(w.colours.blue), green: colour(w.colours.green) },
    ...more,
  };
}

function act(w: World, actions: Action[]): void {
  for (const a of actions) {
    if (a.type === "Event" || a.type === "Notify" || a.type === "RequeueAfter") continue;
    w.log.push(a);
    if (a.type === "DeployColour") {
      w.colours[a.colour] = { exists: true, hash: a.revision, replicas: a.replicas, ready: w.readyOnDeploy };
    }
    if (a.type === "ScaleColour") w.colours[a.colour].replicas = a.replicas;
    if (a.type === "ScaleTarget") w.targetReplicas = a.replicas;
    if (a.type === "SetRouting") w.routing = a.routing;
  }
}

const pass = (): CheckResult[] => [{ name: "request-success-rate", verdict: "Pass", value: 100 }];
const fail = (): CheckResult[] => [
  { name: "request-success-rate", verdict: "Fail", value: 50, message: "50 is below the minimum 99" },
];
const unavailable = (): CheckResult[] => [
  { name: "request-success-rate", verdict: "Unavailable", message: "no data" },
];

function webhookAnswers(s: BlueGreenSpec, ok: (name: string) => boolean): WebhookResult[] {
  return s.analysis.webhooks.map((h) => ({ name: h.name, type: h.type, ok: ok(h.name) }));
}

interface RunOptions {
  checks?: () => CheckResult[];
  webhooks?: (s: BlueGreenSpec) => WebhookResult[];
  steps?: number;
  /** Stop as soon as the status is in one of these phases. */
  until?: string[];
}

/** A trace: the green weight and preview target after each decision, and the phases passed. */
interface Run {
  status: BlueGreenStatus;
  phases: string[];
  /** Distinct (green weight, preview colour) states of the routing, in order. */
  routes: string[];
}

function routeKey(r: BlueGreenRouting | undefined): string {
  if (!r) return "none";
  return `green ${r.weights.green}${r.preview ? ` preview ${r.preview}` : ""}`;
}

/**
 * What the adapter observes as routingApplied: does the routing in the world (the
 * VirtualService and the apex Service) carry the routing the status records?
 */
function routed(s: BlueGreenSpec, status: BlueGreenStatus, w: World): boolean | undefined {
  const want = routingFor(s, status);
  if (!want) return undefined;
  const have = w.routing;
  return (
    have !== undefined &&
    have.active === want.active &&
    have.preview === want.preview &&
    have.weights.blue === want.weights.blue &&
    have.weights.green === want.weights.green
  );
}

/** Reconciles like the controller does: plan, observe, decide, act, wait for the requeue. */
function run(s: BlueGreenSpec, status: BlueGreenStatus, w: World, options: RunOptions = {}): Run {
  const { checks = pass, webhooks = () => [], steps = 60, until = [] } = options;
  const phases: string[] = [];
  const routes: string[] = [];
  let current = status;
  for (let i = 0; i < steps; i++) {
    const obs = observe(w, { routingApplied: routed(s, current, w) });
    const plan = planBlueGreen(s, current, {
      now: obs.now,
      candidateReady:
        current.candidateColour !== undefined &&
        obs.colours[current.candidateColour].ready &&
        obs.colours[current.candidateColour].templateHash === current.lastAppliedSpec,
      pendingAction: false,
      routingApplied: obs.routingApplied,
    });
    const d = decideBlueGreen(s, current, {
      ...obs,
      checks: plan.metrics.length > 0 ? checks() : undefined,
      webhooks: plan.gates.length > 0 ? webhooks(s).filter((h) => plan.gates.includes(h.type)) : undefined,
    });
    act(w, d.actions);
    current = d.status;
    if (phases.at(-1) !== current.phase) phases.push(current.phase ?? "");
    if (routes.at(-1) !== routeKey(w.routing)) routes.push(routeKey(w.routing));
    if (until.includes(current.phase ?? "")) break;
    const requeue = d.actions.find((a) => a.type === "RequeueAfter");
    if (requeue?.type !== "RequeueAfter") break;
    w.now += requeue.ms;
  }
  return { status: current, phases, routes };
}

function initialised(s: BlueGreenSpec, w: World): BlueGreenStatus {
  const r = run(s, {}, w);
  expect(r.status.phase).toBe("Initialized");
  w.log = [];
  return r.status;
}

function manual(action: ManualActionName, id = `${action}-1`): ManualAction {
  return { id, action, requestedBy: "alice", requestedAt: new Date(t0).toISOString() };
}

function ready(status: BlueGreenStatus) {
  return status.conditions?.find((c) => c.type === "Ready");
}

function clusterActions(actions: Action[]): BlueGreenAction[] {
  return actions.filter(
    (a): a is BlueGreenAction => a.type !== "Event" && a.type !== "Notify" && a.type !== "RequeueAfter",
  );
}

/** A release of v2 run until it reaches `phase`. */
function releasedTo(s: BlueGreenSpec, w: World, phase: string, options: RunOptions = {}): BlueGreenStatus {
  const init = initialised(s, w);
  w.targetHash = "v2";
  const r = run(s, init, w, { ...options, until: [phase] });
  expect(r.status.phase).toBe(phase);
  return r.status;
}

describe("BlueGreen initialisation", () => {
  it("copies the target into blue, routes all traffic to it once ready, then scales the target to 0", () => {
    const s = spec();
    const w = world({ readyOnDeploy: false });
    const first = decideBlueGreen(s, {}, observe(w));
    expect(first.status.phase).toBe("Initializing");
    expect(first.status.activeColour).toBe("blue");
    expect(clusterActions(first.actions)).toEqual([
      { type: "DeployColour", colour: "blue", revision: "v1", replicas: 3 },
    ]);
    act(w, first.actions);

    const waiting = decideBlueGreen(s, first.status, observe(w));
    expect(waiting.status.phase).toBe("Initializing");
    expect(ready(waiting.status)?.message).toMatch(/waiting for shop-blue to become ready/);
    expect(clusterActions(waiting.actions)).toEqual([]);

    w.colours.blue.ready = true;
    const done = decideBlueGreen(s, waiting.status, observe(w));
    expect(done.status).toMatchObject({
      phase: "Initialized",
      activeColour: "blue",
      lastAppliedSpec: "v1",
      lastPromotedSpec: "v1",
      canaryWeight: 0,
    });
    expect(clusterActions(done.actions)).toEqual([
      { type: "SetRouting", routing: { active: "blue", weights: { blue: 100, green: 0 } } },
      { type: "ScaleTarget", replicas: 0 },
    ]);
    expect(ready(done.status)?.status).toBe("True");
  });

  it("re-copies the target when its template changes before blue is ready", () => {
    const s = spec();
    const w = world({ readyOnDeploy: false });
    const first = decideBlueGreen(s, {}, observe(w));
    act(w, first.actions);
    w.targetHash = "v1b";
    const again = decideBlueGreen(s, first.status, observe(w));
    expect(clusterActions(again.actions)).toEqual([
      { type: "DeployColour", colour: "blue", revision: "v1b", replicas: 3 },
    ]);
  });

  it("fails at the deadline without routing or scaling the target, finishes if blue becomes ready, and can be retried", () => {
    const s = spec({ progressDeadlineSeconds: 30 });
    const w = world({ readyOnDeploy: false });
    const r = run(s, {}, w, { steps: 40, until: ["Failed"] });
    expect(r.status.phase).toBe("Failed");
    expect(ready(r.status)?.reason).toBe("ProgressDeadlineExceeded");
    expect(w.routing).toBeUndefined();
    expect(w.targetReplicas).toBe(3);
    expect(w.log.map((a) => a.type)).toEqual(["DeployColour"]);

    const retried = decideBlueGreen(s, r.status, observe(w, { manualAction: manual("retry") }));
    expect(retried.status.phase).toBe("Initializing");
    expect(retried.status.lastAction?.result).toBe("restarted");
    expect(retried.status.waitingSince).toBe(new Date(w.now).toISOString());

    w.colours.blue.ready = true;
    const late = decideBlueGreen(s, r.status, observe(w));
    expect(late.status.phase).toBe("Initialized");
  });

  it("ignores manual actions until a colour serves", () => {
    const s = spec();
    const w = world({ readyOnDeploy: false });
    const first = decideBlueGreen(s, {}, observe(w));
    act(w, first.actions);
    const d = decideBlueGreen(s, first.status, observe(w, { manualAction: manual("promote") }));
    expect(d.status.lastAction?.result).toMatch(/^ignored/);
    expect(ready(d.status)?.reason).toBe("ActionIgnored");
  });

  it("reports a missing target without acting", () => {
    const d = decideBlueGreen(spec(), {}, observe(world({ targetExists: false })));
    expect(ready(d.status)?.reason).toBe("TargetNotFound");
    expect(clusterActions(d.actions)).toEqual([]);
    expect(d.actions).toContainEqual(
      expect.objectContaining({ type: "Event", eventType: "Warning", reason: "TargetNotFound" }),
    );
  });
});

describe("BlueGreen whose objects another rollout manages", () => {
  const conflict =
    "spec.targetRef.name: VirtualService shop/shop is managed by Canary shop; one rollout per Deployment";

  it("creates and routes nothing, says once which object and whose, and starts once it is gone", () => {
    const w = world();
    const d = decideBlueGreen(spec(), {}, observe(w, { conflict }));
    expect(clusterActions(d.actions)).toEqual([]);
    expect(ready(d.status)).toMatchObject({ status: "False", reason: "ResourceConflict", message: conflict });
    expect(d.actions).toContainEqual({
      type: "Event",
      eventType: "Warning",
      reason: "ResourceConflict",
      message: conflict,
    });
    const again = decideBlueGreen(spec(), d.status, observe(w, { conflict }));
    expect(again.actions.map((a) => a.type)).toEqual(["RequeueAfter"]);
    const free = decideBlueGreen(spec(), again.status, observe(w));
    expect(clusterActions(free.actions).length).toBeGreaterThan(0);
    expect(ready(free.status)?.reason).not.toBe("ResourceConflict");
  });

  it("holds a release mid-switch without moving traffic", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const switching = run(s, init, w, { until: ["Switching"] }).status;
    const d = decideBlueGreen(s, switching, observe(w, { conflict }));
    expect(clusterActions(d.actions)).toEqual([]);
    expect(d.status.canaryWeight).toBe(switching.canaryWeight);
    expect(d.status.phase).toBe("Switching");
  });
});

describe("BlueGreen release", () => {
  it("deploys the candidate, previews it, analyses, switches 10% then 100%, and keeps the old colour for scaleDownDelay", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const r = run(s, init, w, { until: ["Succeeded"] });
    expect(r.phases).toEqual(["Progressing", "Switching", "Succeeded"]);
    expect(r.routes).toEqual(["green 0", "green 0 preview green", "green 10 preview green", "green 100"]);
    expect(r.status).toMatchObject({
      activeColour: "green",
      candidateColour: undefined,
      canaryWeight: 0,
      lastAppliedSpec: "v2",
      lastPromotedSpec: "v2",
      iterations: 2,
      switchStep: 2,
    });
    expect(w.colours.green).toMatchObject({ hash: "v2", replicas: 3 });
    // The previous colour is still up, and scaled down once scaleDownAt has passed.
    expect(w.colours.blue.replicas).toBe(3);
    expect(Date.parse(r.status.scaleDownAt ?? "")).toBe(w.now + 60_000);
    const after = run(s, r.status, w);
    expect(w.now).toBeGreaterThanOrEqual(Date.parse(r.status.scaleDownAt ?? ""));
    expect(w.colours.blue.replicas).toBe(0);
    expect(after.status.phase).toBe("Succeeded");
    expect(w.log.filter((a) => a.type === "ScaleColour")).toEqual([
      { type: "ScaleColour", colour: "blue", replicas: 0 },
    ]);
  });

  it("routes before deploying: the candidate's first DeployColour follows a SetRouting at 0%", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const d = decideBlueGreen(s, init, observe(w));
    expect(d.status).toMatchObject({ phase: "Progressing", candidateColour: "green", lastAppliedSpec: "v2" });
    expect(clusterActions(d.actions)).toEqual([
      { type: "SetRouting", routing: { active: "blue", weights: { blue: 100, green: 0 } } },
      { type: "DeployColour", colour: "green", revision: "v2", replicas: 3 },
    ]);
  });

  it("alternates colours: the next release goes to blue", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const first = run(s, init, w, { until: ["Succeeded"] });
    w.targetHash = "v3";
    const second = run(s, first.status, w, { until: ["Succeeded"] });
    expect(second.status.activeColour).toBe("blue");
    expect(w.colours.blue.hash).toBe("v3");
    expect(second.routes.at(-1)).toBe("green 0");
  });

  it("switches at once with steps [100]", () => {
    const s = spec({ switch: { steps: [100] } });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const r = run(s, init, w, { until: ["Succeeded"] });
    expect(r.routes).toEqual(["green 0", "green 0 preview green", "green 100"]);
  });

  it("switches as soon as the candidate is ready with iterations 0", () => {
    const s = spec({}, { iterations: 0 });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const r = run(s, init, w, { until: ["Switching"] });
    expect(r.status.iterations).toBe(0);
    expect(r.status.canaryWeight).toBe(10);
  });

  it("holds each step below 100% for switch.stepInterval, checking every interval", () => {
    const s = spec({ switch: { steps: [10, 50, 100], stepInterval: "30s" } });
    const w = world();
    const at10 = releasedTo(s, w, "Switching");
    const stepStart = Date.parse(at10.stepStartTime ?? "");
    const r = run(s, at10, w, { until: ["Succeeded"] });
    expect(r.routes).toEqual(["green 10 preview green", "green 50 preview green", "green 100"]);
    expect(w.now - stepStart).toBeGreaterThanOrEqual(60_000);
  });

  it("waits for the candidate's pods and rolls back when they are not ready by the deadline", () => {
    const s = spec({ progressDeadlineSeconds: 30 });
    const w = world();
    const init = initialised(s, w);
    w.readyOnDeploy = false;
    w.targetHash = "v2";
    const r = run(s, init, w, { until: ["Failed"] });
    expect(r.status.phase).toBe("Failed");
    expect(ready(r.status)?.message).toMatch(/shop-green not ready within 30s/);
    expect(r.routes).toEqual(["green 0"]);
    expect(w.colours.green.replicas).toBe(0);
  });

  it("uses the active colour's replica count for the candidate", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.colours.blue.replicas = 5;
    w.targetHash = "v2";
    run(s, init, w, { until: ["Switching"] });
    expect(w.colours.green.replicas).toBe(5);
  });

  it("keeps the target at 0 replicas when something scales it up", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetReplicas = 2;
    const d = decideBlueGreen(s, init, observe(w));
    expect(clusterActions(d.actions)).toContainEqual({ type: "ScaleTarget", replicas: 0 });
  });
});

describe("BlueGreen analysis", () => {
  it("never switches a failing candidate: rolls back at the threshold with no traffic moved", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const r = run(s, init, w, { checks: fail, until: ["Failed"] });
    expect(r.status).toMatchObject({
      phase: "Failed",
      failedChecks: 2,
      activeColour: "blue",
      canaryWeight: 0,
    });
    expect(r.routes).toEqual(["green 0", "green 0 preview green", "green 0"]);
    expect(ready(r.status)?.message).toMatch(/2 failed checks \(threshold 2\)/);
    expect(w.colours.green.replicas).toBe(0);
  });

  it("rolls back with one routing change first, then scales the candidate down", () => {
    const s = spec();
    const w = world();
    const progressing = releasedTo(s, w, "Progressing", { checks: fail });
    // One failed round already (threshold 2); the next fails too.
    const failing = run(s, progressing, w, { checks: fail, steps: 3, until: ["Failed"] });
    expect(failing.status.phase).toBe("Failed");
    const last = w.log.slice(w.log.findLastIndex((a) => a.type === "SetRouting"));
    expect(last).toEqual([
      { type: "SetRouting", routing: { active: "blue", weights: { blue: 100, green: 0 } } },
      { type: "ScaleColour", colour: "green", replicas: 0 },
    ]);
  });

  it("counts a failed check and carries on when the next round passes", () => {
    const s = spec({}, { threshold: 3 });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    let round = 0;
    const r = run(s, init, w, { checks: () => (++round === 1 ? fail() : pass()), until: ["Succeeded"] });
    expect(r.status.failedChecks).toBe(1);
    expect(r.status.phase).toBe("Succeeded");
  });

  it("holds while metrics are unavailable and never switches, with the hold policy", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const r = run(s, init, w, { checks: unavailable, steps: 30 });
    expect(r.status.phase).toBe("Progressing");
    expect(r.status.canaryWeight).toBe(0);
    expect(r.status.unavailableChecks).toBeGreaterThan(10);
    expect(r.status.failedChecks).toBe(0);
    expect(ready(r.status)?.reason).toBe("MetricsUnavailable");
    expect(r.routes).toEqual(["green 0", "green 0 preview green"]);
  });

  it("resumes once metrics come back", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    let round = 0;
    const r = run(s, init, w, {
      checks: () => (++round <= 4 ? unavailable() : pass()),
      until: ["Succeeded"],
    });
    expect(r.status.phase).toBe("Succeeded");
    expect(r.status.unavailableChecks).toBe(0);
  });

  it("holds the switch step while metrics are unavailable", () => {
    const s = spec();
    const w = world();
    const at10 = releasedTo(s, w, "Switching");
    const r = run(s, at10, w, { checks: unavailable, steps: 10 });
    expect(r.status.canaryWeight).toBe(10);
    expect(r.routes).toEqual(["green 10 preview green"]);
  });

  it("rolls back after N unavailable rounds with the rollback policy", () => {
    const s = spec({}, { metricsUnavailable: { action: "rollback", after: 3 } });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const r = run(s, init, w, { checks: unavailable, until: ["Failed"] });
    expect(r.status.phase).toBe("Failed");
    expect(r.status.unavailableChecks).toBe(3);
    expect(ready(r.status)?.message).toMatch(/metrics unavailable for 3 rounds/);
  });

  it("rolls back after the switch when post-switch analysis fails", () => {
    const s = spec({}, { postSwitchIterations: 3 });
    const w = world();
    const verifying = releasedTo(s, w, "Verifying");
    expect(verifying.canaryWeight).toBe(100);
    expect(routeKey(w.routing)).toBe("green 100 preview green");
    w.log = [];
    const r = run(s, verifying, w, { checks: fail, until: ["Failed"] });
    expect(r.status).toMatchObject({ phase: "Failed", activeColour: "blue", canaryWeight: 0 });
    const routings = w.log.filter((a) => a.type === "SetRouting");
    // Straight from 100% to 0%: no step in between.
    expect(new Set(routings.map((a) => (a.type === "SetRouting" ? routeKey(a.routing) : "")))).toEqual(
      new Set(["green 100 preview green", "green 0"]),
    );
    expect(w.colours.green.replicas).toBe(0);
  });

  it("succeeds after the post-switch rounds pass", () => {
    const s = spec({}, { postSwitchIterations: 2 });
    const w = world();
    const verifying = releasedTo(s, w, "Verifying");
    const r = run(s, verifying, w, { until: ["Succeeded"] });
    expect(r.status).toMatchObject({ phase: "Succeeded", postSwitchIterations: 2, activeColour: "green" });
  });

  it("asks post-switch rounds only the checks that do not compare with the previous colour", () => {
    const metrics = [
      { name: "request-success-rate", thresholdRange: { min: 99 }, maxIncreaseOverPrimary: 1 },
      { name: "request-duration", maxIncreaseOverPrimary: 10 },
    ];
    const s = spec({}, { postSwitchIterations: 1, metrics });
    expect(postSwitchMetrics(s.analysis.metrics)).toEqual([
      { name: "request-success-rate", thresholdRange: { min: 99 }, maxIncreaseOverPrimary: undefined },
    ]);
    const w = world();
    const verifying = releasedTo(s, w, "Verifying");
    const plan = planBlueGreen(s, verifying, {
      now: new Date(w.now + 10_000),
      candidateReady: true,
      pendingAction: false,
    });
    expect(plan.metrics.map((m) => m.name)).toEqual(["request-success-rate"]);
    const before = planBlueGreen(
      s,
      { ...verifying, phase: "Switching" },
      {
        now: new Date(w.now + 10_000),
        candidateReady: true,
        pendingAction: false,
      },
    );
    expect(before.metrics).toHaveLength(2);
  });

  it("rolls back when a rollback webhook answers 2xx, and counts a failing rollout webhook", () => {
    const hooks = [
      { name: "stop", type: "rollback", url: "http://hooks/stop" },
      { name: "smoke", type: "rollout", url: "http://hooks/smoke" },
    ];
    const s = spec({}, { webhooks: hooks, threshold: 5 });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    let stop = false;
    const webhooks = (sp: BlueGreenSpec) => webhookAnswers(sp, (n) => (n === "stop" ? stop : false));
    const counted = run(s, init, w, { webhooks, steps: 4 });
    expect(counted.status.failedChecks).toBeGreaterThan(0);
    expect(ready(counted.status)?.message).toMatch(/rollout webhook smoke/);
    stop = true;
    const r = run(s, counted.status, w, { webhooks, until: ["Failed"] });
    expect(ready(r.status)?.message).toMatch(/rollback webhook stop asked for it/);
  });
});

describe("BlueGreen gates", () => {
  it("holds a new revision at a closed confirm-rollout gate, then starts it", () => {
    const s = spec({}, { webhooks: [{ name: "window", type: "confirm-rollout", url: "http://hooks/w" }] });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    let open = false;
    const webhooks = (sp: BlueGreenSpec) => webhookAnswers(sp, () => open);
    const held = run(s, init, w, { webhooks, steps: 5 });
    expect(held.status.phase).toBe("Waiting");
    expect(ready(held.status)?.reason).toBe("WaitingForGate");
    expect(w.colours.green.exists).toBe(false);
    open = true;
    const r = run(s, held.status, w, { webhooks, until: ["Succeeded"] });
    expect(r.status.phase).toBe("Succeeded");
  });

  it("goes back to Succeeded when the target returns to the released revision while waiting", () => {
    const s = spec({}, { webhooks: [{ name: "window", type: "confirm-rollout", url: "http://hooks/w" }] });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const held = run(s, init, w, { steps: 2 });
    expect(held.status.phase).toBe("Waiting");
    w.targetHash = "v1";
    const d = decideBlueGreen(s, held.status, observe(w));
    expect(d.status.phase).toBe("Succeeded");
  });

  it("a failed pre-rollout webhook counts, keeps the preview off, and rolls back at the threshold", () => {
    const s = spec({}, { webhooks: [{ name: "smoke", type: "pre-rollout", url: "http://hooks/s" }] });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const r = run(s, init, w, { webhooks: (sp) => webhookAnswers(sp, () => false), until: ["Failed"] });
    expect(r.status.phase).toBe("Failed");
    expect(r.routes).toEqual(["green 0"]);
    expect(ready(r.status)?.message).toMatch(/pre-rollout webhook smoke failed 2 times/);
  });

  it("waits at a closed confirm-promotion gate before the switch, analysing all the while", () => {
    const s = spec({}, { webhooks: [{ name: "ok", type: "confirm-promotion", url: "http://hooks/ok" }] });
    const w = world();
    let open = false;
    const webhooks = (sp: BlueGreenSpec) => webhookAnswers(sp, () => open);
    const waiting = releasedTo(s, w, "WaitingPromotion", { webhooks });
    expect(ready(waiting)?.reason).toBe("WaitingForGate");
    const held = run(s, waiting, w, { webhooks, steps: 5 });
    expect(held.status.phase).toBe("WaitingPromotion");
    expect(held.status.canaryWeight).toBe(0);
    open = true;
    const r = run(s, held.status, w, { webhooks, until: ["Switching"] });
    expect(r.status.canaryWeight).toBe(10);
  });

  it("holds a switch step at a closed confirm-traffic-increase gate", () => {
    const s = spec(
      {},
      { webhooks: [{ name: "more", type: "confirm-traffic-increase", url: "http://hooks/m" }] },
    );
    const w = world();
    const at10 = releasedTo(s, w, "Switching", { webhooks: (sp) => webhookAnswers(sp, () => false) });
    const held = run(s, at10, w, { webhooks: (sp) => webhookAnswers(sp, () => false), steps: 6 });
    expect(held.status.canaryWeight).toBe(10);
    expect(ready(held.status)?.reason).toBe("WaitingForGate");
    const r = run(s, held.status, w, {
      webhooks: (sp) => webhookAnswers(sp, () => true),
      until: ["Succeeded"],
    });
    expect(r.status.phase).toBe("Succeeded");
  });
});

describe("BlueGreen autoPromote: false", () => {
  it("waits before the switch with checks still running, and a promotion starts the switch", () => {
    const s = spec({ autoPromote: false });
    const w = world();
    const waiting = releasedTo(s, w, "WaitingPromotion");
    expect(ready(waiting)?.reason).toBe("WaitingPromotion");
    expect(ready(waiting)?.message).toMatch(/kubectl wren promote/);
    const held = run(s, waiting, w, { steps: 10 });
    expect(held.status.phase).toBe("WaitingPromotion");
    expect(Date.parse(held.status.lastStepTime ?? "")).toBeGreaterThan(
      Date.parse(waiting.lastStepTime ?? ""),
    );
    expect(routeKey(w.routing)).toBe("green 0 preview green");

    const promoted = decideBlueGreen(s, held.status, observe(w, { manualAction: manual("promote") }));
    expect(promoted.status).toMatchObject({ phase: "Switching", canaryWeight: 10, switchStep: 1 });
    expect(promoted.status.lastAction).toMatchObject({ id: "promote-1", result: "switch started" });
    act(w, promoted.actions);
    const r = run(s, promoted.status, w, { until: ["Succeeded"] });
    expect(r.status.phase).toBe("Succeeded");
  });

  it("still rolls back a candidate whose checks fail during the wait", () => {
    const s = spec({ autoPromote: false });
    const w = world();
    const waiting = releasedTo(s, w, "WaitingPromotion");
    const r = run(s, waiting, w, { checks: fail, until: ["Failed"] });
    expect(r.status.phase).toBe("Failed");
  });
});

describe("BlueGreen manual actions", () => {
  it.each(["Progressing", "WaitingPromotion", "Switching", "Verifying"])(
    "abort in %s: all traffic back on the active colour in the first action, consumed once",
    (phase) => {
      const waitsForPromote = phase === "WaitingPromotion" || phase === "Verifying";
      const s = spec({ autoPromote: !waitsForPromote }, { postSwitchIterations: 2 });
      const w = world();
      let status = releasedTo(s, w, phase === "Verifying" ? "WaitingPromotion" : phase);
      if (phase === "Verifying") {
        for (const id of ["p1", "p2"]) {
          const p = decideBlueGreen(s, status, observe(w, { manualAction: manual("promote", id) }));
          act(w, p.actions);
          status = p.status;
        }
      }
      expect(status.phase).toBe(phase);
      const abort = manual("abort");
      const d = decideBlueGreen(s, status, observe(w, { manualAction: abort }));
      expect(d.status).toMatchObject({ phase: "Failed", activeColour: "blue", canaryWeight: 0 });
      expect(d.status.lastAction).toMatchObject({
        id: "abort-1",
        result: "rolled back",
        requestedBy: "alice",
      });
      expect(clusterActions(d.actions)[0]).toEqual({
        type: "SetRouting",
        routing: { active: "blue", weights: { blue: 100, green: 0 } },
      });
      expect(d.actions).toContainEqual(
        expect.objectContaining({ type: "Event", eventType: "Warning", reason: "RolledBack" }),
      );
      act(w, d.actions);
      const again = decideBlueGreen(s, d.status, observe(w, { manualAction: abort }));
      expect(again.status.lastAction).toEqual(d.status.lastAction);
      expect(again.status.phase).toBe("Failed");
    },
  );

  it("abort right after a successful switch sends everything back to the previous colour, still running", () => {
    const s = spec();
    const w = world();
    const succeeded = releasedTo(s, w, "Succeeded");
    expect(w.colours.blue.replicas).toBe(3);
    const d = decideBlueGreen(s, succeeded, observe(w, { manualAction: manual("abort") }));
    expect(d.status).toMatchObject({
      phase: "Failed",
      activeColour: "blue",
      candidateColour: "green",
      lastPromotedSpec: "v1",
      lastAppliedSpec: "v2",
      scaleDownAt: undefined,
    });
    expect(clusterActions(d.actions)).toEqual([
      { type: "SetRouting", routing: { active: "blue", weights: { blue: 100, green: 0 } } },
      { type: "ScaleColour", colour: "green", replicas: 0 },
    ]);
    act(w, d.actions);
    // The failed revision is not released again by itself.
    const idle = decideBlueGreen(s, d.status, observe(w));
    expect(idle.status.phase).toBe("Failed");
    expect(clusterActions(idle.actions).filter((a) => a.type !== "SetRouting")).toEqual([]);
  });

  it("abort after scaleDownDelay is ignored: the previous colour is gone", () => {
    const s = spec();
    const w = world();
    const succeeded = releasedTo(s, w, "Succeeded");
    const later = run(s, succeeded, w).status;
    expect(w.colours.blue.replicas).toBe(0);
    const d = decideBlueGreen(s, later, observe(w, { manualAction: manual("abort") }));
    expect(d.status.phase).toBe("Succeeded");
    expect(d.status.lastAction?.result).toMatch(/^ignored/);
    expect(d.status.activeColour).toBe("green");
  });

  it("abort while waiting at a gate declines the revision", () => {
    const s = spec({}, { webhooks: [{ name: "w", type: "confirm-rollout", url: "http://hooks/w" }] });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const waiting = run(s, init, w, { steps: 2 }).status;
    const d = decideBlueGreen(s, waiting, observe(w, { manualAction: manual("abort") }));
    expect(d.status).toMatchObject({ phase: "Failed", lastAppliedSpec: "v2" });
    expect(d.status.lastAction?.result).toBe("declined");
    act(w, d.actions);
    expect(decideBlueGreen(s, d.status, observe(w)).status.phase).toBe("Failed");
  });

  it("promote approves a waiting revision", () => {
    const s = spec({}, { webhooks: [{ name: "w", type: "confirm-rollout", url: "http://hooks/w" }] });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const waiting = run(s, init, w, { steps: 2 }).status;
    const d = decideBlueGreen(s, waiting, observe(w, { manualAction: manual("promote") }));
    expect(d.status).toMatchObject({ phase: "Progressing", candidateColour: "green" });
  });

  it("promote in Progressing switches once the candidate is ready, and is ignored before", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.readyOnDeploy = false;
    w.targetHash = "v2";
    const started = decideBlueGreen(s, init, observe(w));
    act(w, started.actions);
    const early = decideBlueGreen(s, started.status, observe(w, { manualAction: manual("promote") }));
    expect(early.status.phase).toBe("Progressing");
    expect(early.status.lastAction?.result).toMatch(/ignored: shop-green is not ready yet/);
    w.colours.green.ready = true;
    const d = decideBlueGreen(s, early.status, observe(w, { manualAction: manual("promote", "p2") }));
    expect(d.status).toMatchObject({ phase: "Switching", canaryWeight: 10 });
  });

  it("promote in Switching takes exactly one step; in Verifying it finishes", () => {
    const s = spec({ switch: { steps: [10, 50, 100] } }, { postSwitchIterations: 5 });
    const w = world();
    const at10 = releasedTo(s, w, "Switching");
    const to50 = decideBlueGreen(s, at10, observe(w, { manualAction: manual("promote", "a") }));
    expect(to50.status.canaryWeight).toBe(50);
    expect(to50.status.lastAction?.result).toBe("advanced one step");
    const to100 = decideBlueGreen(s, to50.status, observe(w, { manualAction: manual("promote", "b") }));
    expect(to100.status).toMatchObject({ phase: "Verifying", canaryWeight: 100 });
    const done = decideBlueGreen(s, to100.status, observe(w, { manualAction: manual("promote", "c") }));
    expect(done.status).toMatchObject({ phase: "Succeeded", activeColour: "green" });
  });

  it("promote --full switches straight to 100% as soon as the candidate is ready", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.readyOnDeploy = false;
    w.targetHash = "v2";
    const started = decideBlueGreen(s, init, observe(w));
    act(w, started.actions);
    const full = decideBlueGreen(s, started.status, observe(w, { manualAction: manual("promote-full") }));
    expect(full.status).toMatchObject({ phase: "Progressing", fullPromotion: true });
    act(w, full.actions);
    w.colours.green.ready = true;
    const d = decideBlueGreen(s, full.status, observe(w));
    expect(d.status).toMatchObject({ phase: "Succeeded", activeColour: "green" });
    expect(clusterActions(d.actions)[0]).toEqual({
      type: "SetRouting",
      routing: { active: "green", weights: { blue: 0, green: 100 } },
    });
  });

  it("promote --full during the switch finishes it; in Waiting it starts a release that switches when ready", () => {
    const s = spec();
    const w = world();
    const at10 = releasedTo(s, w, "Switching");
    const d = decideBlueGreen(s, at10, observe(w, { manualAction: manual("promote-full") }));
    expect(d.status.phase).toBe("Succeeded");

    const gated = spec({}, { webhooks: [{ name: "w", type: "confirm-rollout", url: "http://hooks/w" }] });
    const w2 = world();
    const init = initialised(gated, w2);
    w2.targetHash = "v2";
    const waiting = run(gated, init, w2, { steps: 2 }).status;
    const full = decideBlueGreen(gated, waiting, observe(w2, { manualAction: manual("promote-full") }));
    expect(full.status).toMatchObject({
      phase: "Progressing",
      fullPromotion: true,
      candidateColour: "green",
    });
    act(w2, full.actions);
    expect(decideBlueGreen(gated, full.status, observe(w2)).status.phase).toBe("Succeeded");
  });

  it("pause freezes the weights and the checks; resume continues; promote is ignored while paused", () => {
    const s = spec();
    const w = world();
    const at10 = releasedTo(s, w, "Switching");
    const paused = decideBlueGreen(s, at10, observe(w, { manualAction: manual("pause") }));
    expect(paused.status).toMatchObject({ phase: "Paused", resumePhase: "Switching" });
    act(w, paused.actions);
    expect(
      planBlueGreen(s, paused.status, {
        now: new Date(w.now + 60_000),
        candidateReady: true,
        pendingAction: false,
      }),
    ).toEqual({ metrics: [], gates: [] });
    w.now += 60_000;
    const still = decideBlueGreen(s, paused.status, observe(w, { checks: fail() }));
    expect(still.status.phase).toBe("Paused");
    expect(routeKey(routingFor(s, still.status))).toBe("green 10 preview green");
    const ignored = decideBlueGreen(s, still.status, observe(w, { manualAction: manual("promote", "x") }));
    expect(ignored.status.lastAction?.result).toMatch(/^ignored/);
    expect(ignored.status.canaryWeight).toBe(10);
    const resumed = decideBlueGreen(s, ignored.status, observe(w, { manualAction: manual("resume", "y") }));
    expect(resumed.status).toMatchObject({ phase: "Switching", canaryWeight: 10, resumePhase: undefined });
  });

  it("a new revision while paused waits for resume", () => {
    const s = spec();
    const w = world();
    const at10 = releasedTo(s, w, "Switching");
    const paused = decideBlueGreen(s, at10, observe(w, { manualAction: manual("pause") }));
    w.targetHash = "v3";
    const d = decideBlueGreen(s, paused.status, observe(w));
    expect(d.status.phase).toBe("Paused");
    expect(ready(d.status)?.message).toMatch(/new revision v3 starts when resumed/);
  });

  it("retry restarts a failed revision without a spec change", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const failed = run(s, init, w, { checks: fail, until: ["Failed"] }).status;
    const d = decideBlueGreen(s, failed, observe(w, { manualAction: manual("retry") }));
    expect(d.status).toMatchObject({
      phase: "Progressing",
      lastAppliedSpec: "v2",
      failedChecks: 0,
      candidateColour: "green",
    });
    act(w, d.actions);
    expect(run(s, d.status, w, { until: ["Succeeded"] }).status.phase).toBe("Succeeded");
  });

  it.each([
    ["retry", "Succeeded"],
    ["resume", "Succeeded"],
    ["pause", "Succeeded"],
    ["promote", "Initialized"],
    ["abort", "Initialized"],
  ] as const)("%s in %s is ignored and says why", (action, phase) => {
    const s = spec();
    const w = world();
    const status = phase === "Initialized" ? initialised(s, w) : releasedTo(s, w, phase);
    const d = decideBlueGreen(s, status, observe(w, { manualAction: manual(action) }));
    expect(d.status.phase).toBe(phase);
    expect(d.status.lastAction?.result).toMatch(/^ignored/);
    expect(d.actions).toContainEqual(expect.objectContaining({ type: "Event", reason: "ActionIgnored" }));
  });
});

describe("BlueGreen new revisions and the cluster changing underneath", () => {
  it("a new revision during the switch sends all traffic back first, then redeploys the candidate", () => {
    const s = spec();
    const w = world();
    const at10 = releasedTo(s, w, "Switching");
    w.targetHash = "v3";
    const d = decideBlueGreen(s, at10, observe(w));
    expect(d.status).toMatchObject({
      phase: "Progressing",
      canaryWeight: 0,
      switchStep: 0,
      lastAppliedSpec: "v3",
    });
    expect(clusterActions(d.actions)).toEqual([
      { type: "SetRouting", routing: { active: "blue", weights: { blue: 100, green: 0 } } },
      { type: "DeployColour", colour: "green", revision: "v3", replicas: 3 },
    ]);
  });

  it("the target reverted to the active colour's revision ends the release", () => {
    const s = spec();
    const w = world();
    const at10 = releasedTo(s, w, "Switching");
    w.targetHash = "v1";
    const d = decideBlueGreen(s, at10, observe(w));
    expect(d.status).toMatchObject({ phase: "Succeeded", activeColour: "blue", canaryWeight: 0 });
    expect(clusterActions(d.actions)).toEqual([
      { type: "SetRouting", routing: { active: "blue", weights: { blue: 100, green: 0 } } },
      { type: "ScaleColour", colour: "green", replicas: 0 },
    ]);
  });

  it("re-creates a deleted active colour from the target only if the target still runs its revision", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.colours.blue = { exists: false, replicas: 0, ready: false };
    const same = decideBlueGreen(s, init, observe(w));
    expect(ready(same.status)?.reason).toBe("ActiveColourNotFound");
    expect(clusterActions(same.actions)).toContainEqual({
      type: "DeployColour",
      colour: "blue",
      revision: "v1",
      replicas: 1,
    });
    w.targetHash = "v2";
    const other = decideBlueGreen(s, init, observe(w));
    expect(clusterActions(other.actions).filter((a) => a.type === "DeployColour")).toEqual([]);
    expect(ready(other.status)?.message).toMatch(/back to revision v1/);
  });

  it("suspend changes nothing", () => {
    const s = spec({ suspend: true });
    const w = world();
    const d = decideBlueGreen(s, {}, observe(w));
    expect(d.actions).toEqual([]);
    expect(ready(d.status)?.reason).toBe("Suspended");
  });
});

describe("BlueGreen transitions out of Failed, Waiting and Paused", () => {
  it("a failed release is not retried by itself; the next revision starts a new release", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const failed = run(s, init, w, { checks: fail, until: ["Failed"] }).status;
    expect(run(s, failed, w, { steps: 5 }).status.phase).toBe("Failed");
    w.targetHash = "v3";
    const d = decideBlueGreen(s, failed, observe(w));
    expect(d.status).toMatchObject({ phase: "Progressing", lastAppliedSpec: "v3", failedChecks: 0 });
  });

  it("waiting at a gate after a failure, the target going back to the failed revision is Failed again", () => {
    const s = spec({}, { webhooks: [{ name: "w", type: "confirm-rollout", url: "http://hooks/w" }] });
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const open = (sp: BlueGreenSpec) => webhookAnswers(sp, () => true);
    const failed = run(s, init, w, { checks: fail, webhooks: open, until: ["Failed"] }).status;
    w.targetHash = "v3";
    const waiting = decideBlueGreen(s, failed, observe(w));
    expect(waiting.status.phase).toBe("Waiting");
    w.targetHash = "v2";
    const d = decideBlueGreen(s, waiting.status, observe(w));
    expect(d.status.phase).toBe("Failed");
    expect(ready(d.status)?.message).toMatch(/back at revision v2/);
  });

  it("pause while waiting at a gate holds the revision; abort while paused mid-switch rolls back", () => {
    const gated = spec({}, { webhooks: [{ name: "w", type: "confirm-rollout", url: "http://hooks/w" }] });
    const w = world();
    const init = initialised(gated, w);
    w.targetHash = "v2";
    const waiting = run(gated, init, w, { steps: 2 }).status;
    const paused = decideBlueGreen(gated, waiting, observe(w, { manualAction: manual("pause") }));
    expect(paused.status).toMatchObject({ phase: "Paused", resumePhase: "Waiting" });
    const declined = decideBlueGreen(gated, paused.status, observe(w, { manualAction: manual("abort") }));
    expect(declined.status).toMatchObject({ phase: "Failed", lastAppliedSpec: "v2" });

    const s = spec();
    const w2 = world();
    const at10 = releasedTo(s, w2, "Switching");
    const p = decideBlueGreen(s, at10, observe(w2, { manualAction: manual("pause") }));
    const d = decideBlueGreen(s, p.status, observe(w2, { manualAction: manual("abort", "a2") }));
    expect(d.status).toMatchObject({ phase: "Failed", canaryWeight: 0, resumePhase: undefined });
    expect(clusterActions(d.actions)[0]).toEqual({
      type: "SetRouting",
      routing: { active: "blue", weights: { blue: 100, green: 0 } },
    });
  });

  it("an ignored action's reason gives way to the phase's own on the next decision", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    const ignored = decideBlueGreen(s, init, observe(w, { manualAction: manual("resume") }));
    expect(ready(ignored.status)?.reason).toBe("ActionIgnored");
    const next = decideBlueGreen(s, ignored.status, observe(w, { manualAction: manual("resume") }));
    expect(ready(next.status)).toMatchObject({ reason: "Initialized", status: "True" });
  });
});

describe("BlueGreen events and notifications", () => {
  it("says what happened: Events on each change, a notification per phase, post-rollout and event webhooks", () => {
    const s = spec({}, { webhooks: [{ name: "audit", type: "event", url: "http://hooks/audit" }] });
    const w = world();
    const at10 = releasedTo(s, w, "Switching");
    w.now += 10_000;
    const d = decideBlueGreen(s, at10, observe(w, { checks: pass() }));
    expect(d.status.phase).toBe("Succeeded");
    expect(d.actions).toContainEqual(
      expect.objectContaining({ type: "Event", eventType: "Normal", reason: "Succeeded" }),
    );
    expect(d.actions).toContainEqual(expect.objectContaining({ type: "Notify", severity: "info" }));
    expect(d.actions).toContainEqual(
      expect.objectContaining({ type: "CallWebhooks", webhookType: "post-rollout", phase: "Succeeded" }),
    );
    expect(d.actions).toContainEqual(
      expect.objectContaining({ type: "CallWebhooks", webhookType: "event", phase: "Succeeded" }),
    );
    expect(d.actions.find((a) => a.type === "RequeueAfter")).toEqual({ type: "RequeueAfter", ms: 60_000 });
  });

  it("a rollback is a Warning Event and an error notification", () => {
    const s = spec();
    const w = world();
    const init = initialised(s, w);
    w.targetHash = "v2";
    const progressing = run(s, init, w, { checks: fail, steps: 3 }).status;
    expect(progressing.failedChecks).toBe(1);
    w.now += 10_000;
    const d = decideBlueGreen(s, progressing, observe(w, { checks: fail() }));
    expect(d.status.phase).toBe("Failed");
    expect(d.actions).toContainEqual(
      expect.objectContaining({ type: "Event", eventType: "Warning", reason: "RolledBack" }),
    );
    expect(d.actions).toContainEqual(expect.objectContaining({ type: "Notify", severity: "error" }));
  });

  it("between rounds nothing new is said: no Event churn", () => {
    const s = spec();
    const w = world();
    const at10 = releasedTo(s, w, "Switching");
    w.now += 1000;
    const d = decideBlueGreen(s, at10, observe(w));
    expect(d.actions.filter((a) => a.type === "Event" || a.type === "Notify")).toEqual([]);
    expect(d.actions.find((a) => a.type === "RequeueAfter")).toEqual({ type: "RequeueAfter", ms: 9000 });
  });

  it("scaling the previous colour down is said once, and ends the chance of an abort to it", () => {
    const s = spec();
    const w = world();
    const succeeded = releasedTo(s, w, "Succeeded");
    w.now = Date.parse(succeeded.scaleDownAt ?? "");
    const d = decideBlueGreen(s, succeeded, observe(w));
    expect(d.status.scaleDownAt).toBeUndefined();
    expect(d.status.phase).toBe("Succeeded");
    expect(ready(d.status)?.message).toMatch(/shop-blue scaled to 0 after scaleDownDelay 60s/);
    expect(d.actions).toContainEqual(expect.objectContaining({ type: "Event", reason: "ScaledDown" }));
    expect(clusterActions(d.actions)).toContainEqual({ type: "ScaleColour", colour: "blue", replicas: 0 });
    act(w, d.actions);
    const again = decideBlueGreen(s, d.status, observe(w));
    expect(again.actions.filter((a) => a.type === "Event")).toEqual([]);
    expect(again.status).toEqual(d.status);
  });
});

describe("BlueGreen restart safety", () => {
  /** How long the next leader takes to start after a SIGKILL (the lease must expire first). */
  const leaseWait = 30_000;
  /** Preview, 2 pre-switch rounds of 10s, steps [10, 100], 1 post-switch round, scaleDownDelay 30s. */
  const restartSpec = () => spec({ autoPromote: true, scaleDownDelay: "30s" }, { postSwitchIterations: 1 });
  /** How long each routing state of a release of restartSpec must serve before the next routing change. */
  const observed: Record<string, number> = {
    // the pre-switch rounds run on preview requests: 2 rounds of 10s
    "green 0 preview green": 20_000,
    // the 10% step lasts stepInterval (default: one interval)
    "green 10 preview green": 10_000,
    // Verifying: 1 post-switch round
    "green 100 preview green": 10_000,
  };

  interface CrashedRelease {
    status: BlueGreenStatus;
    /** Distinct routing states, in order, with the time each reached the VirtualService. */
    timeline: [string, number][];
    /** When the previous colour (blue) was scaled to 0. */
    scaledDownAt?: number;
    /** Decisions taken (the crash can land on any of them). */
    decisions: number;
  }

  /**
   * A release of v2 up to the previous colour's scale-down, in which the controller dies
   * between recording status and acting at decision `crashAt`; the next leader starts
   * leaseWait later and the adapter observes whether the routing the status records is in place.
   */
  function releaseWithCrash(crashAt: number | undefined): CrashedRelease {
    const s = restartSpec();
    const w = world();
    let status = initialised(s, w);
    w.targetHash = "v2";
    const timeline: [string, number][] = [[routeKey(w.routing), w.now]];
    let scaledDownAt: number | undefined;
    const record = () => {
      if (timeline.at(-1)?.[0] !== routeKey(w.routing)) timeline.push([routeKey(w.routing), w.now]);
      if (scaledDownAt === undefined && w.colours.blue.replicas === 0) scaledDownAt = w.now;
    };
    let i = 0;
    for (; i < 80 && !(status.phase === "Succeeded" && status.scaleDownAt === undefined); i++) {
      const obs = observe(w, { routingApplied: routed(s, status, w) });
      const plan = planBlueGreen(s, status, {
        now: obs.now,
        candidateReady: status.candidateColour !== undefined && obs.colours[status.candidateColour].ready,
        pendingAction: false,
        routingApplied: obs.routingApplied,
      });
      const d = decideBlueGreen(s, status, { ...obs, checks: plan.metrics.length > 0 ? pass() : undefined });
      status = d.status;
      if (i === crashAt) {
        // Status written, then SIGKILL: nothing acted; the next leader starts leaseWait later.
        w.now += leaseWait;
        continue;
      }
      act(w, d.actions);
      record();
      const requeue = d.actions.find((a) => a.type === "RequeueAfter");
      w.now += requeue?.type === "RequeueAfter" ? requeue.ms : 1000;
    }
    // One more reconcile: the one after a crash at the last decision carries out what it decided.
    act(w, decideBlueGreen(s, status, observe(w, { routingApplied: routed(s, status, w) })).actions);
    record();
    return { status, timeline, scaledDownAt, decisions: i };
  }

  it("a kill between recording status and acting at any decision neither repeats nor skips a step", () => {
    const reference = releaseWithCrash(undefined);
    expect(reference.status.phase).toBe("Succeeded");
    const routes = reference.timeline.map(([route]) => route);
    expect(routes).toEqual([
      "green 0",
      "green 0 preview green",
      "green 10 preview green",
      "green 100 preview green",
      "green 100",
    ]);
    for (let crashAt = 0; crashAt < reference.decisions; crashAt++) {
      const crashed = releaseWithCrash(crashAt);
      expect(crashed.status.phase, `crash at ${crashAt}`).toBe("Succeeded");
      expect(
        crashed.timeline.map(([route]) => route),
        `crash at ${crashAt}`,
      ).toEqual(routes);
      expect(crashed.status.iterations).toBe(reference.status.iterations);
      expect(crashed.status.postSwitchIterations).toBe(reference.status.postSwitchIterations);
      expect(crashed.status.switchStep).toBe(reference.status.switchStep);
    }
  });

  it("a kill between recording status and acting at any decision leaves every routing state in place for its whole period", () => {
    const reference = releaseWithCrash(undefined);
    for (let crashAt = 0; crashAt < reference.decisions; crashAt++) {
      const { timeline, scaledDownAt } = releaseWithCrash(crashAt);
      // The preview, each switch step and the post-switch rounds were routed for their whole
      // observation period before the next routing change.
      for (const [route, period] of Object.entries(observed)) {
        const k = timeline.findIndex(([r]) => r === route);
        expect(k, `${route} never routed with a crash at ${crashAt}`).toBeGreaterThan(0);
        const routedFor = (timeline[k + 1]?.[1] ?? Number.NaN) - (timeline[k]?.[1] ?? Number.NaN);
        expect(routedFor, `${route} with a crash at ${crashAt}`).toBeGreaterThanOrEqual(period);
      }
      // After the switch reached the cluster the previous colour stayed up a whole scaleDownDelay.
      const [last, switchedAt] = timeline.at(-1) as [string, number];
      expect(last).toBe("green 100");
      expect(scaledDownAt, `crash at ${crashAt}`).toBeDefined();
      expect(
        (scaledDownAt ?? 0) - switchedAt,
        `scaleDownDelay with a crash at ${crashAt}`,
      ).toBeGreaterThanOrEqual(30_000);
    }
  });

  it("says why it routes a recorded switch step again instead of analysing it, and restarts the step", () => {
    const s = spec({ switch: { steps: [10, 50, 100], stepInterval: "30s" } });
    const w = world();
    const at10 = releasedTo(s, w, "Switching");
    expect(at10.canaryWeight).toBe(10);
    // The VirtualService still carries the preview only: the controller died after recording 10%.
    w.routing = routingFor(s, { ...at10, phase: "Progressing", canaryWeight: 0 });
    w.now += 60_000;
    const applied = routed(s, at10, w);
    expect(applied).toBe(false);
    const plan = planBlueGreen(s, at10, {
      now: new Date(w.now),
      candidateReady: true,
      pendingAction: false,
      routingApplied: applied,
    });
    expect(plan).toEqual({ metrics: [], gates: [] });
    const d = decideBlueGreen(s, at10, observe(w, { checks: pass(), routingApplied: applied }));
    const now = new Date(w.now).toISOString();
    expect(d.status).toMatchObject({
      phase: "Switching",
      canaryWeight: 10,
      switchStep: 1,
      lastStepTime: now,
      stepStartTime: now,
    });
    expect(ready(d.status)?.reason).toBe("RoutingReapplied");
    expect(ready(d.status)?.message).toBe(
      "the VirtualService did not carry the routing recorded in status (90% of traffic on shop-blue, 10% of traffic on shop-green, preview requests on shop-green); routing it now and holding the step for 30s (switch.stepInterval)",
    );
    expect(clusterActions(d.actions)[0]).toEqual({
      type: "SetRouting",
      routing: { active: "blue", weights: { blue: 90, green: 10 }, preview: "green" },
    });
    expect(d.actions).toContainEqual(
      expect.objectContaining({ type: "Event", eventType: "Normal", reason: "RoutingReapplied" }),
    );
    expect(d.actions).toContainEqual({ type: "RequeueAfter", ms: 10_000 });
    // Routed: the step is held 30s from here, then the release goes on.
    act(w, d.actions);
    const r = run(s, d.status, w, { until: ["Succeeded"] });
    expect(r.routes).toEqual(["green 10 preview green", "green 50 preview green", "green 100"]);
  });

  it("routes a recorded preview or post-switch step again when its round is due", () => {
    const s = spec({}, { postSwitchIterations: 2 });
    const w = world();
    // The candidate is ready: preview routes go on (recorded), but the controller dies before writing them.
    const previewing = run(s, releasedTo(s, w, "Progressing"), w, { steps: 1 }).status;
    expect(previewing).toMatchObject({ phase: "Progressing", preRolloutPassed: true, iterations: 0 });
    w.routing = routingFor(s, { ...previewing, preRolloutPassed: false });
    w.now += 60_000;
    const d = decideBlueGreen(
      s,
      previewing,
      observe(w, { checks: pass(), routingApplied: routed(s, previewing, w) }),
    );
    expect(d.status.iterations).toBe(0);
    expect(d.status.lastStepTime).toBe(new Date(w.now).toISOString());
    expect(ready(d.status)?.message).toBe(
      "the VirtualService did not carry the routing recorded in status (all traffic on shop-blue, preview requests on shop-green); routing it now and observing it for 10s before the next round of checks",
    );

    const w3 = world();
    const verifying = releasedTo(s, w3, "Verifying");
    w3.routing = routingFor(s, { ...verifying, phase: "Switching", canaryWeight: 10 });
    w3.now += 60_000;
    const v = decideBlueGreen(
      s,
      verifying,
      observe(w3, { checks: pass(), routingApplied: routed(s, verifying, w3) }),
    );
    expect(v.status).toMatchObject({ phase: "Verifying", postSwitchIterations: 0, canaryWeight: 100 });
    expect(ready(v.status)?.reason).toBe("RoutingReapplied");
    expect(ready(v.status)?.message).toMatch(/\(all traffic on shop-green, preview requests on shop-green\)/);
  });

  it("keeps the previous colour a whole scaleDownDelay from when the switch is routed, not recorded", () => {
    const s = spec({ scaleDownDelay: "30s" });
    const w = world();
    const switching = releasedTo(s, w, "Switching");
    const before = w.routing;
    const succeeded = run(s, switching, w, { until: ["Succeeded"] }).status;
    // The controller died after recording Succeeded: the VirtualService and apex still carry 10%.
    w.routing = before;
    w.now += 30_000;
    const d = decideBlueGreen(s, succeeded, observe(w, { routingApplied: routed(s, succeeded, w) }));
    const scaleDownAt = new Date(w.now + 30_000).toISOString();
    expect(d.status).toMatchObject({ phase: "Succeeded", activeColour: "green", scaleDownAt });
    expect(ready(d.status)).toMatchObject({ status: "True", reason: "RoutingReapplied" });
    expect(ready(d.status)?.message).toBe(
      `the VirtualService and apex Service did not carry the switch recorded in status (all traffic on shop-green); routing it now; shop-blue stays up until ${scaleDownAt} (scaleDownDelay 30s)`,
    );
    expect(clusterActions(d.actions)).toEqual([
      { type: "SetRouting", routing: { active: "green", weights: { green: 100, blue: 0 } } },
    ]);
    expect(d.actions).toContainEqual({ type: "RequeueAfter", ms: 30_000 });
    // Routed in time, the scale-down goes ahead as before.
    const applied = decideBlueGreen(s, succeeded, observe(w, { routingApplied: true }));
    expect(clusterActions(applied.actions)).toContainEqual({
      type: "ScaleColour",
      colour: "blue",
      replicas: 0,
    });
  });

  it("deciding twice from the same status and cluster gives the same status and actions", () => {
    const s = spec();
    const w = world();
    const at10 = releasedTo(s, w, "Switching");
    const a = decideBlueGreen(s, at10, observe(w));
    const b = decideBlueGreen(s, at10, observe(w));
    expect(b).toEqual(a);
  });
});

describe("planBlueGreen", () => {
  const s = spec({}, { webhooks: [{ name: "p", type: "confirm-promotion", url: "http://hooks/p" }] });
  const now = new Date(t0);
  const base: BlueGreenStatus = {
    phase: "Progressing",
    activeColour: "blue",
    candidateColour: "green",
    lastAppliedSpec: "v2",
    lastPromotedSpec: "v1",
    preRolloutPassed: true,
    iterations: 1,
    lastStepTime: new Date(t0 - 10_000).toISOString(),
  };

  it("asks nothing while an action is pending, so an abort is decided at once", () => {
    expect(planBlueGreen(s, base, { now, candidateReady: true, pendingAction: true })).toEqual({
      metrics: [],
      gates: [],
    });
  });

  it("asks nothing before the candidate is ready", () => {
    expect(planBlueGreen(s, base, { now, candidateReady: false, pendingAction: false }).gates).toEqual([]);
  });

  it("asks the pre-rollout gate first, then the round's checks and gates when due", () => {
    expect(
      planBlueGreen(
        s,
        { ...base, preRolloutPassed: false },
        { now, candidateReady: true, pendingAction: false },
      ),
    ).toEqual({ metrics: [], gates: ["pre-rollout"] });
    const due = planBlueGreen(s, base, { now, candidateReady: true, pendingAction: false });
    expect(due.gates).toEqual(["rollout", "rollback", "confirm-promotion"]);
    expect(due.metrics.map((m) => m.name)).toEqual(["request-success-rate"]);
    const notDue = planBlueGreen(
      s,
      { ...base, lastStepTime: now.toISOString() },
      { now, candidateReady: true, pendingAction: false },
    );
    expect(notDue).toEqual({ metrics: [], gates: [] });
  });

  it("asks confirm-rollout while waiting", () => {
    expect(
      planBlueGreen(s, { ...base, phase: "Waiting" }, { now, candidateReady: false, pendingAction: false })
        .gates,
    ).toEqual(["confirm-rollout"]);
  });
});

describe("routingFor", () => {
  const s = spec();
  it("routes nothing before a colour serves", () => {
    expect(routingFor(s, { phase: "Initializing", activeColour: "blue" })).toBeUndefined();
  });
  it("sends preview requests to the candidate only while previews are on", () => {
    const status: BlueGreenStatus = {
      phase: "Switching",
      activeColour: "green",
      candidateColour: "blue",
      lastPromotedSpec: "v1",
      canaryWeight: 10,
      preRolloutPassed: true,
    };
    expect(routingFor(s, status)).toEqual({
      active: "green",
      weights: { green: 90, blue: 10 },
      preview: "blue",
    });
    expect(routingFor(s, { ...status, preRolloutPassed: false })?.preview).toBeUndefined();
    expect(routingFor(spec({ preview: undefined }), status)?.preview).toBeUndefined();
    expect(routingFor(s, { ...status, phase: "Failed" })).toEqual({
      active: "green",
      weights: { green: 100, blue: 0 },
    });
  });
});
