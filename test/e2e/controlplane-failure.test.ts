// ControlPlaneUpgrades that must not get through: a faulty new revision (its
// proxies fail half their requests) is caught in the first wave and rolled back;
// an istiod that never becomes ready fails the upgrade at its deadline with
// nothing relabelled; an invalid spec is reported, naming the field, and touches nothing.
import { beforeAll, describe, expect, it } from "vitest";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import {
  controlPlaneUpgrade,
  namespaceLabels,
  type PodInfo,
  pods,
  testLabel,
  untilPodsOn,
  untilUpgrade,
  untilUpgradePhase,
  upgradeEvents,
  upgradeStatus,
  useIstioRevisions,
} from "../support/istio-revisions.ts";
import { useNamespace } from "../support/namespace.ts";

const ns = useNamespace("cpu-failure");
useController(ns);
const mesh = useIstioRevisions();
const caseLabel = "wren.dev/cpu-case";

/** Namespaces of one case, on `from`, all pods injected; returns their names and pods. */
async function namespaces(kase: string, count: number, from: string) {
  const names = Array.from({ length: count }, (_, i) => `cpu-${mesh.id}-${kase}-${i}`);
  for (const name of names) await mesh.namespace(name, { "istio.io/rev": from, [caseLabel]: kase });
  await untilPodsOn(names, from);
  const before = new Map<string, PodInfo[]>();
  for (const name of names) before.set(name, await pods(name));
  return { names, before };
}

const selector = (kase: string) => ({ matchLabels: { [testLabel]: mesh.id, [caseLabel]: kase } });

describe("ControlPlaneUpgrade failures on the testbed", () => {
  const faultyFrom = `1-23-0-${mesh.id}`;
  const faultyTo = `1-24-0-${mesh.id}`;
  beforeAll(async () => {
    await mesh.istiod(faultyFrom);
    await mesh.istiod(faultyTo, { faulty: true });
  });

  it("a faulty new revision fails the first wave, which is moved back; no later wave starts", async () => {
    const { names, before } = await namespaces("faulty", 4, faultyFrom);
    await apply({
      ...controlPlaneUpgrade(ns.name, "faulty", mesh.id, {
        from: faultyFrom,
        to: faultyTo,
        namespaceSelector: selector("faulty"),
        waves: [25, 50, 100],
        progressDeadlineSeconds: 120,
        analysis: {
          interval: "5s",
          metrics: [
            { name: "request-success-rate", thresholdRange: { min: 95 }, interval: "5s" },
            { name: "istiod-xds-rejects", thresholdRange: { max: 0 }, interval: "10s" },
          ],
        },
      }),
    });
    const failed = await untilUpgradePhase(ns.name, "faulty", ["Failed", "Succeeded"]);
    expect(failed.phase).toBe("Failed");
    expect(failed.waves).toHaveLength(1);
    const wave = failed.waves?.[0];
    expect(wave?.state).toBe("Failed");
    expect(wave?.namespaces).toEqual([names[0]]);
    expect(failed.rollback?.reason).toBe("CheckFailed");
    const checks = Object.fromEntries((wave?.checks ?? []).map((c) => [c.name, c]));
    expect(checks["request-success-rate"]?.verdict).toBe("Fail");
    expect(checks["request-success-rate"]?.value).toBeLessThan(80);
    expect(checks["istiod-xds-rejects"]?.verdict).toBe("Fail");
    const ready = failed.conditions?.find((c) => c.type === "Ready");
    expect(ready?.reason).toBe("RolledBack");
    expect(ready?.message).toMatch(/^wave 0 failed: wave 0 \(25%\) failed 1 round\(s\) of checks/);

    // The moved namespace is back on the old revision, labels and pods.
    expect((await namespaceLabels(names[0] ?? ""))["istio.io/rev"]).toBe(faultyFrom);
    await untilPodsOn([names[0] ?? ""], faultyFrom, 30_000);
    // The others were never touched.
    for (const name of names.slice(1)) {
      expect((await namespaceLabels(name))["istio.io/rev"]).toBe(faultyFrom);
      expect((await pods(name)).map((p) => p.uid).sort()).toEqual(
        (before.get(name) ?? []).map((p) => p.uid).sort(),
      );
    }
    const events = await eventually("a RolledBack Warning", async () => {
      const items = await upgradeEvents(ns.name, "faulty", "RolledBack");
      expect(items.length).toBeGreaterThan(0);
      return items;
    });
    expect(events[0]?.type).toBe("Warning");
    expect(events[0]?.message).toMatch(/wave 0/);
    expect((await upgradeStatus(ns.name, "faulty")).waves).toHaveLength(1);
  });

  it("an istiod that never becomes ready fails the upgrade at its deadline, relabelling nothing", async () => {
    const from = `1-23-1-${mesh.id}`;
    const to = `1-24-1-${mesh.id}`;
    await mesh.istiod(from);
    await mesh.istiod(to, { ready: false });
    const { names, before } = await namespaces("notready", 2, from);
    const labels = new Map<string, Record<string, string>>();
    for (const name of names) labels.set(name, await namespaceLabels(name));
    await apply(
      controlPlaneUpgrade(ns.name, "notready", mesh.id, {
        from,
        to,
        namespaceSelector: selector("notready"),
        waves: [50, 100],
        progressDeadlineSeconds: 15,
        analysis: { interval: "5s", metrics: [] },
      }),
    );
    const waiting = await untilUpgradePhase(ns.name, "notready", [
      "WaitingForControlPlane",
      "Failed",
      "Progressing",
    ]);
    expect(waiting.phase).toBe("WaitingForControlPlane");
    const failed = await untilUpgradePhase(ns.name, "notready", ["Failed", "Succeeded"], 60_000);
    const ready = failed.conditions?.find((c) => c.type === "Ready");
    expect(failed.phase).toBe("Failed");
    expect(ready?.reason).toBe("ControlPlaneNotReady");
    expect(ready?.message).toContain(`istiod-${to} in istio-system: 0 of 1 replicas ready for 15s`);
    expect(failed.waves).toEqual([]);
    for (const name of names) {
      expect(await namespaceLabels(name)).toEqual(labels.get(name));
      expect((await pods(name)).map((p) => p.uid).sort()).toEqual(
        (before.get(name) ?? []).map((p) => p.uid).sort(),
      );
    }
  });

  it("an invalid spec is reported naming the field, with a Warning Event, and moves nothing", async () => {
    const from = `1-23-2-${mesh.id}`;
    const { names } = await namespaces("invalid", 1, faultyFrom);
    await apply(
      controlPlaneUpgrade(ns.name, "invalid", mesh.id, {
        from,
        to: `1-24-2-${mesh.id}`,
        namespaceSelector: selector("invalid"),
        waves: [50, 25],
      }),
    );
    const status = await untilUpgrade(ns.name, "invalid", "InvalidSpec", (s) =>
      expect(s.conditions?.find((c) => c.type === "Ready")?.reason).toBe("InvalidSpec"),
    );
    expect(status.conditions?.find((c) => c.type === "Ready")?.message).toContain("spec.waves.1");
    expect(status.phase).toBeUndefined();
    const events = await eventually("an InvalidSpec Warning", async () => {
      const items = await upgradeEvents(ns.name, "invalid", "InvalidSpec");
      expect(items.length).toBeGreaterThan(0);
      return items;
    });
    expect(events[0]?.type).toBe("Warning");
    expect(events[0]?.message).toContain("spec.waves.1");
    expect((await namespaceLabels(names[0] ?? ""))["istio.io/rev"]).toBe(faultyFrom);
  });
});
