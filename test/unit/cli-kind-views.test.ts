// The views of BlueGreen, Migration and ControlPlaneUpgrade: what `kubectl wren
// status|get|watch` say about each, read from objects shaped as the controller writes them.
import { describe, expect, it } from "vitest";
import { weightFromEvent } from "../../src/cli/history.ts";
import type { RolloutObject } from "../../src/cli/rollout.ts";
import { findRolloutKind } from "../../src/cli/rollout-kinds.ts";
import { renderStatus } from "../../src/cli/status-view.ts";
import { summarize, viewFor } from "../../src/cli/views.ts";
import { ago, now } from "./cli-fixtures.ts";

const emptyHistory = { weight: [], metrics: [], events: 0, observations: 1 };

function statusText(kindWord: string, object: RolloutObject): string {
  const summary = summarize(findRolloutKind(kindWord), object, now);
  return renderStatus({ summary, events: [], history: emptyHistory }, { now });
}

function ready(reason: string, message: string) {
  return [{ type: "Ready", status: "False", reason, message, lastTransitionTime: ago(30) }];
}

const blueGreen = (status: Record<string, unknown>): RolloutObject => ({
  kind: "BlueGreen",
  metadata: { name: "shop", namespace: "prod", generation: 2 },
  spec: {
    targetRef: { name: "shop" },
    service: { port: 80 },
    preview: { match: [{ headers: { "x-env": { exact: "preview" } } }] },
    analysis: { interval: "10s", iterations: 3, threshold: 2 },
    switch: { steps: [10, 100] },
  },
  status: { observedGeneration: 2, ...status },
});

describe("the BlueGreen view", () => {
  it("shows colours and the split the controller routes, with preview requests on the candidate", () => {
    const object = blueGreen({
      phase: "Switching",
      activeColour: "blue",
      candidateColour: "green",
      canaryWeight: 10,
      switchStep: 1,
      preRolloutPassed: true,
      lastPromotedSpec: "aaa",
      lastAppliedSpec: "bbb",
    });
    const summary = summarize(findRolloutKind("bluegreen"), object, now);
    expect(summary.weight).toBe("10%");
    expect(summary.step).toEqual({ index: 1, total: 2 });
    const text = statusText("bluegreen", object);
    expect(text).toContain("Traffic:     blue 90%, green 10% (preview requests: green)");
    expect(text).toContain("Colours:     blue active, green candidate");
    expect(text).toContain("3 rounds on the candidate, then 10% → 100%");
    expect(text).toContain("abort sends everything back at once");
  });

  it("ends on Succeeded and Failed, and waits for a revision the controller has not picked up", () => {
    const view = viewFor(findRolloutKind("BlueGreen"));
    const done = blueGreen({ phase: "Succeeded", activeColour: "green", lastAppliedSpec: "bbb" });
    expect(view.outcome(done, "bbb").state).toBe("succeeded");
    expect(view.outcome(done, "ccc").state).toBe("running");
    expect(view.outcome(blueGreen({ phase: "Failed", activeColour: "blue" })).state).toBe("failed");
    expect(view.outcome(blueGreen({ phase: "WaitingPromotion", activeColour: "blue" })).state).toBe(
      "running",
    );
  });
});

const migration: RolloutObject = {
  kind: "Migration",
  metadata: { name: "shop", namespace: "prod", generation: 1 },
  spec: { phases: [{ name: "orders" }, { name: "users" }] },
  status: {
    observedGeneration: 1,
    phase: "Progressing",
    currentPhase: "users",
    canaryWeight: 25,
    phases: [
      {
        name: "orders",
        state: "Succeeded",
        percent: 100,
        lastValidation: { time: ago(60), verdict: "Pass", errorRate: 0.4, p99Latency: 120, throughput: 12.5 },
      },
      { name: "users", state: "Progressing", percent: 25, message: "step 3 of 5" },
    ],
  },
};

