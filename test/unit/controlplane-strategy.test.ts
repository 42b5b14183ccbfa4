// The ControlPlaneUpgrade state machine against a small pure world: namespaces with
// labels, Deployments whose pods pick their revision the way Istio's injector does
// when the actions restart them.
import { describe, expect, it } from "vitest";
import {
  ControlPlaneUpgradeSpec,
  type ControlPlaneUpgradeStatus,
} from "../../src/api/control-plane-upgrade.ts";
import {
  type ControlPlaneAction,
  type ControlPlaneObservations,
  decideControlPlaneUpgrade,
  type MeshWorkload,
  planControlPlaneUpgrade,
} from "../../src/strategies/controlplane.ts";
import type { CheckResult, Decision, ManualAction } from "../../src/strategies/decision.ts";

const t0 = Date.parse("2026-11-22T10:00:00Z");

function spec(extra: Record<string, unknown> = {}): ControlPlaneUpgradeSpec {
  return ControlPlaneUpgradeSpec.parse({
    from: "1-23-0",
    to: "1-24-0",
    namespaceSelector: { matchLabels: { team: "shop" } },
    waves: [10, 25, 50, 100],
    progressDeadlineSeconds: 60,
    analysis: {
      interval: "10s",
      metrics: [{ name: "request-success-rate", thresholdRange: { min: 99 } }],
    },
    ...extra,
  });
}

interface Deployment {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  injectable: boolean;
  restartedAt?: string;
  revisionLabel?: string;
  replicas: number;
  pods: string[];
  rolling: boolean;
  restarts: number;
}

/** The cluster as the actions leave it. Restarted Deployments finish their rollout on the next observation. */
class World {
  now = t0;
  namespaces = new Map<string, Record<string, string>>();
  deployments: Deployment[] = [];
  istiod = { exists: true, ready: true };
  tag: { exists: boolean; revision?: string; services: string[]; urlWebhooks?: string[] } | undefined;
  /** Pods of Deployments restarted onto a revision in this set never become ready. */
  stuckRevisions = new Set<string>();
  checks: (namespaces: string[]) => CheckResult[] = () => pass;
  actions: ControlPlaneAction[] = [];
  namespaceWrites = 0;

  addNamespace(name: string, labels: Record<string, string>, deployments = ["a", "b"]): void {
    this.namespaces.set(name, labels);
    for (const d of deployments) this.addDeployment(name, d);
  }

  addDeployment(namespace: string, name: string, extra: Partial<Deployment> = {}): Deployment {
    const d: Deployment = {
      namespace,
      name,
      labels: { app: name },
      injectable: true,
      replicas: 2,
      pods: [],
      rolling: false,
      restarts: 0,
      ...extra,
    };
    d.pods = Array.from({ length: d.replicas }, () => this.injected(namespace, d));
    this.deployments.push(d);
    return d;
  }

  /** Istio's injection rule: istio-injection wins, then the namespace's istio.io/rev, then the pod's. */
  injected(namespace: string, d: Pick<Deployment, "injectable" | "revisionLabel">): string {
    if (!d.injectable) return "";
    const ns = this.namespaces.get(namespace) ?? {};
    if (ns["istio-injection"] === "disabled") return "";
    if (ns["istio-injection"] === "enabled") return "default";
    return ns["istio.io/rev"] ?? d.revisionLabel ?? "";
  }

  workload(d: Deployment, gateways: boolean): MeshWorkload {
    return {
      namespace: d.namespace,
      name: d.name,
      gateway: gateways && d.labels.istio === "gateway",
      injectable: d.injectable,
      restartedAt: d.restartedAt,
      revisionLabel: d.revisionLabel,
      rolledOut: !d.rolling,
      podRevisions: [...d.pods],
    };
  }

  observe(s: ControlPlaneUpgradeSpec, status: ControlPlaneUpgradeStatus, manualAction?: ManualAction) {
    // Rollouts started by the last act finish now (unless their revision is stuck).
    for (const d of this.deployments) {
      if (!d.rolling) continue;
      const revision = this.injected(d.namespace, d);
      if (this.stuckRevisions.has(revision)) continue;
      d.pods = Array.from({ length: d.replicas }, () => revision);
      d.rolling = false;
    }
    const plan = planControlPlaneUpgrade(s, status, new Date(this.now));
    const wanted = new Set(plan.workloadNamespaces);
    const gatewaysOn = s.gateways !== undefined;
    const moved = new Set((status.waves ?? []).flatMap((w) => w.namespaces));
    const obs: ControlPlaneObservations = {
      now: new Date(this.now),
      generation: 1,
      namespaces: [...this.namespaces]
        .filter(([name, labels]) => labels.team === "shop" || moved.has(name))
        .map(([name, labels]) => ({
          name,
          selected: labels.team === "shop",
          injection: labels["istio-injection"],
          revision: labels["istio.io/rev"],
          optOut: labels["wren.dev/control-plane-upgrade"],
        })),
      workloads:
        plan.workloadNamespaces.length > 0
          ? this.deployments.filter((d) => wanted.has(d.namespace)).map((d) => this.workload(d, gatewaysOn))
          : undefined,
      gateways:
        plan.gateways && gatewaysOn
          ? this.deployments.filter((d) => d.labels.istio === "gateway").map((d) => this.workload(d, true))
          : undefined,
      istiod: plan.istiod
        ? { ...this.istiod, message: `istiod-1-24-0: ${this.istiod.ready ? 1 : 0} of 1 ready` }
        : undefined,
      tag: plan.tag ? (this.tag ?? { exists: false, services: [] }) : undefined,
      checks: plan.analyse ? this.checks(plan.analyse.namespaces) : undefined,
      manualAction,
    };
    return obs;
  }

