// The Migration state machine, transition by transition, plus properties over
// random runs (one active phase at most, routing always derived from status).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MigrationSpec, type MigrationStatus } from "../../src/api/migration.ts";
import type { CheckResult, ManualAction, ManualActionName } from "../../src/strategies/decision.ts";
import { durationMs } from "../../src/strategies/duration.ts";
import {
  decideMigration,
  type MigrationAction,
  type MigrationObservations,
  phaseStates,
  planMigration,
  type ServiceValidation,
  statusRouting,
  stepDurationMs,
} from "../../src/strategies/migration.ts";
import { type MigrationRouting, routingFor } from "../../src/strategies/migration-routing.ts";

const t0 = Date.parse("2026-11-22T10:00:00Z");

function phase(name: string, prefix: string, service: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    match: [{ uri: { prefix } }],
    to: [{ service, port: 80 }],
    steps: [10, 50, 100],
    stepInterval: "10s",
    validation: { interval: "10s", maxErrorRate: 1, minThroughput: 1, threshold: 2 },
    ...extra,
  };
}

function spec(phases: Record<string, unknown>[] = [], extra: Record<string, unknown> = {}): MigrationSpec {
  return MigrationSpec.parse({
    host: "shop",
    monolith: { service: "monolith", port: 80 },
    phases:
      phases.length > 0
        ? phases
        : [phase("orders", "/orders", "orders"), phase("users", "/users", "users", { rollback: "all" })],
    ...extra,
  });
}

type Verdict = CheckResult["verdict"];

function validation(services: string[], verdict: Verdict): ServiceValidation[] {
  return services.map((service) => ({
    service,
    checks: [
      {
        name: "errorRate",
        verdict,
        ...(verdict === "Unavailable"
          ? { message: "Prometheus unreachable" }
          : { value: verdict === "Pass" ? 0 : 30 }),
        thresholdRange: { max: 1 },
      },
      {
        name: "throughput",
        verdict: verdict === "Unavailable" ? "Unavailable" : "Pass",
        ...(verdict === "Unavailable" ? {} : { value: 5 }),
        thresholdRange: { min: 1 },
      },
    ],
  }));
}

interface Clock {
  now: number;
}

/** One reconcile: observe what the plan asks for (answered by `answer`), decide. */
function step(
  s: MigrationSpec,
  status: MigrationStatus,
  clock: Clock,
  answer: (service: string) => Verdict = () => "Pass",
  more: Partial<MigrationObservations> = {},
) {
  const plan = planMigration(s, status, new Date(clock.now));
  const services = plan.validate?.services ?? [];
  const v = plan.validate ? services.flatMap((svc) => validation([svc], answer(svc))) : undefined;
  return decideMigration(s, status, {
    now: new Date(clock.now),
    generation: 1,
    specProblems: [],
    ...(v ? { validation: v } : {}),
    ...more,
  });
}

function routingOf(actions: { type: string }[]): MigrationRouting | undefined {
  const set = actions.find((a): a is MigrationAction => a.type === "SetRouting");
  return set?.routing;
}

function requeue(actions: { type: string; ms?: number }[]): number | undefined {
  return actions.find((a) => a.type === "RequeueAfter")?.ms;
}

/** Reconciles until nothing is requeued, following requeues on the clock; records routing and phase states. */
function run(
  s: MigrationSpec,
  status: MigrationStatus,
  clock: Clock,
  answer: (service: string) => Verdict = () => "Pass",
  limit = 200,
) {
  let current = status;
  const percents: string[] = [];
  const events: { reason: string; eventType: string }[] = [];
  for (let i = 0; i < limit; i++) {
    const d = step(s, current, clock, answer);
    current = d.status;
    const routes = (routingOf(d.actions)?.phases ?? []).map((p) => `${p.name}:${p.percent}`).join(",");
    if (percents.at(-1) !== routes) percents.push(routes);
    for (const a of d.actions)
      if (a.type === "Event") events.push({ reason: a.reason, eventType: a.eventType });
    const ms = requeue(d.actions);
    if (ms === undefined) break;
    clock.now += ms;
  }
  return { status: current, percents, events };
}

function stateOf(status: MigrationStatus): Record<string, string> {
  return Object.fromEntries((status.phases ?? []).map((p) => [p.name, p.state]));
}