describe("the Migration view", () => {
  it("has a row per phase and names the current phase in WEIGHT", () => {
    const summary = summarize(findRolloutKind("migration"), migration, now);
    expect(summary.weight).toBe("users 25%");
    expect(summary.step).toEqual({ index: 2, total: 2 });
    const text = statusText("migration", migration);
    expect(text).toMatch(/orders +Succeeded +100% +0\.4% +120ms +12\.5\/s +Pass/);
    expect(text).toMatch(/users +Progressing +25% +- +- +- +- +step 3 of 5/);
    expect(text).toContain("moving phase users; kubectl wren promote");
  });

  it("counts every phase done once it succeeded, and charts success as 100%", () => {
    const done = {
      ...migration,
      status: { observedGeneration: 1, phase: "Succeeded", canaryWeight: 100, phases: [] },
    };
    expect(summarize(findRolloutKind("migration"), done, now).step).toEqual({ index: 2, total: 2 });
    const succeeded = {
      type: "Normal",
      reason: "Succeeded",
      message: "every phase migrated",
      count: 1,
      first: ago(5),
      last: ago(5),
    };
    expect(weightFromEvent(succeeded, "Migration")).toBe(100);
    expect(weightFromEvent(succeeded, "Canary")).toBe(0);
  });

  it("says what to fix when the spec is invalid", () => {
    const invalid = {
      ...migration,
      status: {
        observedGeneration: 1,
        phase: "Progressing",
        conditions: ready("InvalidSpec", "spec.phases.1.to.0.service: no Service users"),
      },
    };
    expect(statusText("migration", invalid)).toContain(
      "Next:        nothing moves until this is fixed: spec.phases.1.to.0.service: no Service users",
    );
  });
});

const upgrade: RolloutObject = {
  kind: "ControlPlaneUpgrade",
  metadata: { name: "to-1-24", namespace: "istio-system", generation: 1 },
  spec: { from: "1-23-0", to: "1-24-0", waves: [10, 50, 100] },
  status: {
    observedGeneration: 1,
    phase: "Progressing",
    from: "1-23-0",
    to: "1-24-0",
    currentWave: 1,
    canaryWeight: 50,
    selectedNamespaces: 10,
    skippedNamespaces: 2,
    waves: [
      {
        index: 0,
        percent: 10,
        namespaces: ["a"],
        state: "Succeeded",
        startedAt: ago(90),
        restartedAt: ago(90),
      },
      {
        index: 1,
        percent: 50,
        namespaces: ["b", "c", "d", "e", "f"],
        state: "Moving",
        startedAt: ago(10),
        restartedAt: ago(10),
        message: "3 of 10 pods on 1-24-0",
      },
    ],
  },
};

describe("the ControlPlaneUpgrade view", () => {
  it("shows revisions, the wave in progress and what each wave moved", () => {
    const summary = summarize(findRolloutKind("controlplaneupgrade"), upgrade, now);
    expect(summary.weight).toBe("wave 2 (50%)");
    expect(summary.step).toEqual({ index: 2, total: 3 });
    const text = statusText("controlplaneupgrade", upgrade);
    expect(text).toContain("Revisions:   1-23-0 → 1-24-0");
    expect(text).toContain("Namespaces:  10 selected, 2 left alone");
    expect(text).toMatch(/1 +10% +a +Succeeded/);
    expect(text).toMatch(/2 +50% +b, c, d, e \+1 +Moving +3 of 10 pods on 1-24-0/);
  });

  it("ends on Succeeded and Failed only", () => {
    const view = viewFor(findRolloutKind("ControlPlaneUpgrade"));
    const at = (phase: string) => view.outcome({ ...upgrade, status: { phase } }).state;
    expect(at("Succeeded")).toBe("succeeded");
    expect(at("Failed")).toBe("failed");
    expect(at("RollingBack")).toBe("running");
    expect(at("WaitingPromotion")).toBe("running");
  });
});