  act(actions: Decision<ControlPlaneUpgradeStatus, ControlPlaneAction>["actions"]): void {
    for (const a of actions) {
      if (a.type === "RelabelNamespaces") {
        for (const n of a.namespaces) {
          const labels = { ...(this.namespaces.get(n.name) ?? {}) };
          for (const [k, v] of Object.entries(n.labels)) {
            if (v === null) delete labels[k];
            else labels[k] = v;
          }
          this.namespaces.set(n.name, labels);
          this.namespaceWrites++;
        }
        this.actions.push(a);
      } else if (a.type === "RestartWorkloads") {
        for (const w of a.workloads) {
          const d = this.deployments.find((x) => x.namespace === w.namespace && x.name === w.name);
          if (!d) continue;
          d.restartedAt = a.restartedAt;
          if (w.revisionLabel !== undefined) d.revisionLabel = w.revisionLabel;
          d.rolling = true;
          d.restarts++;
        }
        this.actions.push(a);
      } else if (a.type === "MoveRevisionTag") {
        this.tag = { exists: true, revision: a.revision, services: [`istiod-${a.revision}`] };
        this.actions.push(a);
      }
    }
  }
}

const pass: CheckResult[] = [{ name: "request-success-rate", verdict: "Pass", value: 100 }];
const fail: CheckResult[] = [
  { name: "request-success-rate", verdict: "Fail", value: 50, message: "50 is below the minimum 99" },
];
const unavailable: CheckResult[] = [
  { name: "request-success-rate", verdict: "Unavailable", message: "Prometheus unreachable: ECONNREFUSED" },
];

type Result = {
  status: ControlPlaneUpgradeStatus;
  decisions: Decision<ControlPlaneUpgradeStatus, ControlPlaneAction>[];
  events: { eventType: string; reason: string; message: string }[];
};

/** Reconciles until nothing is requeued, `until` holds, or `steps` run out. */
function run(
  w: World,
  s: ControlPlaneUpgradeSpec,
  status: ControlPlaneUpgradeStatus = {},
  {
    steps = 200,
    until,
    action,
  }: { steps?: number; until?: (s: ControlPlaneUpgradeStatus) => boolean; action?: ManualAction } = {},
): Result {
  const decisions: Result["decisions"] = [];
  const events: Result["events"] = [];
  let current = status;
  for (let i = 0; i < steps; i++) {
    const d = decideControlPlaneUpgrade(s, current, w.observe(s, current, action));
    decisions.push(d);
    w.act(d.actions);
    for (const a of d.actions) if (a.type === "Event") events.push(a);
    current = d.status;
    if (until?.(current)) break;
    const requeue = d.actions.find((a) => a.type === "RequeueAfter");
    if (requeue?.type !== "RequeueAfter") break;
    w.now += requeue.ms;
  }
  return { status: current, decisions, events };
}

/** Ten namespaces on 1-23-0, two Deployments each. */
function tenNamespaces(): World {
  const w = new World();
  for (let i = 0; i < 10; i++) w.addNamespace(`ns-${i}`, { team: "shop", "istio.io/rev": "1-23-0" });
  return w;
}

const action = (name: ManualAction["action"], id = `${name}-1`): ManualAction => ({
  id,
  action: name,
  requestedBy: "alice",
});

const ready = (s: ControlPlaneUpgradeStatus) => s.conditions?.find((c) => c.type === "Ready");