function ready(status: MigrationStatus) {
  return status.conditions?.find((c) => c.type === "Ready");
}

function action(name: ManualActionName, id: string = name): ManualAction {
  return { id, action: name, requestedBy: "alice" };
}

describe("starting", () => {
  it("starts the first phase at its first step: routing, an Event and a notification", () => {
    const s = spec();
    const d = step(s, {}, { now: t0 });
    expect(d.status.phase).toBe("Progressing");
    expect(d.status.currentPhase).toBe("orders");
    expect(d.status.canaryWeight).toBe(10);
    expect(stateOf(d.status)).toEqual({ orders: "Progressing", users: "Pending" });
    expect(routingOf(d.actions)).toEqual({ phases: [{ name: "orders", percent: 10 }] });
    expect(d.actions).toContainEqual(
      expect.objectContaining({ type: "Event", eventType: "Normal", reason: "Progressing" }),
    );
    expect(d.actions).toContainEqual(expect.objectContaining({ type: "Notify", severity: "info" }));
    expect(requeue(d.actions)).toBe(10_000);
    expect(ready(d.status)?.message).toContain("x-migration-phase: orders");
  });

  it("asks for no validation before the interval has passed, then for the services with a share, since the phase began", () => {
    const s = spec();
    const started = step(s, {}, { now: t0 }).status;
    expect(planMigration(s, started, new Date(t0 + 9_999))).toEqual({});
    expect(planMigration(s, started, new Date(t0 + 10_000))).toEqual({
      validate: {
        phase: "orders",
        services: ["orders"],
        range: "10s",
        routedSince: new Date(t0).toISOString(),
      },
    });
  });

  it("validates only services whose share is above 0% at this step", () => {
    const s = spec([
      phase("orders", "/orders", "orders", {
        to: [
          { service: "orders", port: 80, weight: 90 },
          { service: "orders-eu", port: 80, weight: 10 },
        ],
        steps: [5, 100],
      }),
    ]);
    const started = step(s, {}, { now: t0 }).status;
    // 5% split 90/10: 4.5 and 0.5; largest remainder gives orders 5%, orders-eu 0%.
    expect(planMigration(s, started, new Date(t0 + 10_000)).validate?.services).toEqual(["orders"]);
  });

  it("holds between validations without Events, requeued for the next one", () => {
    const s = spec();
    const started = step(s, {}, { now: t0 }).status;
    const d = step(s, started, { now: t0 + 4_000 });
    expect(d.status).toEqual(started);
    expect(d.actions.filter((a) => a.type === "Event")).toEqual([]);
    expect(requeue(d.actions)).toBe(6_000);
    expect(routingOf(d.actions)).toEqual({ phases: [{ name: "orders", percent: 10 }] });
  });
});

