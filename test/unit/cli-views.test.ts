import { describe, expect, it } from "vitest";
import { canaryKind } from "../../src/api/canary.ts";
import { metricTemplateKind } from "../../src/api/metric-template.ts";
import { CliError } from "../../src/cli/errors.ts";
import { normaliseEvents } from "../../src/cli/events.ts";
import { buildHistory, metricValuesFromEvent, weightFromEvent } from "../../src/cli/history.ts";
import { parseRef } from "../../src/cli/resolve.ts";
import { pendingAction } from "../../src/cli/rollout.ts";
import { findRolloutKind, isRolloutKind, rolloutKinds } from "../../src/cli/rollout-kinds.ts";
import { summarize, viewFor } from "../../src/cli/views.ts";
import { actionAnnotation } from "../../src/engine/manual-actions.ts";
import {
  ago,
  canary,
  canaryRolloutKind,
  canarySpec,
  now,
  progressingStatus,
  webEvents,
  webRevision,
} from "./cli-fixtures.ts";

const canaryRollout = canaryRolloutKind;

describe("rollout kinds", () => {
  it("are the kinds whose status has a phase", () => {
    expect(isRolloutKind(canaryKind)).toBe(true);
    expect(isRolloutKind(metricTemplateKind)).toBe(false);
    expect(rolloutKinds.map((k) => k.kind)).toContain("Canary");
    expect(rolloutKinds.map((k) => k.kind)).not.toContain("MetricTemplate");
    expect(canaryRollout.resource).toBe("canaries.wren.dev");
  });

  it("are found by kind, plural, singular, short name, with or without the group", () => {
    for (const word of ["Canary", "canary", "canaries", "wc", "canaries.wren.dev", "Canary.wren.dev"]) {
      expect(findRolloutKind(word).kind).toBe("Canary");
    }
  });

  it("say which kinds exist when a word names none, or names a kind that is not a rollout", () => {
    expect(() => findRolloutKind("deployment")).toThrow(
      'unknown rollout kind "deployment"; kubectl wren works with: canary',
    );
    expect(() => findRolloutKind("metrictemplate")).toThrow("MetricTemplate is not a rollout kind");
  });
});

describe("parseRef", () => {
  it("reads NAME and KIND/NAME", () => {
    expect(parseRef("web")).toEqual({ name: "web" });
    expect(parseRef("canary/web")).toEqual({ kind: canaryRollout, name: "web" });
  });

  it("rejects malformed references", () => {
    expect(() => parseRef("canary/")).toThrow(CliError);
    expect(() => parseRef("a/b/c")).toThrow('"a/b/c" is neither NAME nor KIND/NAME');
    expect(() => parseRef("")).toThrow(CliError);
  });
});