describe("ControlPlaneUpgrade: a healthy upgrade", () => {
  it("moves 10 namespaces in waves of 1, 2, 2 and 5, every pod on the new revision, waves in order", () => {
    const w = tenNamespaces();
    const { status, events } = run(w, spec());
    expect(status.phase).toBe("Succeeded");
    expect(status.canaryWeight).toBe(100);
    expect(status.waves?.map((x) => [x.percent, x.namespaces.length, x.state])).toEqual([
      [10, 1, "Succeeded"],
      [25, 2, "Succeeded"],
      [50, 2, "Succeeded"],
      [100, 5, "Succeeded"],
    ]);
    for (const [, labels] of w.namespaces) {
      expect(labels["istio.io/rev"]).toBe("1-24-0");
    }
    for (const d of w.deployments) {
      expect(d.pods).toEqual(["1-24-0", "1-24-0"]);
      expect(d.restarts).toBe(1);
    }
    const waveLines = (status.history ?? []).filter((h) => h.reason === "WaveSucceeded").map((h) => h.wave);
    expect(waveLines).toEqual([0, 1, 2, 3]);
    expect(status.history?.at(-1)?.phase).toBe("Succeeded");
    expect(ready(status)?.status).toBe("True");
    expect(ready(status)?.message).toContain("1-23-0 is left running");
    expect(events.filter((e) => e.reason === "WaveStarted")).toHaveLength(4);
  });

  it("relabels a wave's namespaces before restarting anything, and restarts only once the labels are seen", () => {
    const w = tenNamespaces();
    const first = run(w, spec(), {}, { steps: 1 });
    const wave = first.status.waves?.[0];
    expect(first.status.phase).toBe("Progressing");
    expect(wave?.namespaces).toEqual(["ns-0"]);
    expect(wave?.previousLabels).toEqual({ "ns-0": { "istio.io/rev": "1-23-0" } });
    const kinds = first.decisions[0]?.actions.map((a) => a.type);
    expect(kinds).toContain("RelabelNamespaces");
    expect(kinds).not.toContain("RestartWorkloads");
    const second = run(w, spec(), first.status, { steps: 1 });
    const restart = second.decisions[0]?.actions.find((a) => a.type === "RestartWorkloads");
    expect(restart).toMatchObject({
      restartedAt: wave?.restartedAt,
      workloads: [
        { namespace: "ns-0", name: "a" },
        { namespace: "ns-0", name: "b" },
      ],
    });
  });

  it("never makes an empty wave when percentages round to the same count", () => {
    const w = new World();
    for (const n of ["x", "y", "z"]) w.addNamespace(n, { team: "shop", "istio.io/rev": "1-23-0" });
    const { status } = run(w, spec());
    expect(status.waves?.map((x) => [x.percent, x.namespaces])).toEqual([
      [10, ["x"]],
      [50, ["y"]],
      [100, ["z"]],
    ]);
  });

  it("moves istio-injection=enabled namespaces (the default revision) and removes that label", () => {
    const w = new World();
    w.addNamespace("legacy", { team: "shop", "istio-injection": "enabled" });
    const { status } = run(w, spec());
    expect(status.phase).toBe("Succeeded");
    expect(w.namespaces.get("legacy")).toEqual({ team: "shop", "istio.io/rev": "1-24-0" });
    expect(status.waves?.[0]?.previousLabels).toEqual({ legacy: { "istio-injection": "enabled" } });
  });

  it("never touches opted-out, injection-disabled, other-revision or un-injected namespaces", () => {
    const w = tenNamespaces();
    const others: [string, Record<string, string>][] = [
      ["opted-out", { team: "shop", "istio.io/rev": "1-23-0", "wren.dev/control-plane-upgrade": "skip" }],
      ["disabled", { team: "shop", "istio-injection": "disabled", "istio.io/rev": "1-23-0" }],
      ["older", { team: "shop", "istio.io/rev": "1-22-0" }],
      ["plain", { team: "shop" }],
      ["istio-system", { team: "shop", "istio.io/rev": "1-23-0" }],
    ];
    for (const [name, labels] of others) w.addNamespace(name, { ...labels });
    const { status } = run(w, spec());
    expect(status.phase).toBe("Succeeded");
    expect(status.selectedNamespaces).toBe(10);
    expect(status.skippedNamespaces).toBe(5);
    for (const [name, labels] of others) {
      expect(w.namespaces.get(name)).toEqual(labels);
      for (const d of w.deployments.filter((x) => x.namespace === name)) expect(d.restarts).toBe(0);
    }
  });

  it("leaves Deployments that opt out of injection alone", () => {
    const w = tenNamespaces();
    const batch = w.addDeployment("ns-0", "batch", { injectable: false });
    expect(run(w, spec()).status.phase).toBe("Succeeded");
    expect(batch.restarts).toBe(0);
  });

  it("needs `iterations` passing rounds per wave", () => {
    const w = tenNamespaces();
    let rounds = 0;
    w.checks = () => {
      rounds++;
      return pass;
    };
    const { status } = run(
      w,
      spec({ analysis: { interval: "10s", iterations: 2, metrics: spec().analysis.metrics } }),
    );
    expect(status.phase).toBe("Succeeded");
    expect(rounds).toBe(8);
    expect(status.waves?.every((x) => x.passedChecks === 2)).toBe(true);
  });

  it("first checks a wave one interval after every pod moved, over the wave's namespaces", () => {
    const w = tenNamespaces();
    const asked: { at: number; namespaces: string[] }[] = [];
    w.checks = (namespaces) => {
      asked.push({ at: w.now, namespaces });
      return pass;
    };
    const { status } = run(w, spec());
    const first = status.waves?.[0];
    expect(asked[0]?.namespaces).toEqual(["ns-0"]);
    expect(asked[0]?.at).toBeGreaterThanOrEqual(Date.parse(first?.movedAt ?? "") + 10_000);
    expect(asked[3]?.namespaces).toEqual(["ns-5", "ns-6", "ns-7", "ns-8", "ns-9"]);
  });

  it("with no metrics a wave passes as soon as its pods run the new revision", () => {
    const w = tenNamespaces();
    const { status } = run(w, spec({ analysis: { metrics: [] } }));
    expect(status.phase).toBe("Succeeded");
    expect(status.waves?.every((x) => x.checks === undefined)).toBe(true);
  });

  it("succeeds at once when no selected namespace is on the old revision", () => {
    const w = new World();
    w.addNamespace("already", { team: "shop", "istio.io/rev": "1-24-0" });
    const { status } = run(w, spec());
    expect(status.phase).toBe("Succeeded");
    expect(status.waves).toEqual([]);
    expect(w.actions).toEqual([]);
  });

  it("writes each namespace label once and restarts each Deployment once", () => {
    const w = tenNamespaces();
    run(w, spec());
    expect(w.namespaceWrites).toBe(10);
    const restarts = w.actions.filter((a) => a.type === "RestartWorkloads").flatMap((a) => a.workloads);
    expect(restarts).toHaveLength(20);
  });
});