describe("progressing", () => {
  it("steps both phases up and succeeds; completed phases keep 100%", () => {
    const s = spec();
    const clock = { now: t0 };
    const result = run(s, {}, clock);
    expect(result.status.phase).toBe("Succeeded");
    expect(result.status.canaryWeight).toBe(100);
    expect(result.status.currentPhase).toBeUndefined();
    expect(ready(result.status)).toMatchObject({ status: "True", reason: "Succeeded" });
    expect(stateOf(result.status)).toEqual({ orders: "Succeeded", users: "Succeeded" });
    expect(result.percents).toEqual([
      "orders:10",
      "orders:50",
      "orders:100",
      "orders:100,users:10",
      "orders:100,users:50",
      "orders:100,users:100",
    ]);
    expect(result.events.map((e) => e.reason)).toContain("PhaseSucceeded");
    expect(result.status.phases?.[0]?.lastValidation).toMatchObject({
      verdict: "Pass",
      errorRate: 0,
      throughput: 5,
    });
  });

  it("ends a step at the first passing validation after the step's duration", () => {
    const s = spec([phase("orders", "/orders", "orders", { stepInterval: "25s" })]);
    const clock = { now: t0 };
    let status = step(s, {}, clock).status;
    clock.now += 10_000;
    status = step(s, status, clock).status;
    expect(status.canaryWeight).toBe(10);
    expect(ready(status)?.message).toMatch(/validation passed .* the step lasts 15s more/);
    clock.now += 10_000;
    status = step(s, status, clock).status;
    expect(status.canaryWeight).toBe(10);
    clock.now += 10_000;
    status = step(s, status, clock).status;
    expect(status.canaryWeight).toBe(50);
  });

  it("follows per-step durations", () => {
    const s = spec([
      phase("orders", "/orders", "orders", { stepInterval: undefined, stepDurations: ["0s", "30s", "0s"] }),
    ]);
    const clock = { now: t0 };
    let status = step(s, {}, clock).status;
    clock.now += 10_000;
    status = step(s, status, clock).status;
    expect(status.canaryWeight).toBe(50);
    clock.now += 10_000;
    status = step(s, status, clock).status;
    clock.now += 10_000;
    status = step(s, status, clock).status;
    expect(status.canaryWeight).toBe(50);
    clock.now += 10_000;
    status = step(s, status, clock).status;
    expect(status.canaryWeight).toBe(100);
  });

  it("starts the next phase on the reconcile after one completes", () => {
    const s = spec();
    const clock = { now: t0 };
    let status: MigrationStatus = {};
    let d = step(s, status, clock);
    while (stateOf(d.status).orders !== "Succeeded") {
      status = d.status;
      clock.now += requeue(d.actions) ?? 0;
      d = step(s, status, clock);
    }
    expect(d.status.phase).toBe("Progressing");
    expect(d.status.currentPhase).toBe("users");
    expect(d.status.canaryWeight).toBe(0);
    expect(ready(d.status)?.reason).toBe("PhaseSucceeded");
    expect(requeue(d.actions)).toBe(1000);
    clock.now += 1000;
    const next = step(s, d.status, clock);
    expect(stateOf(next.status)).toEqual({ orders: "Succeeded", users: "Progressing" });
    expect(next.status.canaryWeight).toBe(10);
  });
});