describe("the Canary view", () => {
  it("reads the step plan from the spec and the traffic split as the controller routes it", () => {
    const s = summarize(canaryRollout, canary("web"), now);
    expect(s.weight).toBe("20%");
    expect(s.weights).toEqual({ primary: 80, canary: 20 });
    expect(s.step).toEqual({ index: 2, total: 5 });
    expect(s.plan).toBe("10% → 20% → 30% → 40% → 50%");
    expect(s.checks).toEqual({ failed: 1, threshold: 5, unavailable: 0 });
    expect(s.ready?.reason).toBe("CheckFailed");
    expect(s.next).toBe(
      "next analysis in 20s; kubectl wren promote moves on a step now, abort rolls back, pause holds",
    );
  });

  it("describes thresholds in the metrics' units, including the comparison with the primary", () => {
    const s = summarize(canaryRollout, canary("web"), now);
    expect(s.metrics.map((m) => [m.name, m.unit, m.threshold, m.verdict])).toEqual([
      ["request-success-rate", "%", ">= 99%", "Fail"],
      ["request-duration", "ms", "<= 500ms, <= primary +20%", "Pass"],
    ]);
  });

  it("lists metrics that have not been measured yet", () => {
    const s = summarize(canaryRollout, canary("web", { status: { ...progressingStatus, metrics: [] } }), now);
    expect(s.metrics.map((m) => [m.name, m.verdict])).toEqual([
      ["request-success-rate", undefined],
      ["request-duration", undefined],
    ]);
  });

  it("shows A/B testing and mirroring instead of a weight", () => {
    const ab = {
      ...canarySpec,
      analysis: {
        ...canarySpec.analysis,
        maxWeight: undefined,
        stepWeight: undefined,
        iterations: 4,
        match: [{ headers: { "x-canary": { exact: "1" } } }],
      },
    };
    const status = { ...progressingStatus, canaryWeight: 0, stepIndex: 1, iterations: 2 };
    const s = summarize(canaryRollout, canary("web", { spec: ab, status }), now);
    expect(s.weight).toBe("A/B");
    expect(s.step).toEqual({ index: 2, total: 4 });
    expect(s.plan).toBe("4 iterations of A/B testing");
    const mirrored = {
      ...ab,
      analysis: { ...ab.analysis, match: undefined, mirror: true, mirrorWeight: 50 },
    };
    expect(summarize(canaryRollout, canary("web", { spec: mirrored, status }), now).weight).toBe(
      "mirror 50%",
    );
  });

  it("shows a paused canary at the weight it holds", () => {
    const status = { ...progressingStatus, phase: "Paused", resumePhase: "Progressing" };
    const s = summarize(canaryRollout, canary("web", { status }), now);
    expect(s.weight).toBe("20%");
    expect(s.next).toBe("paused (returns to Progressing); kubectl wren resume continues, abort rolls back");
  });

  it("copes with a canary the controller has not seen, and with an invalid spec", () => {
    const fresh = summarize(canaryRollout, canary("web", { status: {} }), now);
    expect([fresh.phase, fresh.weight, fresh.step]).toEqual([undefined, "-", undefined]);
    expect(fresh.next).toMatch(/no status yet/);
    const invalid = summarize(canaryRollout, canary("web", { spec: { targetRef: { name: "web" } } }), now);
    expect(invalid.weight).toBe("20%");
    expect(invalid.step).toEqual({ index: 2 });
    expect(invalid.target?.name).toBe("web");
  });

  it("reads status fields it does not understand as unknown, not as an error", () => {
    const status = {
      phase: "Exploding",
      canaryWeight: "lots",
      metrics: "none",
      conditions: [{ type: "Ready" }],
    };
    const s = summarize(canaryRollout, canary("web", { status }), now);
    expect(s.phase).toBe("Exploding");
    expect(s.weight).toBe("-");
    expect(s.ready).toEqual({
      type: "Ready",
      status: "Unknown",
      reason: "",
      message: "",
      lastTransitionTime: undefined,
    });
  });
});

describe("the Canary outcome (what watch waits for)", () => {
  const outcome = (status: Record<string, unknown>, revision?: string, generation = 3) => {
    const object = canary("web", { status: { observedGeneration: 3, ...status } });
    if (object.metadata) object.metadata.generation = generation;
    return viewFor(canaryRollout).outcome(object, revision).state;
  };

  it("succeeds on Succeeded, and on Initialized with no newer revision", () => {
    expect(outcome({ phase: "Succeeded", lastAppliedSpec: webRevision }, webRevision)).toBe("succeeded");
    expect(outcome({ phase: "Initialized", lastAppliedSpec: webRevision }, webRevision)).toBe("succeeded");
  });

  it("fails on Failed", () => {
    expect(outcome({ phase: "Failed", lastAppliedSpec: webRevision }, webRevision)).toBe("failed");
  });

  it("keeps running while the controller has not picked up the target's revision or the spec", () => {
    expect(outcome({ phase: "Succeeded", lastAppliedSpec: "old" }, webRevision)).toBe("running");
    expect(outcome({ phase: "Failed", lastAppliedSpec: "old" }, webRevision)).toBe("running");
    expect(outcome({ phase: "Succeeded", lastAppliedSpec: webRevision }, webRevision, 4)).toBe("running");
    expect(outcome({})).toBe("running");
  });

  it("keeps running through every other phase", () => {
    for (const phase of [
      "Initializing",
      "Waiting",
      "Progressing",
      "WaitingPromotion",
      "Promoting",
      "Finalising",
      "Paused",
    ]) {
      expect(outcome({ phase, lastAppliedSpec: webRevision }, webRevision)).toBe("running");
    }
  });

  it("trusts the phase when the target's revision is unknown", () => {
    expect(outcome({ phase: "Succeeded", lastAppliedSpec: "old" })).toBe("succeeded");
  });
});