describe("ControlPlaneUpgrade: waiting for the control plane", () => {
  it("waits for istiod-<to>, touching nothing, and fails at the deadline with that reason", () => {
    const w = tenNamespaces();
    w.istiod = { exists: true, ready: false };
    const { status, events } = run(w, spec());
    expect(status.phase).toBe("Failed");
    expect(ready(status)?.reason).toBe("ControlPlaneNotReady");
    expect(ready(status)?.message).toMatch(/istiod-1-24-0: 0 of 1 ready for 60s .*no namespace was touched/);
    expect(w.actions).toEqual([]);
    expect(status.waves).toEqual([]);
    expect(w.now - t0).toBeGreaterThan(60_000);
    expect(events.at(-1)?.eventType).toBe("Warning");
  });

  it("starts the first wave as soon as istiod-<to> becomes ready", () => {
    const w = tenNamespaces();
    w.istiod = { exists: false, ready: false };
    const waiting = run(w, spec(), {}, { steps: 3 });
    expect(waiting.status.phase).toBe("WaitingForControlPlane");
    expect(ready(waiting.status)?.reason).toBe("ControlPlaneNotReady");
    w.istiod = { exists: true, ready: true };
    expect(run(w, spec(), waiting.status).status.phase).toBe("Succeeded");
  });

  it("needs the revision tag to exist before the first wave", () => {
    const w = tenNamespaces();
    const { status } = run(w, spec({ revisionTag: "prod-stable" }));
    expect(status.phase).toBe("Failed");
    expect(ready(status)?.reason).toBe("RevisionTagNotFound");
    expect(w.actions).toEqual([]);
  });

  it("moves the revision tag after the last wave, and only then succeeds", () => {
    const w = tenNamespaces();
    w.tag = { exists: true, revision: "1-23-0", services: ["istiod-1-23-0"] };
    const { status, decisions } = run(w, spec({ revisionTag: "prod-stable" }));
    expect(status.phase).toBe("Succeeded");
    expect(w.tag).toEqual({ exists: true, revision: "1-24-0", services: ["istiod-1-24-0"] });
    const moveAt = decisions.findIndex((d) => d.actions.some((a) => a.type === "MoveRevisionTag"));
    expect(decisions[moveAt - 1]?.status.phase).toBe("Finalising");
    expect(status.waves?.every((x) => x.state === "Succeeded")).toBe(true);
    expect(w.actions.at(-1)).toEqual({ type: "MoveRevisionTag", tag: "prod-stable", revision: "1-24-0" });
  });
});

