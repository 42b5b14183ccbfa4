// A ControlPlaneUpgrade survives what production throws at it: the controller
// killed in the middle of a wave finishes the wave after a restart without
// restarting any workload twice, and with Prometheus unreachable a wave holds
// (metrics unavailable is never a pass).
import { afterAll, describe, expect, it } from "vitest";
import { type RunningController, startController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import {
  controlPlaneUpgrade,
  namespaceLabels,
  replicaSetCount,
  restartedAt,
  testLabel,
  untilPodsOn,
  untilUpgrade,
  untilUpgradePhase,
  upgradeStatus,
  useIstioRevisions,
} from "../support/istio-revisions.ts";
import { useNamespace } from "../support/namespace.ts";

const ns = useNamespace("cpu-resilience");
const mesh = useIstioRevisions();
const from = `1-23-0-${mesh.id}`;
const to = `1-24-0-${mesh.id}`;
const caseLabel = "wren.dev/cpu-case";
const controllers: RunningController[] = [];

async function start(identity: string, prometheusUrl?: string): Promise<RunningController> {
  const c = await startController({ namespace: ns.name, identity, prometheusUrl });
  controllers.push(c);
  return c;
}
afterAll(async () => {
  for (const c of controllers) await c.kill("SIGKILL");
});

async function meshNamespaces(kase: string, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `cpu-${mesh.id}-${kase}-${i}`);
  // Two replicas made ready one at a time, 3 s apart: a wave's rollout takes several seconds.
  for (const name of names) {
    await mesh.namespace(name, { "istio.io/rev": from, [caseLabel]: kase }, ["web", "api"], {
      replicas: 2,
      minReadySeconds: 3,
    });
  }
  await untilPodsOn(names, from);
  return names;
}

const selector = (kase: string) => ({ matchLabels: { [testLabel]: mesh.id, [caseLabel]: kase } });

describe("ControlPlaneUpgrade resilience on the testbed", () => {
  it("killed mid-wave and started again, finishes without restarting any workload twice", async () => {
    await mesh.istiod(from);
    await mesh.istiod(to);
    const names = await meshNamespaces("kill", 4);
    const first = await start("first");
    await apply(
      controlPlaneUpgrade(ns.name, "killed", mesh.id, {
        from,
        to,
        namespaceSelector: selector("kill"),
        waves: [50, 100],
        progressDeadlineSeconds: 120,
        analysis: {
          interval: "3s",
          metrics: [{ name: "request-success-rate", thresholdRange: { min: 95 }, interval: "3s" }],
        },
      }),
    );
    // Kill it once wave 0 restarted its Deployments, while their rollouts are still going.
    const atKill = await eventually(
      "wave 0 restarting",
      async () => {
        const s = await upgradeStatus(ns.name, "killed");
        const wave = s.waves?.[0];
        expect(wave?.state).toBe("Moving");
        const annotations = await Promise.all(
          (wave?.namespaces ?? []).flatMap((n) => ["web", "api"].map((d) => restartedAt(n, d))),
        );
        expect(annotations).toContain(wave?.restartedAt);
        return s;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    await first.kill("SIGKILL");
    expect(atKill.waves?.[0]?.state).toBe("Moving");

    const second = await start("second");
    const done = await untilUpgradePhase(ns.name, "killed", ["Succeeded", "Failed"], 150_000);
    expect(done.phase).toBe("Succeeded");
    expect(done.waves?.[0]?.restartedAt).toBe(atKill.waves?.[0]?.restartedAt);
    // One ReplicaSet per pod template: the original and exactly one restart.
    for (const wave of done.waves ?? []) {
      for (const name of wave.namespaces) {
        for (const d of ["web", "api"]) {
          expect(await restartedAt(name, d), `${name}/${d}`).toBe(wave.restartedAt);
          expect(await replicaSetCount(name, d), `${name}/${d} ReplicaSets`).toBe(2);
        }
      }
    }
    await untilPodsOn(names, to, 10_000);
    await second.kill();
  });

  it("holds a wave while Prometheus is unreachable, and never starts the next", async () => {
    await mesh.istiod(from);
    await mesh.istiod(to);
    const names = await meshNamespaces("noprom", 2);
    // Nothing listens on port 9 (discard): every query is refused.
    const c = await start("no-prometheus", "http://127.0.0.1:9");
    await apply(
      controlPlaneUpgrade(ns.name, "noprom", mesh.id, {
        from,
        to,
        namespaceSelector: selector("noprom"),
        waves: [50, 100],
        progressDeadlineSeconds: 120,
        analysis: {
          interval: "3s",
          metrics: [{ name: "request-success-rate", thresholdRange: { min: 95 }, interval: "3s" }],
        },
      }),
    );
    const held = await untilUpgrade(ns.name, "noprom", "two rounds without metrics", (s) =>
      expect(s.waves?.[0]?.unavailableChecks ?? 0).toBeGreaterThanOrEqual(2),
    );
    expect(held.phase).toBe("Progressing");
    expect(held.waves).toHaveLength(1);
    expect(held.waves?.[0]?.state).toBe("Analysing");
    expect(held.waves?.[0]?.passedChecks ?? 0).toBe(0);
    expect(held.conditions?.find((cond) => cond.type === "Ready")?.reason).toBe("MetricsUnavailable");
    expect(held.metrics?.[0]?.verdict).toBe("Unavailable");
    expect(held.metrics?.[0]?.message).toMatch(/unreachable/i);
    const waiting = names.filter((n) => !(held.waves?.[0]?.namespaces ?? []).includes(n));
    for (const name of waiting) expect((await namespaceLabels(name))["istio.io/rev"]).toBe(from);
    await c.kill();
  });
});
