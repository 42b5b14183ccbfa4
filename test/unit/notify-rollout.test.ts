// From a rollout object and a Notify action to a Notification, and the reconciler hook.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { z } from "zod";
import { kinds } from "../../src/api/kinds.ts";
import { MigrationSpec } from "../../src/api/migration.ts";
import type { Notification } from "../../src/notify/message.ts";
import type { AlertRoute } from "../../src/notify/notifier.ts";
import { nextStep, reconcilerNotify, rolloutAlerts, rolloutNotification } from "../../src/notify/rollout.ts";

const canary = {
  apiVersion: "wren.dev/v1alpha1",
  kind: "Canary",
  metadata: { name: "podinfo", namespace: "shop", uid: "u1" },
  spec: {
    targetRef: { name: "podinfo" },
    analysis: {
      alerts: [
        { name: "team", providerRef: { name: "slack" } },
        { name: "oncall", severity: "error", providerRef: { name: "pager", namespace: "ops" } },
        { name: "broken", severity: "loud", providerRef: { name: "x" } },
      ],
    },
  },
  status: {
    phase: "Progressing",
    canaryWeight: 30,
    lastAppliedSpec: "7f9c2d1a3b",
    conditions: [
      { type: "Ready", status: "False", reason: "Progressing", message: "at 30%", lastTransitionTime: "t" },
    ],
    metrics: [
      { name: "request-success-rate", value: 92.5, thresholdRange: { min: 99 }, verdict: "Fail", time: "t" },
      { name: "request-duration", value: 120, thresholdRange: { max: 500 }, verdict: "Pass", time: "t" },
    ],
  },
};

const now = new Date("2025-03-04T10:15:00Z");