describe("ControlPlaneUpgrade: a revision tag Wren cannot move", () => {
  it("waits before the first wave, and fails at the deadline, when a tag webhook calls a URL", () => {
    const w = tenNamespaces();
    w.tag = {
      exists: true,
      revision: "1-23-0",
      services: [],
      urlWebhooks: ["rev.namespace.sidecar-injector.istio.io"],
    };
    const { status } = run(w, spec({ revisionTag: "prod-stable" }));
    expect(status.phase).toBe("Failed");
    expect(ready(status)?.reason).toBe("RevisionTagNotMovable");
    expect(ready(status)?.message).toContain("rev.namespace.sidecar-injector.istio.io call a URL");
    expect(w.actions).toEqual([]);
  });

  it("fails without rolling back when the tag turns out unmovable after the last wave", () => {
    const w = tenNamespaces();
    w.tag = { exists: true, revision: "1-23-0", services: ["istiod-1-23-0"] };
    const s = spec({ revisionTag: "prod-stable" });
    const finalising = run(w, s, {}, { until: (x) => x.phase === "Finalising" });
    w.tag = { exists: true, revision: "1-23-0", services: [], urlWebhooks: ["a"] };
    const { status } = run(w, s, finalising.status);
    expect(status.phase).toBe("Failed");
    expect(ready(status)?.reason).toBe("RevisionTagNotMovable");
    expect(ready(status)?.message).toMatch(/the namespaces stay on 1-24-0/);
    for (const [, labels] of w.namespaces) expect(labels["istio.io/rev"]).toBe("1-24-0");
  });

  it("fails without rolling back when the tag is deleted before the last wave ends", () => {
    const w = tenNamespaces();
    w.tag = { exists: true, revision: "1-23-0", services: ["istiod-1-23-0"] };
    const s = spec({ revisionTag: "prod-stable" });
    const finalising = run(w, s, {}, { until: (x) => x.phase === "Finalising" });
    w.tag = undefined;
    const { status } = run(w, s, finalising.status);
    expect(status.phase).toBe("Failed");
    expect(ready(status)?.reason).toBe("RevisionTagNotFound");
    for (const [, labels] of w.namespaces) expect(labels["istio.io/rev"]).toBe("1-24-0");
  });
});

describe("ControlPlaneUpgrade: rollback", () => {
  it("a failing first wave relabels its namespaces back, restarts them onto the old revision, and no later wave starts", () => {
    const w = tenNamespaces();
    w.checks = () => fail;
    const { status, events } = run(w, spec());
    expect(status.phase).toBe("Failed");
    expect(status.waves?.map((x) => x.state)).toEqual(["Failed"]);
    expect(status.canaryWeight).toBe(0);
    expect(w.namespaces.get("ns-0")?.["istio.io/rev"]).toBe("1-23-0");
    for (const d of w.deployments) expect(d.pods).toEqual(["1-23-0", "1-23-0"]);
    const moved = w.deployments.filter((d) => d.namespace === "ns-0");
    expect(moved.map((d) => d.restarts)).toEqual([2, 2]);
    expect(w.deployments.filter((d) => d.namespace !== "ns-0").every((d) => d.restarts === 0)).toBe(true);
    const last = events.at(-1);
    expect(last).toMatchObject({ eventType: "Warning", reason: "RolledBack" });
    expect(last?.message).toMatch(
      /wave 0 failed: .*wave 0 \(10%\).*request-success-rate 50 is below the minimum 99/,
    );
    expect(status.rollback?.restartedAt).not.toBe(status.waves?.[0]?.restartedAt);
  });

  it("restores exactly the labels each namespace had, and rolls back every wave moved so far", () => {
    const w = new World();
    w.addNamespace("a-enabled", { team: "shop", "istio-injection": "enabled" });
    for (let i = 0; i < 3; i++) w.addNamespace(`b-${i}`, { team: "shop", "istio.io/rev": "1-23-0" });
    let wave = 0;
    w.checks = () => (++wave >= 2 ? fail : pass);
    const { status } = run(w, spec({ waves: [25, 100] }));
    expect(status.phase).toBe("Failed");
    expect(status.waves?.map((x) => x.state)).toEqual(["RolledBack", "Failed"]);
    expect(w.namespaces.get("a-enabled")).toEqual({ team: "shop", "istio-injection": "enabled" });
    for (let i = 0; i < 3; i++)
      expect(w.namespaces.get(`b-${i}`)).toEqual({ team: "shop", "istio.io/rev": "1-23-0" });
    expect(
      w.deployments
        .filter((d) => d.namespace === "a-enabled")
        .every((d) => d.pods.every((p) => p === "default")),
    ).toBe(true);
  });

  it("with threshold 2, one failed round holds the wave and a second rolls it back", () => {
    const w = tenNamespaces();
    const verdicts = [fail, fail];
    w.checks = () => verdicts.shift() ?? pass;
    const s = spec({ analysis: { interval: "10s", threshold: 2, metrics: spec().analysis.metrics } });
    const first = run(w, s, {}, { until: (x) => x.waves?.[0]?.failedChecks === 1 });
    expect(first.status.phase).toBe("Progressing");
    expect(ready(first.status)?.reason).toBe("CheckFailed");
    expect(run(w, s, first.status).status.phase).toBe("Failed");
  });

  it("rolls back when a wave's pods do not all reach the new revision before the deadline", () => {
    const w = tenNamespaces();
    w.stuckRevisions.add("1-24-0");
    const { status } = run(w, spec());
    expect(status.phase).toBe("Failed");
    expect(status.rollback?.reason).toBe("ProgressDeadlineExceeded");
    expect(status.rollback?.message).toMatch(
      /wave 0 \(10%\) did not finish within 60s: waiting for ns-0\/a \(0 of 2 pods on 1-24-0, rollout in progress\)/,
    );
    expect(w.namespaces.get("ns-0")?.["istio.io/rev"]).toBe("1-23-0");
  });

  it("a namespace deleted during a wave blocks neither the wave nor its rollback", () => {
    const w = new World();
    for (const n of ["a", "b", "c", "d"]) w.addNamespace(n, { team: "shop", "istio.io/rev": "1-23-0" });
    w.checks = () => fail;
    const s = spec({ waves: [50, 100] });
    const started = run(w, s, {}, { steps: 1 });
    expect(started.status.waves?.[0]?.namespaces).toEqual(["a", "b"]);
    w.namespaces.delete("a");
    w.deployments = w.deployments.filter((d) => d.namespace !== "a");
    const { status } = run(w, s, started.status);
    expect(status.phase).toBe("Failed");
    expect(ready(status)?.reason).toBe("RolledBack");
    expect(w.namespaces.get("b")?.["istio.io/rev"]).toBe("1-23-0");
  });

  it("gives up with RollbackIncomplete when the rollback itself cannot finish in time", () => {
    const w = tenNamespaces();
    w.checks = () => fail;
    w.stuckRevisions.add("1-23-0");
    const { status } = run(w, spec());
    expect(status.phase).toBe("Failed");
    expect(ready(status)?.reason).toBe("RollbackIncomplete");
  });

  it("a spec changed mid-upgrade rolls back, then the new spec starts a new upgrade", () => {
    const w = tenNamespaces();
    const s = spec();
    const mid = run(w, s, {}, { until: (x) => x.waves?.[1]?.state === "Analysing" });
    const changed = spec({ to: "1-25-0" });
    const rolled = run(w, changed, mid.status, { until: (x) => x.phase === "Failed" });
    expect(rolled.status.rollback?.reason).toBe("SpecChanged");
    for (const [, labels] of w.namespaces) expect(labels["istio.io/rev"]).toBe("1-23-0");
    const again = run(w, changed, rolled.status, { steps: 1 });
    expect(again.status.to).toBe("1-25-0");
    expect(again.status.phase).toBe("Progressing");
  });

  it("holds while metrics are unavailable (never a pass), and rolls back after N with policy rollback", () => {
    const w = tenNamespaces();
    w.checks = () => unavailable;
    const held = run(w, spec(), {}, { steps: 40 });
    expect(held.status.phase).toBe("Progressing");
    expect(held.status.waves).toHaveLength(1);
    expect(held.status.waves?.[0]?.state).toBe("Analysing");
    expect(ready(held.status)?.reason).toBe("MetricsUnavailable");
    expect(held.status.metrics?.[0]?.verdict).toBe("Unavailable");

    const w2 = tenNamespaces();
    w2.checks = () => unavailable;
    const s = spec({
      analysis: {
        interval: "10s",
        metrics: spec().analysis.metrics,
        metricsUnavailable: { action: "rollback", after: 2 },
      },
    });
    const rolled = run(w2, s);
    expect(rolled.status.phase).toBe("Failed");
    expect(rolled.status.rollback?.reason).toBe("MetricsUnavailable");
  });
});