describe("pending manual actions", () => {
  const annotated = (id: string, lastActionId: string) =>
    canary("web", {
      annotations: { [actionAnnotation]: JSON.stringify({ id, action: "pause", requestedBy: "bob" }) },
      status: { ...progressingStatus, lastAction: { ...progressingStatus.lastAction, id: lastActionId } },
    });

  it("is the annotation's action until the controller records its id", () => {
    expect(pendingAction(annotated("b2", "a1"))).toEqual({ id: "b2", action: "pause", requestedBy: "bob" });
    expect(pendingAction(annotated("b2", "b2"))).toBeUndefined();
  });

  it("ignores a malformed annotation", () => {
    expect(pendingAction(canary("web", { annotations: { [actionAnnotation]: "{" } }))).toBeUndefined();
  });
});

describe("history", () => {
  const events = normaliseEvents(webEvents);

  it("reads weights from the controller's Event messages", () => {
    const read = (reason: string, message: string) =>
      weightFromEvent({ type: "Normal", reason, message, count: 1, first: ago(1), last: ago(1) });
    expect(read("Progressing", "checks passed; canary weight 10% -> 20% (step 2 of 5)")).toBe(20);
    expect(read("Promoting", "primary weight 70% -> 90%")).toBe(10);
    expect(read("Promoting", "promotion at 70% primary")).toBe(30);
    expect(
      read("Promoting", "checks passed; analysis at 30% passed; promoting revision abc to the primary"),
    ).toBe(30);
    expect(read("Paused", "paused by bob at 30%")).toBe(30);
    expect(read("MetricsUnavailable", "holding at 20%: metrics unavailable")).toBe(20);
    expect(read("RolledBack", "rolled back revision abc: aborted")).toBe(0);
    expect(
      read("Waiting", "waiting for the canary Deployment web to become ready (0s of 600s)"),
    ).toBeUndefined();
  });

  it("reads failed-check values from the controller's Event messages", () => {
    const message =
      "rolled back revision abc: 5 failed checks (threshold 5): request-success-rate 97.5 is below the minimum 99; request-duration 612.5 is above the maximum 500; latency-p95 1.2e+3 is more than 10% above the primary's 800";
    expect(
      metricValuesFromEvent({
        type: "Warning",
        reason: "RolledBack",
        message,
        count: 1,
        first: ago(1),
        last: ago(1),
      }),
    ).toEqual([
      { name: "request-success-rate", value: 97.5 },
      { name: "request-duration", value: 612.5 },
      { name: "latency-p95", value: 1200 },
    ]);
  });

  it("joins Events and observed statuses in time order, weights as steps", () => {
    const summary = summarize(canaryRollout, canary("web"), now);
    const history = buildHistory(events, [{ at: now.toISOString(), summary }]);
    expect(history.weight.map((p) => p.value)).toEqual([0, 10, 20]);
    const rate = history.metrics.find((m) => m.name === "request-success-rate");
    // The Event and the status report the same measurement: it is counted once.
    expect(rate?.points).toEqual([{ time: ago(40), value: 97.5, verdict: "Fail" }]);
    expect(rate?.bounds).toEqual([99]);
    expect(history.events).toBe(5);
    expect(history.observations).toBe(1);
  });

  it("records every change a watch saw", () => {
    const at = (seconds: number, weight: number, value: number) => {
      const status = {
        ...progressingStatus,
        canaryWeight: weight,
        metrics: [{ ...progressingStatus.metrics[0], value, verdict: "Pass", time: ago(seconds) }],
      };
      return { at: ago(seconds), summary: summarize(canaryRollout, canary("web", { status }), now) };
    };
    const history = buildHistory(
      [],
      [at(180, 10, 99.5), at(120, 20, 99.7), at(60, 20, 99.9), at(0, 30, 99.2)],
    );
    expect(history.weight.map((p) => p.value)).toEqual([10, 20, 30]);
    expect(history.metrics[0]?.points.map((p) => p.value)).toEqual([99.5, 99.7, 99.9, 99.2]);
    expect(history.since).toBe(ago(180));
  });
});

describe("what happens next, for a canary the controller cannot act on", () => {
  it("says what to fix for an InvalidSpec instead of calling it idle", () => {
    const message = "spec.analysis.stepWeights.2: stepWeights must be strictly increasing";
    const status = {
      phase: "Initialized",
      observedGeneration: 3,
      conditions: [
        { type: "Ready", status: "False", reason: "InvalidSpec", message, lastTransitionTime: ago(60) },
      ],
    };
    const s = summarize(canaryRollout, canary("web", { status }), now);
    expect(s.next).toBe(`nothing moves until this is fixed: ${message}`);
  });
});