describe("a controller killed between recording and routing", () => {
  /** The routes as "phase:percent", in order. */
  const routes = (r: MigrationRouting | undefined) =>
    (r?.phases ?? []).map((p) => `${p.name}:${p.percent}`).join(",");

  it("killed at any reconcile of a two-phase migration, every step of every phase is routed for its whole duration, and validated only on it", () => {
    const s = spec([
      phase("orders", "/orders", "orders"),
      phase("users", "/users", "users", { rollback: "all", stepInterval: "20s" }),
    ]);
    const healthy = run(s, {}, { now: t0 });
    expect(healthy.status.phase).toBe("Succeeded");
    let reconciles = 0;
    for (let status: MigrationStatus = {}, clock = { now: t0 }; status.phase !== "Succeeded"; reconciles++) {
      const d = step(s, status, clock);
      status = d.status;
      clock.now += requeue(d.actions) ?? 0;
    }
    for (let killAt = 0; killAt < reconciles + 5; killAt++) {
      const clock = { now: t0 };
      // What the VirtualService carries, and since when.
      let vs: MigrationRouting = { phases: [] };
      const routedAt: [string, number][] = [["", clock.now]];
      let status: MigrationStatus = {};
      const misjudged: string[] = [];
      for (let i = 0; i < 100 && status.phase !== "Succeeded"; i++) {
        const applied = routes(vs) === routes(statusRouting(s, status));
        const plan = planMigration(s, status, new Date(clock.now));
        const d = step(s, status, clock, () => "Pass", { routingApplied: applied });
        if (plan.validate && ready(d.status)?.reason !== "RoutingReapplied") {
          // A validation the decision stood on: its whole range must have seen the status's split.
          const since = (routedAt.at(-1) as [string, number])[1];
          if (!applied || clock.now - since < durationMs(plan.validate.range)) {
            misjudged.push(`${routes(statusRouting(s, status))} judged while ${routes(vs)} was routed`);
          }
        }
        status = d.status;
        if (i === killAt) {
          // Status written, then SIGKILL: nothing acted; the next leader starts 30 s later.
          clock.now += 30_000;
          continue;
        }
        vs = routingOf(d.actions) ?? vs;
        if (routedAt.at(-1)?.[0] !== routes(vs)) routedAt.push([routes(vs), clock.now]);
        clock.now += requeue(d.actions) ?? 1000;
      }
      expect(status.phase, `killed at reconcile ${killAt}`).toBe("Succeeded");
      expect(
        routedAt.map(([r]) => r),
        `killed at reconcile ${killAt}`,
      ).toEqual(["", ...healthy.percents]);
      // Every step stayed routed for its phase's step duration before the next routing change.
      for (let k = 1; k < routedAt.length - 1; k++) {
        const [r, at] = routedAt[k] as [string, number];
        const next = (routedAt[k + 1] as [string, number])[1];
        const current = r.split(",").at(-1) ?? "";
        const ps = s.phases.find((p) => current.startsWith(`${p.name}:`));
        const index = ps?.steps.indexOf(Number(current.split(":")[1])) ?? -1;
        expect(ps && index >= 0, r).toBe(true);
        expect(next - at, `${r} killed at reconcile ${killAt}`).toBeGreaterThanOrEqual(
          stepDurationMs(ps as NonNullable<typeof ps>, index),
        );
      }
      expect(misjudged, `validations killed at reconcile ${killAt}`).toEqual([]);
    }
  });

  it("says why it routes a recorded step again instead of validating it, and does not count that validation", () => {
    const s = spec();
    const clock = { now: t0 };
    let status = step(s, {}, clock).status;
    clock.now += 10_000;
    status = step(s, status, clock).status;
    expect(status.canaryWeight).toBe(50);
    // The VirtualService still carries 10%: the controller died after recording 50%.
    clock.now += 60_000;
    const d = step(s, status, clock, () => "Fail", { routingApplied: false });
    const orders = d.status.phases?.[0];
    expect(orders).toMatchObject({
      state: "Progressing",
      percent: 50,
      stepIndex: 1,
      stepStartTime: new Date(clock.now).toISOString(),
      lastCheckTime: new Date(clock.now).toISOString(),
      failedChecks: 0,
    });
    // The failing validation of a split that never happened is set aside: the last one stands.
    expect(orders?.lastValidation).toEqual(status.phases?.[0]?.lastValidation);
    expect(d.status.metrics).toEqual(status.metrics);
    expect(ready(d.status)?.reason).toBe("RoutingReapplied");
    expect(ready(d.status)?.message).toMatch(/phase orders at 50%/);
    expect(d.actions).toContainEqual(
      expect.objectContaining({ type: "Event", eventType: "Normal", reason: "RoutingReapplied" }),
    );
    expect(routingOf(d.actions)).toEqual({ phases: [{ name: "orders", percent: 50 }] });
    expect(requeue(d.actions)).toBe(10_000);
    // The next validation is a whole interval from the reapply.
    expect(planMigration(s, d.status, new Date(clock.now + 9_999))).toEqual({});
    const next = step(s, d.status, { now: clock.now + 10_000 }, () => "Pass", { routingApplied: true });
    expect(next.status.canaryWeight).toBe(100);
  });

  it("a phase restarted by retry after a rollback but never routed is routed before it is validated", () => {
    const s = spec();
    const failed = run(s, {}, { now: t0 }, (svc) => (svc === "users" ? "Fail" : "Pass")).status;
    const clock = { now: t0 + 3_600_000 };
    const retried = step(s, failed, clock, undefined, { manualAction: action("retry") }).status;
    expect(statusRouting(s, retried)).toEqual({ phases: [{ name: "orders", percent: 10 }] });
    // Killed before routing: the VirtualService still sends everything to the monolith.
    clock.now += 30_000;
    const d = step(s, retried, clock, () => "Pass", { routingApplied: false });
    expect(d.status.canaryWeight).toBe(10);
    expect(d.status.phases?.[0]?.stepStartTime).toBe(new Date(clock.now).toISOString());
    expect(ready(d.status)?.reason).toBe("RoutingReapplied");
    expect(routingOf(d.actions)).toEqual({ phases: [{ name: "orders", percent: 10 }] });
  });

  it("validates as before when the routing is applied or unknown", () => {
    const s = spec();
    const started = step(s, {}, { now: t0 }).status;
    for (const routingApplied of [true, undefined]) {
      const d = step(s, started, { now: t0 + 10_000 }, () => "Pass", { routingApplied });
      expect(d.status.canaryWeight).toBe(50);
    }
  });
});