describe("ControlPlaneUpgrade: gateways", () => {
  const withGateways = () =>
    spec({ gateways: { selector: { matchLabels: { istio: "gateway" } } }, analysis: { metrics: [] } });

  it("leaves gateways out of the namespace waves and restarts them in a last wave of their own", () => {
    const w = tenNamespaces();
    const inNamespace = w.addDeployment("ns-0", "ingress", { labels: { istio: "gateway" } });
    const central = w.addDeployment("istio-system", "istio-ingressgateway", {
      labels: { istio: "gateway" },
      revisionLabel: "1-23-0",
    });
    const elsewhere = w.addDeployment("other", "egress", { labels: { istio: "gateway" } });
    const restartsDuring: number[] = [];
    const { status } = run(
      w,
      withGateways(),
      {},
      {
        until: (s) => {
          if (s.waves?.length === 4 && s.waves[3]?.state === "Succeeded")
            restartsDuring.push(inNamespace.restarts);
          return false;
        },
      },
    );
    expect(restartsDuring.every((n) => n === 0)).toBe(true);
    expect(status.phase).toBe("Succeeded");
    const last = status.waves?.at(-1);
    expect(last?.gateways).toEqual([
      { namespace: "istio-system", name: "istio-ingressgateway", previousRevisionLabel: "1-23-0" },
      { namespace: "ns-0", name: "ingress" },
    ]);
    expect(inNamespace.restartedAt).toBe(last?.restartedAt);
    expect(inNamespace.pods.every((p) => p === "1-24-0")).toBe(true);
    expect(central.revisionLabel).toBe("1-24-0");
    expect(central.pods.every((p) => p === "1-24-0")).toBe(true);
    expect(elsewhere.restarts).toBe(0);
  });

  it("a failing gateway wave puts the gateways' labels back along with every namespace", () => {
    const w = tenNamespaces();
    const central = w.addDeployment("istio-system", "istio-ingressgateway", {
      labels: { istio: "gateway" },
      revisionLabel: "1-23-0",
    });
    const s = spec({
      gateways: { selector: { matchLabels: { istio: "gateway" } } },
      waves: [100],
      analysis: { interval: "10s", metrics: spec().analysis.metrics },
    });
    let round = 0;
    w.checks = () => (++round >= 2 ? fail : pass);
    const { status } = run(w, s);
    expect(status.phase).toBe("Failed");
    expect(status.waves?.map((x) => x.state)).toEqual(["RolledBack", "Failed"]);
    expect(central.revisionLabel).toBe("1-23-0");
    expect(central.pods.every((p) => p === "1-23-0")).toBe(true);
  });
});

