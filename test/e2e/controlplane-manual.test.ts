// Manual actions on a ControlPlaneUpgrade: a manual gate between waves holds until
// kubectl wren promote, and abort during a wave rolls every moved namespace back.
import { describe, expect, it } from "vitest";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import {
  controlPlaneUpgrade,
  namespaceLabels,
  requestUpgradeAction,
  untilPodsOn,
  untilUpgrade,
  untilUpgradePhase,
  upgradeStatus,
  useIstioRevisions,
} from "../support/istio-revisions.ts";
import { useNamespace } from "../support/namespace.ts";

const ns = useNamespace("cpu-manual");
useController(ns);
const mesh = useIstioRevisions();
const from = `1-23-0-${mesh.id}`;
const to = `1-24-0-${mesh.id}`;

describe("ControlPlaneUpgrade manual actions on the testbed", () => {
  it("holds at a manual gate until promote; abort during a wave rolls everything back", async () => {
    await mesh.istiod(from);
    await mesh.istiod(to);
    const names = Array.from({ length: 4 }, (_, i) => `cpu-${mesh.id}-${i}`);
    for (const name of names) await mesh.namespace(name, { "istio.io/rev": from });
    await untilPodsOn(names, from);
    // An interval of an hour: a wave stays in analysis until a person promotes it.
    await apply(
      controlPlaneUpgrade(ns.name, "gated", mesh.id, {
        from,
        to,
        waves: [50, 100],
        manualGates: [100],
        progressDeadlineSeconds: 120,
        analysis: {
          interval: "1h",
          metrics: [{ name: "request-success-rate", thresholdRange: { min: 95 } }],
        },
      }),
    );
    const first = await untilUpgrade(ns.name, "gated", "wave 0 analysing", (s) =>
      expect(s.waves?.[0]?.state).toBe("Analysing"),
    );
    const wave0 = first.waves?.[0]?.namespaces ?? [];
    const wave1 = names.filter((n) => !wave0.includes(n));
    expect(wave0).toHaveLength(2);
    await untilPodsOn(wave0, to, 10_000);

    // promote ends wave 0's analysis; the gate before the 100% wave then holds.
    const promoteWave0 = await requestUpgradeAction(ns.name, "gated", "promote");
    const gated = await untilUpgradePhase(ns.name, "gated", ["WaitingPromotion"], 30_000);
    expect(gated.lastAction?.id).toBe(promoteWave0);
    expect(gated.waves?.map((w) => w.state)).toEqual(["Succeeded"]);
    const heldSince = Date.parse(gated.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime ?? "");
    // Watch the gate for ten seconds: it must hold, and wave 1's namespaces must not move.
    await eventually(
      "the gate held for 10 s",
      async () => {
        const s = await upgradeStatus(ns.name, "gated");
        // Once it has left the gate it never returns to it: this keeps failing until the deadline.
        if (s.phase !== "WaitingPromotion") throw new Error(`the gate opened by itself: phase ${s.phase}`);
        expect(Date.now() - heldSince).toBeGreaterThan(10_000);
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect((await upgradeStatus(ns.name, "gated")).phase).toBe("WaitingPromotion");
    for (const name of wave1) expect((await namespaceLabels(name))["istio.io/rev"]).toBe(from);

    const promoteGate = await requestUpgradeAction(ns.name, "gated", "promote");
    const second = await untilUpgrade(ns.name, "gated", "wave 1 analysing", (s) =>
      expect(s.waves?.[1]?.state).toBe("Analysing"),
    );
    expect(second.lastAction?.id).toBe(promoteGate);
    expect(second.waves?.[1]?.namespaces.sort()).toEqual(wave1.sort());
    await untilPodsOn(names, to, 10_000);

    const abort = await requestUpgradeAction(ns.name, "gated", "abort");
    const failed = await untilUpgradePhase(ns.name, "gated", ["Failed"], 60_000);
    expect(failed.lastAction?.id).toBe(abort);
    expect(failed.rollback?.reason).toBe("Aborted");
    expect(failed.rollback?.message).toBe("aborted by e2e during wave 1 (100%)");
    expect(failed.waves?.map((w) => w.state)).toEqual(["RolledBack", "Failed"]);
    for (const name of names) expect((await namespaceLabels(name))["istio.io/rev"]).toBe(from);
    await untilPodsOn(names, from, 30_000);
  });
});