describe("failing", () => {
  it("holds on a failed validation below the threshold, with a Warning", () => {
    const s = spec();
    const started = step(s, {}, { now: t0 }).status;
    const d = step(s, started, { now: t0 + 10_000 }, () => "Fail");
    expect(d.status.phase).toBe("Progressing");
    expect(d.status.canaryWeight).toBe(10);
    expect(d.status.phases?.[0]).toMatchObject({
      failedChecks: 1,
      waitingSince: new Date(t0 + 10_000).toISOString(),
    });
    expect(d.status.phases?.[0]?.lastValidation).toMatchObject({ verdict: "Fail", errorRate: 30 });
    expect(ready(d.status)?.reason).toBe("CheckFailed");
    expect(d.actions).toContainEqual(
      expect.objectContaining({ type: "Event", eventType: "Warning", reason: "CheckFailed" }),
    );
    expect(d.status.metrics?.map((m) => `${m.name}=${m.verdict}`)).toEqual([
      "orders/errorRate=Fail",
      "orders/throughput=Pass",
    ]);
  });

  it("rollback: phase sends only the failing phase back; completed phases stay migrated", () => {
    const s = spec([phase("orders", "/orders", "orders"), phase("users", "/users", "users")]);
    const result = run(s, {}, { now: t0 }, (svc) => (svc === "users" ? "Fail" : "Pass"));
    expect(result.status.phase).toBe("Failed");
    expect(result.status.currentPhase).toBe("users");
    expect(result.status.canaryWeight).toBe(0);
    expect(stateOf(result.status)).toEqual({ orders: "Succeeded", users: "Failed" });
    expect(result.percents.at(-1)).toBe("orders:100");
    expect(result.status.phases?.[1]?.message).toMatch(/failed 2 validations \(threshold 2\) at 10%/);
    expect(ready(result.status)).toMatchObject({ status: "False", reason: "RolledBack" });
    expect(result.events).toContainEqual({ reason: "RolledBack", eventType: "Warning" });
  });

  it("rollback: all sends every phase back, completed ones included", () => {
    const s = spec();
    const result = run(s, {}, { now: t0 }, (svc) => (svc === "users" ? "Fail" : "Pass"));
    expect(stateOf(result.status)).toEqual({ orders: "RolledBack", users: "Failed" });
    expect(result.percents.at(-1)).toBe("");
    expect(result.status.phases?.[0]?.message).toBe("rolled back with phase users (rollback: all)");
    expect(ready(result.status)?.message).toMatch(/every phase's requests are back on the monolith/);
  });

  it("stays failed, without Events, until someone retries", () => {
    const s = spec([phase("orders", "/orders", "orders")]);
    const failed = run(s, {}, { now: t0 }, () => "Fail").status;
    const d = step(s, failed, { now: t0 + 3_600_000 });
    expect(d.status).toEqual(failed);
    expect(d.actions.filter((a) => a.type !== "SetRouting")).toEqual([]);
    expect(routingOf(d.actions)).toEqual({ phases: [] });
  });

  it("never advances on unavailable metrics; holds under the hold policy", () => {
    const s = spec();
    const clock = { now: t0 };
    let status = step(s, {}, clock).status;
    for (let i = 0; i < 5; i++) {
      clock.now += 10_000;
      const d = step(s, status, clock, () => "Unavailable");
      status = d.status;
      expect(status.canaryWeight).toBe(10);
      expect(ready(status)?.reason).toBe("MetricsUnavailable");
    }
    expect(status.phases?.[0]?.unavailableChecks).toBe(5);
    expect(status.phases?.[0]?.lastValidation?.verdict).toBe("Unavailable");
    expect(ready(status)?.message).toMatch(/Prometheus unreachable/);
  });

  it("counts a validation that did not run as unavailable, never as a pass", () => {
    const s = spec();
    const started = step(s, {}, { now: t0 }).status;
    const d = decideMigration(s, started, { now: new Date(t0 + 60_000), generation: 1, specProblems: [] });
    expect(d.status.canaryWeight).toBe(10);
    expect(ready(d.status)?.reason).toBe("MetricsUnavailable");
  });

  it("rolls back after `after` unavailable validations under the rollback policy", () => {
    const validationSpec = {
      interval: "10s",
      maxErrorRate: 1,
      threshold: 2,
      metricsUnavailable: { action: "rollback", after: 2 },
    };
    const s = spec([phase("orders", "/orders", "orders", { validation: validationSpec })]);
    const result = run(s, {}, { now: t0 }, () => "Unavailable");
    expect(stateOf(result.status)).toEqual({ orders: "Failed" });
    expect(result.status.phases?.[0]?.message).toMatch(/metrics unavailable for 2 validations in a row/);
  });

  it("rolls back when no validation has passed for progressDeadlineSeconds", () => {
    const s = spec([phase("orders", "/orders", "orders")], { progressDeadlineSeconds: 35 });
    const clock = { now: t0 };
    const result = run(s, {}, clock, () => "Unavailable");
    expect(stateOf(result.status)).toEqual({ orders: "Failed" });
    expect(ready(result.status)?.reason).toBe("ProgressDeadlineExceeded");
    expect(clock.now - t0).toBe(50_000);
  });

  it("a passing validation clears the wait", () => {
    const s = spec([phase("orders", "/orders", "orders", { stepInterval: "1h" })]);
    const clock = { now: t0 };
    let status = step(s, {}, clock).status;
    clock.now += 10_000;
    status = step(s, status, clock, () => "Unavailable").status;
    expect(status.phases?.[0]?.waitingSince).toBeDefined();
    clock.now += 10_000;
    status = step(s, status, clock).status;
    expect(status.phases?.[0]?.waitingSince).toBeUndefined();
    expect(status.phases?.[0]?.unavailableChecks).toBe(0);
  });
});

describe("spec problems found in the cluster", () => {
  it("hold everything: InvalidSpec naming the field, one Warning, no routing change", () => {
    const s = spec();
    const problems = ["spec.phases.1.to.0.service: Service shop/users not found"];
    const d = decideMigration(s, {}, { now: new Date(t0), generation: 1, specProblems: problems });
    expect(d.actions.find((a) => a.type === "SetRouting")).toBeUndefined();
    expect(ready(d.status)).toMatchObject({ status: "False", reason: "InvalidSpec", message: problems[0] });
    expect(d.status.phase).toBeUndefined();
    expect(d.actions).toContainEqual(
      expect.objectContaining({ type: "Event", eventType: "Warning", reason: "InvalidSpec" }),
    );
    const again = decideMigration(s, d.status, {
      now: new Date(t0 + 30_000),
      generation: 1,
      specProblems: problems,
    });
    expect(again.actions.filter((a) => a.type === "Event")).toEqual([]);
    expect(again.actions.find((a) => a.type === "SetRouting")).toBeUndefined();
  });

  it("hold a running migration where it is, and resume once fixed", () => {
    const s = spec();
    const started = step(s, {}, { now: t0 }).status;
    const held = decideMigration(s, started, {
      now: new Date(t0 + 10_000),
      generation: 2,
      specProblems: ["spec.monolith.port: Service shop/monolith has no port 80 (it has 8080)"],
    });
    expect(held.status.phases).toEqual(started.phases);
    expect(held.actions.find((a) => a.type === "SetRouting")).toBeUndefined();
    const fixed = step(s, held.status, { now: t0 + 10_000 });
    expect(fixed.status.canaryWeight).toBe(50);
    expect(ready(fixed.status)?.reason).toBe("Progressing");
  });
});

describe("manual actions on the current phase", () => {
  const s = spec();
  const running = () => step(s, {}, { now: t0 }).status;

  it("pause holds the percent without validating; resume continues", () => {
    const paused = step(s, running(), { now: t0 + 1000 }, undefined, { manualAction: action("pause") });
    expect(paused.status.phase).toBe("Paused");
    expect(stateOf(paused.status).orders).toBe("Paused");
    expect(paused.status.lastAction).toMatchObject({ id: "pause", result: "paused", requestedBy: "alice" });
    expect(routingOf(paused.actions)).toEqual({ phases: [{ name: "orders", percent: 10 }] });
    expect(planMigration(s, paused.status, new Date(t0 + 3_600_000))).toEqual({});
    const still = step(s, paused.status, { now: t0 + 3_600_000 }, undefined, {
      manualAction: action("pause"),
    });
    expect(still.status.phase).toBe("Paused");
    const resumed = step(s, paused.status, { now: t0 + 3_600_000 }, undefined, {
      manualAction: action("resume"),
    });
    expect(resumed.status.phase).toBe("Progressing");
    expect(resumed.status.phases?.[0]?.lastCheckTime).toBe(new Date(t0 + 3_600_000).toISOString());
    expect(ready(resumed.status)?.reason).toBe("Resumed");
  });

  it("promote moves the current phase one step now; at the last step it completes the phase", () => {
    let status = running();
    const promoted = step(s, status, { now: t0 + 1000 }, undefined, {
      manualAction: action("promote", "p1"),
    });
    expect(promoted.status.canaryWeight).toBe(50);
    expect(promoted.status.lastAction?.result).toBe("advanced one step");
    status = step(s, promoted.status, { now: t0 + 2000 }, undefined, {
      manualAction: action("promote", "p2"),
    }).status;
    const done = step(s, status, { now: t0 + 3000 }, undefined, { manualAction: action("promote", "p3") });
    expect(stateOf(done.status)).toEqual({ orders: "Succeeded", users: "Pending" });
  });

  it("promote-full completes the current phase at once, and only it", () => {
    const d = step(s, running(), { now: t0 + 1000 }, undefined, { manualAction: action("promote-full") });
    expect(stateOf(d.status)).toEqual({ orders: "Succeeded", users: "Pending" });
    expect(routingOf(d.actions)).toEqual({ phases: [{ name: "orders", percent: 100 }] });
  });

  it("abort rolls the current phase back with its rollback scope", () => {
    const d = step(s, running(), { now: t0 + 1000 }, undefined, { manualAction: action("abort") });
    expect(d.status.phase).toBe("Failed");
    expect(stateOf(d.status).orders).toBe("Failed");
    expect(d.status.phases?.[0]?.message).toBe("phase orders aborted by alice at 10%");
    expect(routingOf(d.actions)).toEqual({ phases: [] });
  });

  it("retry restarts the failed phase (rollback: phase), keeping completed ones", () => {
    const s1 = spec([phase("orders", "/orders", "orders"), phase("users", "/users", "users")]);
    const failed = run(s1, {}, { now: t0 }, (svc) => (svc === "users" ? "Fail" : "Pass")).status;
    const d = step(s1, failed, { now: t0 + 3_600_000 }, undefined, { manualAction: action("retry") });
    expect(stateOf(d.status)).toEqual({ orders: "Succeeded", users: "Progressing" });
    expect(d.status.phases?.[1]).toMatchObject({ percent: 10, failedChecks: 0 });
    expect(routingOf(d.actions)).toEqual({
      phases: [
        { name: "orders", percent: 100 },
        { name: "users", percent: 10 },
      ],
    });
  });

  it("retry after rollback: all restarts the whole migration from its first phase", () => {
    const failed = run(s, {}, { now: t0 }, (svc) => (svc === "users" ? "Fail" : "Pass")).status;
    const d = step(s, failed, { now: t0 + 3_600_000 }, undefined, { manualAction: action("retry") });
    expect(stateOf(d.status)).toEqual({ orders: "Progressing", users: "Pending" });
    expect(routingOf(d.actions)).toEqual({ phases: [{ name: "orders", percent: 10 }] });
  });

  it("ignores actions that do not apply, saying why, and consumes each action once", () => {
    const r = running();
    const ignored = step(s, r, { now: t0 + 1000 }, undefined, { manualAction: action("retry") });
    expect(ignored.status.lastAction?.result).toBe("ignored: only a failed migration can be retried");
    expect(ignored.status.canaryWeight).toBe(10);
    expect(ignored.actions).toContainEqual(
      expect.objectContaining({ type: "Event", reason: "ManualAction" }),
    );
    const resume = step(s, r, { now: t0 + 1000 }, undefined, { manualAction: action("resume") });
    expect(resume.status.lastAction?.result).toBe("ignored: not paused");

    const once = step(s, r, { now: t0 + 1000 }, undefined, { manualAction: action("promote", "x") });
    expect(once.status.canaryWeight).toBe(50);
    // The same annotation seen again (the id is recorded) changes nothing.
    const again = step(s, once.status, { now: t0 + 2000 }, undefined, {
      manualAction: action("promote", "x"),
    });
    expect(again.status.canaryWeight).toBe(50);
    expect(again.actions.filter((a) => a.type === "Event")).toEqual([]);
  });

  it("ignores promote on a paused phase and everything but retry on a failed migration", () => {
    const paused = step(s, running(), { now: t0 + 1000 }, undefined, {
      manualAction: action("pause"),
    }).status;
    const promote = step(s, paused, { now: t0 + 2000 }, undefined, { manualAction: action("promote", "p") });
    expect(promote.status.lastAction?.result).toMatch(/paused; resume it first/);
    const failed = step(s, running(), { now: t0 + 1000 }, undefined, {
      manualAction: action("abort"),
    }).status;
    for (const name of ["promote", "promote-full", "abort", "pause", "resume"] as const) {
      const d = step(s, failed, { now: t0 + 2000 }, undefined, { manualAction: action(name, `${name}-2`) });
      expect(d.status.phase, name).toBe("Failed");
      expect(d.status.lastAction?.result, name).toMatch(/^ignored/);
    }
  });
});

describe("spec changes", () => {
  it("a phase added after success starts; a removed phase loses its routes", () => {
    const one = spec([phase("orders", "/orders", "orders")]);
    const done = run(one, {}, { now: t0 }).status;
    expect(done.phase).toBe("Succeeded");
    const two = spec([phase("orders", "/orders", "orders"), phase("carts", "/carts", "carts")]);
    const d = step(two, done, { now: t0 + 3_600_000 });
    expect(stateOf(d.status)).toEqual({ orders: "Succeeded", carts: "Progressing" });
    const removed = step(spec([phase("carts", "/carts", "carts")]), d.status, { now: t0 + 3_600_001 });
    expect(routingOf(removed.actions)).toEqual({ phases: [{ name: "carts", percent: 10 }] });
    expect(stateOf(removed.status)).toEqual({ carts: "Progressing" });
  });

  it("a shorter steps list clamps the current step", () => {
    const s = spec([phase("orders", "/orders", "orders", { steps: [10, 50, 100] })]);
    const clock = { now: t0 };
    let status = step(s, {}, clock).status;
    clock.now += 10_000;
    status = step(s, status, clock).status;
    clock.now += 10_000;
    status = step(s, status, clock).status;
    expect(status.phases?.[0]?.stepIndex).toBe(2);
    const shorter = spec([phase("orders", "/orders", "orders", { steps: [20, 100] })]);
    expect(phaseStates(shorter, status)[0]).toMatchObject({ stepIndex: 1, percent: 100 });
  });
});

describe("properties", () => {
  const verdicts = fc.constantFrom<Verdict>("Pass", "Pass", "Pass", "Fail", "Unavailable");
  const actions = fc.option(
    fc.constantFrom<ManualActionName>("promote", "promote-full", "abort", "pause", "resume", "retry"),
    {
      freq: 4,
      nil: undefined,
    },
  );

  it("at most one phase is active, percents are steps, decisions are deterministic and routing follows status", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(verdicts, verdicts, actions, fc.integer({ min: 0, max: 15_000 })), {
          maxLength: 60,
        }),
        (script) => {
          const s = spec();
          const clock = { now: t0 };
          let status: MigrationStatus = {};
          script.forEach(([orders, users, manual, wait], n) => {
            clock.now += wait;
            const answer = (svc: string) => (svc === "orders" ? orders : users);
            const more = manual ? { manualAction: action(manual, `a${n}`) } : {};
            const d = step(s, status, clock, answer, more);
            // A controller killed before recording decides the same again from the same facts.
            expect(step(s, status, clock, answer, more)).toEqual(d);
            status = d.status;
            const phases = status.phases ?? [];
            expect(
              phases.filter((p) => p.state === "Progressing" || p.state === "Paused").length,
            ).toBeLessThanOrEqual(1);
            for (const p of phases) {
              const allowed =
                p.state === "Succeeded"
                  ? [100]
                  : p.state === "Progressing" || p.state === "Paused"
                    ? [10, 50, 100]
                    : [0];
              expect(allowed).toContain(p.percent);
            }
            expect(status.phase === "Succeeded").toBe(
              phases.length > 0 && phases.every((p) => p.state === "Succeeded"),
            );
            // The routing is a function of the recorded status alone, so acting after a
            // restart (status recorded, act lost) converges to the same VirtualService.
            expect(routingOf(d.actions)).toEqual(routingFor(s, phases));
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