describe("ControlPlaneUpgrade: manual actions", () => {
  it("holds at a manual gate until promote, consuming the action once", () => {
    const w = tenNamespaces();
    const s = spec({ waves: [50, 100], manualGates: [100] });
    const gated = run(w, s);
    expect(gated.status.phase).toBe("WaitingPromotion");
    expect(gated.status.waves?.map((x) => x.state)).toEqual(["Succeeded"]);
    expect(ready(gated.status)?.message).toMatch(/wave 1 \(100%\) waits for kubectl wren promote/);
    const promoted = run(w, s, gated.status, { action: action("promote") });
    expect(promoted.status.phase).toBe("Succeeded");
    expect(promoted.status.lastAction).toMatchObject({
      id: "promote-1",
      result: "promoted",
      requestedBy: "alice",
    });
    expect(promoted.decisions.filter((d) => d.status.lastAction?.id === "promote-1")).not.toHaveLength(0);
    expect(promoted.status.waves).toHaveLength(2);
  });

  it("a gate on the first wave holds before anything moves", () => {
    const w = tenNamespaces();
    const gated = run(w, spec({ manualGates: [10] }));
    expect(gated.status.phase).toBe("WaitingPromotion");
    expect(w.actions).toEqual([]);
  });

  it("promote while a wave is analysed ends that wave now; while it moves it is ignored", () => {
    const w = tenNamespaces();
    const s = spec({ analysis: { interval: "1h", metrics: spec().analysis.metrics } });
    const moving = run(w, s, {}, { steps: 1 });
    const ignored = run(w, s, moving.status, { steps: 1, action: action("promote", "p1") });
    expect(ignored.status.lastAction?.result).toMatch(/ignored: wave 0 is still moving/);
    const analysing = run(w, s, ignored.status, { until: (x) => x.waves?.[0]?.state === "Analysing" });
    const promoted = run(w, s, analysing.status, { steps: 1, action: action("promote", "p2") });
    expect(promoted.status.waves?.[0]?.state).toBe("Succeeded");
    expect(promoted.status.waves?.[1]?.state).toBe("Moving");
  });

  it("promote --full skips the remaining gates and analysis", () => {
    const w = tenNamespaces();
    let rounds = 0;
    w.checks = () => {
      rounds++;
      return pass;
    };
    const s = spec({ manualGates: [25, 50, 100] });
    const gated = run(w, s);
    expect(gated.status.phase).toBe("WaitingPromotion");
    expect(rounds).toBe(1);
    const full = run(w, s, gated.status, { action: action("promote-full") });
    expect(full.status.phase).toBe("Succeeded");
    expect(full.status.promotedFully).toBe(true);
    expect(rounds).toBe(1);
  });

  it("abort during a wave rolls every moved namespace back", () => {
    const w = tenNamespaces();
    const s = spec({ analysis: { interval: "1h", metrics: spec().analysis.metrics } });
    const mid = run(w, s, {}, { steps: 1 });
    expect(mid.status.waves?.[0]?.state).toBe("Moving");
    const aborted = run(w, s, mid.status, { action: action("abort") });
    expect(aborted.status.phase).toBe("Failed");
    expect(aborted.status.rollback?.reason).toBe("Aborted");
    expect(aborted.status.rollback?.message).toBe("aborted by alice during wave 0 (10%)");
    expect(w.namespaces.get("ns-0")?.["istio.io/rev"]).toBe("1-23-0");
    expect(w.deployments.every((d) => d.pods.every((p) => p === "1-23-0"))).toBe(true);
  });

  it("abort before any wave fails without touching anything", () => {
    const w = tenNamespaces();
    w.istiod = { exists: false, ready: false };
    const waiting = run(w, spec(), {}, { steps: 1 });
    const aborted = run(w, spec(), waiting.status, { steps: 1, action: action("abort") });
    expect(aborted.status.phase).toBe("Failed");
    expect(ready(aborted.status)?.reason).toBe("Aborted");
    expect(w.actions).toEqual([]);
  });

  it("pause stops every action until resume; resume continues where it stopped", () => {
    const w = tenNamespaces();
    const mid = run(w, spec(), {}, { steps: 1 });
    const paused = run(w, spec(), mid.status, { steps: 1, action: action("pause") });
    expect(paused.status.phase).toBe("Paused");
    expect(paused.status.resumePhase).toBe("Progressing");
    const before = w.actions.length;
    w.now += 3_600_000;
    const still = run(w, spec(), paused.status, { steps: 5, action: action("pause") });
    expect(still.status.phase).toBe("Paused");
    expect(w.actions.length).toBe(before);
    const resumed = run(w, spec(), still.status, { action: action("resume") });
    expect(resumed.status.phase).toBe("Succeeded");
  });

  it("retry starts a failed upgrade again from the first wave", () => {
    const w = tenNamespaces();
    w.checks = () => fail;
    const failed = run(w, spec());
    expect(failed.status.phase).toBe("Failed");
    w.checks = () => pass;
    const retried = run(w, spec(), failed.status, { action: action("retry") });
    expect(retried.status.phase).toBe("Succeeded");
    expect(retried.status.lastAction?.result).toBe("restarted");
    expect(retried.status.waves).toHaveLength(4);
    expect(retried.status.history?.some((h) => h.reason === "RolledBack")).toBe(true);
  });

  it("ignores actions that do not apply, saying why", () => {
    const w = tenNamespaces();
    const done = run(w, spec());
    const retry = run(w, spec(), done.status, { steps: 1, action: action("retry") });
    expect(retry.status.lastAction?.result).toMatch(/ignored: only a failed upgrade can be retried/);
    expect(retry.decisions[0]?.actions).toContainEqual(
      expect.objectContaining({ type: "Event", reason: "ActionIgnored" }),
    );
  });
});