describe("rolloutNotification", () => {
  it("says what, where, which version, the weights and what happens next", () => {
    const n = rolloutNotification(
      canary,
      { severity: "warn", message: "request-success-rate failed at 30%" },
      { cluster: "prod-eu-1", now, id: "n1" },
    );
    expect(n).toEqual({
      id: "n1",
      severity: "warn",
      cluster: "prod-eu-1",
      namespace: "shop",
      kind: "Canary",
      name: "podinfo",
      revision: "7f9c2d1a3b",
      phase: "Progressing",
      weights: { primary: 70, canary: 30 },
      reason: "Progressing",
      message: "request-success-rate failed at 30%",
      next: expect.stringContaining("rolls back when failed checks reach the threshold"),
      checks: [
        { name: "request-success-rate", value: 92.5, thresholdRange: { min: 99 }, verdict: "Fail" },
        { name: "request-duration", value: 120, thresholdRange: { max: 500 }, verdict: "Pass" },
      ],
      timestamp: "2025-03-04T10:15:00.000Z",
    } satisfies Notification);
  });

  it("prefers the status just decided over the object's older one, and the event's own fields", () => {
    const decided = {
      phase: "Failed",
      canaryWeight: 0,
      lastAppliedSpec: "7f9c2d1a3b",
      conditions: [
        { type: "Ready", status: "False", reason: "RolledBack", message: "m", lastTransitionTime: "t" },
      ],
    };
    const n = rolloutNotification(
      canary,
      {
        severity: "error",
        message: "rolled back",
        manualAction: { action: "abort", requestedBy: "alice", requestedAt: "2025-03-04T10:14:00Z" },
        details: [{ label: "Wave", value: "2 of 5" }],
      },
      { cluster: "c", now, status: decided },
    );
    expect(n).toMatchObject({
      phase: "Failed",
      reason: "RolledBack",
      weights: { primary: 100, canary: 0 },
      next: "All traffic is on the primary (the previous revision). Change the Deployment to try again, or kubectl wren retry podinfo -n shop.",
      manualAction: { action: "abort", requestedBy: "alice" },
      details: [{ label: "Wave", value: "2 of 5" }],
    });
    expect(n.checks).toBeUndefined();
    expect(n.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("leaves out what a rollout without status cannot say", () => {
    const n = rolloutNotification(
      { kind: "ControlPlaneUpgrade", metadata: { name: "istio", namespace: "istio-system" } },
      { severity: "info", message: "wave 1 done", reason: "WaveSucceeded", revision: "1-24-0" },
      { cluster: "c", now, id: "n2" },
    );
    expect(n).toEqual({
      id: "n2",
      severity: "info",
      cluster: "c",
      namespace: "istio-system",
      kind: "ControlPlaneUpgrade",
      name: "istio",
      revision: "1-24-0",
      reason: "WaveSucceeded",
      message: "wave 1 done",
      timestamp: "2025-03-04T10:15:00.000Z",
    });
  });
});

describe("nextStep", () => {
  it("tells a person the command when the canary waits for them", () => {
    expect(nextStep("Canary", "WaitingPromotion", "shop", "podinfo")).toBe(
      "Waiting for a person: kubectl wren promote podinfo -n shop (or kubectl wren abort podinfo -n shop).",
    );
    expect(nextStep("Canary", "Paused", "shop", "podinfo")).toContain("kubectl wren resume podinfo -n shop");
    expect(nextStep("Canary", "Succeeded", "shop", "podinfo")).toContain("primary runs the new revision");
    expect(nextStep("Canary", "NoSuchPhase", "shop", "podinfo")).toBeUndefined();
    expect(nextStep("Unknown", "Succeeded", "shop", "podinfo")).toBeUndefined();
  });

  it("describes every phase of every rollout kind", () => {
    const phasesOf = (kind: string): string[] => {
      const definition = kinds.find((k) => k.kind === kind);
      if (definition === undefined) throw new Error(`no kind ${kind}`);
      const phase = (definition.status as z.ZodObject).shape.phase as z.ZodOptional<z.ZodEnum>;
      return phase.unwrap().options.map(String);
    };
    for (const kind of ["Canary", "BlueGreen", "Migration", "ControlPlaneUpgrade"]) {
      for (const phase of phasesOf(kind)) {
        expect(nextStep(kind, phase, "shop", "podinfo"), `${kind} ${phase}`).toMatch(/\w/);
      }
    }
    expect(nextStep("BlueGreen", "Switching", "shop", "web")).toContain("kubectl wren abort web -n shop");
  });
});

describe("weights", () => {
  it("are a traffic split, so an upgrade's share of namespaces is not reported as one", () => {
    const at = (kind: string) =>
      rolloutNotification(
        { kind, metadata: { name: "x", namespace: "y" }, status: { phase: "Progressing", canaryWeight: 40 } },
        { severity: "info", message: "m" },
        { cluster: "c", now, id: "n" },
      ).weights;
    expect(at("BlueGreen")).toEqual({ primary: 60, canary: 40 });
    expect(at("ControlPlaneUpgrade")).toBeUndefined();
  });
});

describe("rolloutAlerts", () => {
  it("reads every rollout kind's alerts: spec.analysis.alerts, or a Migration's spec.alerts", () => {
    const example = parseAllDocuments(
      readFileSync(new URL("../../examples/migration.yaml", import.meta.url), "utf8"),
    )
      .map((d) => d.toJS() as { kind?: string; spec?: Record<string, unknown> })
      .find((o) => o.kind === "Migration");
    const parsed = MigrationSpec.parse({
      ...example?.spec,
      alerts: [{ name: "team", providerRef: { name: "slack" } }],
    });
    expect(rolloutAlerts({ kind: "Migration", spec: parsed })).toEqual([
      { name: "team", severity: "info", providerRef: { name: "slack" } },
    ]);
  });

  it("reads spec.analysis.alerts with their defaults and skips invalid entries", () => {
    expect(rolloutAlerts(canary)).toEqual([
      { name: "team", severity: "info", providerRef: { name: "slack" } },
      { name: "oncall", severity: "error", providerRef: { name: "pager", namespace: "ops" } },
    ]);
  });

  it("reads spec.alerts for kinds without an analysis block, and nothing from a bare object", () => {
    const alerts = [{ name: "a", severity: "warn", providerRef: { name: "chat" } }];
    expect(rolloutAlerts({ spec: { alerts } })).toEqual(alerts);
    expect(rolloutAlerts({})).toEqual([]);
  });
});

describe("reconcilerNotify", () => {
  it("builds the Notification and routes it by the object's alerts, returning nothing to await", () => {
    const calls: { n: Notification; alerts: readonly AlertRoute[] }[] = [];
    const hook = reconcilerNotify(
      { notify: (n, alerts) => void calls.push({ n, alerts }) },
      { cluster: "prod-eu-1", now: () => now },
    );
    const result: unknown = hook(canary, "error", "rolled back", { ...canary.status, phase: "Failed" });
    expect(result).toBeUndefined();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.n).toMatchObject({
      severity: "error",
      message: "rolled back",
      phase: "Failed",
      cluster: "prod-eu-1",
    });
    expect(calls[0]?.alerts.map((a) => a.providerRef.name)).toEqual(["slack", "pager"]);
  });

  it("sends an unknown severity as warn rather than dropping it", () => {
    const calls: Notification[] = [];
    const hook = reconcilerNotify({ notify: (n) => void calls.push(n) }, { cluster: "c" });
    hook(canary, "critical", "something");
    expect(calls[0]?.severity).toBe("warn");
  });
});