describe("ControlPlaneUpgrade: restart safety and the rest", () => {
  it("a controller killed after recording a wave and after restarting it repeats no restart", () => {
    const w = tenNamespaces();
    const s = spec();
    const started = run(w, s, {}, { steps: 2 });
    const restarted = w.deployments.filter((d) => d.namespace === "ns-0");
    expect(restarted.every((d) => d.restarts === 1)).toBe(true);
    // A new controller decides again from the same status, mid-rollout and after it.
    for (let i = 0; i < 3; i++) {
      const again = decideControlPlaneUpgrade(s, started.status, w.observe(s, started.status));
      expect(again.actions.some((a) => a.type === "RestartWorkloads")).toBe(false);
      w.act(again.actions);
    }
    expect(restarted.every((d) => d.restarts === 1)).toBe(true);
    expect(run(w, s, started.status).status.phase).toBe("Succeeded");
    expect(w.deployments.every((d) => d.restarts === 1)).toBe(true);
  });

  it("a controller killed between recording a wave and relabelling relabels on restart", () => {
    const w = tenNamespaces();
    const s = spec();
    const d = decideControlPlaneUpgrade(s, {}, w.observe(s, {}));
    // The status was written, the act never ran.
    const again = decideControlPlaneUpgrade(s, d.status, w.observe(s, d.status));
    expect(again.actions.find((a) => a.type === "RelabelNamespaces")).toEqual({
      type: "RelabelNamespaces",
      namespaces: [{ name: "ns-0", labels: { "istio.io/rev": "1-24-0", "istio-injection": null } }],
    });
    expect(again.status.waves).toEqual(d.status.waves);
  });

  it("plans reads of only the namespaces in flight", () => {
    const w = tenNamespaces();
    const s = spec();
    const moving = run(w, s, {}, { steps: 1 });
    expect(planControlPlaneUpgrade(s, moving.status, new Date(w.now)).workloadNamespaces).toEqual(["ns-0"]);
    w.checks = () => fail;
    const rolling = run(w, s, moving.status, { until: (x) => x.phase === "RollingBack" });
    expect(rolling.status.phase).toBe("RollingBack");
    expect(planControlPlaneUpgrade(s, rolling.status, new Date(w.now)).workloadNamespaces).toEqual(["ns-0"]);
  });

  it("does nothing while suspended", () => {
    const w = tenNamespaces();
    const d = decideControlPlaneUpgrade(spec({ suspend: true }), {}, w.observe(spec(), {}));
    expect(d.actions).toEqual([]);
    expect(ready(d.status)?.reason).toBe("Suspended");
  });

  it("a new `to` after success starts a new upgrade", () => {
    const w = tenNamespaces();
    const done = run(w, spec());
    const next = spec({ from: "1-24-0", to: "1-25-0" });
    const again = run(w, next, done.status);
    expect(again.status.phase).toBe("Succeeded");
    expect(again.status.from).toBe("1-24-0");
    for (const [, labels] of w.namespaces) expect(labels["istio.io/rev"]).toBe("1-25-0");
  });

  it("reports the share of namespaces moved as canaryWeight", () => {
    const w = tenNamespaces();
    const weights: number[] = [];
    run(
      w,
      spec(),
      {},
      {
        until: (s) => {
          if (weights.at(-1) !== s.canaryWeight) weights.push(s.canaryWeight ?? -1);
          return false;
        },
      },
    );
    expect(weights).toEqual([10, 30, 50, 100]);
  });
});
