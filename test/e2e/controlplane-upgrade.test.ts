// A healthy ControlPlaneUpgrade on the testbed: ten namespaces with two
// Deployments each move from one istiod revision to another in waves of
// 10/25/50/100%, a gateway moves last in a wave of its own, the revision tag
// follows, and namespaces that opted out or disabled injection are never touched.
import { AdmissionregistrationV1Api, AppsV1Api } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { useController } from "../support/controller.ts";
import { apply } from "../support/fixtures.ts";
import {
  controlPlaneUpgrade,
  namespaceLabels,
  type PodInfo,
  pods,
  replicaSetCount,
  restartedAt,
  untilPodsOn,
  untilUpgradePhase,
  useIstioRevisions,
} from "../support/istio-revisions.ts";
import { useNamespace } from "../support/namespace.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("cpu-upgrade");
useController(ns);
const mesh = useIstioRevisions();
const from = `1-23-0-${mesh.id}`;
const to = `1-24-0-${mesh.id}`;
const tag = `stable-${mesh.id}`;
const moved = Array.from({ length: 10 }, (_, i) => `cpu-${mesh.id}-${i}`);
const optedOut = `cpu-${mesh.id}-optout`;
const disabled = `cpu-${mesh.id}-disabled`;
const untouchedBefore = new Map<string, { labels: Record<string, string>; pods: PodInfo[] }>();

beforeAll(async () => {
  await mesh.istiod(from);
  await mesh.istiod(to);
  await mesh.tag(tag, from);
  for (const [i, name] of moved.entries()) {
    const gateway = i === 0 ? "ingress" : undefined;
    await mesh.namespace(name, { "istio.io/rev": from }, gateway ? ["web", "api", gateway] : ["web", "api"], {
      gateway,
    });
  }
  await mesh.namespace(optedOut, { "istio.io/rev": from, "wren.dev/control-plane-upgrade": "skip" });
  await mesh.namespace(disabled, { "istio-injection": "disabled", "istio.io/rev": from });
  await untilPodsOn([...moved, optedOut], from);
  await untilPodsOn([disabled], "");
  for (const name of [optedOut, disabled]) {
    untouchedBefore.set(name, { labels: await namespaceLabels(name), pods: await pods(name) });
  }
});

describe("ControlPlaneUpgrade on the testbed", () => {
  it("moves every selected namespace wave by wave, then the gateway, then the tag", async () => {
    const started = Date.now();
    await apply(
      controlPlaneUpgrade(ns.name, "upgrade", mesh.id, {
        from,
        to,
        waves: [10, 25, 50, 100],
        revisionTag: tag,
        gateways: { selector: { matchLabels: { istio: `gw-${mesh.id}` } } },
        progressDeadlineSeconds: 120,
        analysis: {
          interval: "5s",
          metrics: [
            { name: "request-success-rate", thresholdRange: { min: 95 }, interval: "5s" },
            { name: "request-duration", thresholdRange: { max: 1000 }, interval: "5s" },
            { name: "istiod-xds-rejects", thresholdRange: { max: 0 }, interval: "10s" },
            { name: "istiod-push-errors", thresholdRange: { max: 0 }, interval: "10s" },
            { name: "istiod-convergence-p99", thresholdRange: { max: 5 }, interval: "10s" },
          ],
        },
      }),
    );
    const done = await untilUpgradePhase(ns.name, "upgrade", ["Succeeded", "Failed"], 170_000);
    const seconds = (Date.now() - started) / 1000;
    expect(done.phase, JSON.stringify(done.conditions)).toBe("Succeeded");
    expect(done.canaryWeight).toBe(100);
    expect(done.selectedNamespaces).toBe(10);
    expect(done.skippedNamespaces).toBe(2);

    // Waves in order: 1, 2, 2 and 5 namespaces, then the gateway alone.
    const waves = done.waves ?? [];
    expect(waves.map((w) => [w.percent, w.namespaces.length, w.state])).toEqual([
      [10, 1, "Succeeded"],
      [25, 2, "Succeeded"],
      [50, 2, "Succeeded"],
      [100, 5, "Succeeded"],
      [100, 0, "Succeeded"],
    ]);
    expect(waves.flatMap((w) => w.namespaces).sort()).toEqual([...moved].sort());
    expect(waves[4]?.gateways).toEqual([{ namespace: moved[0], name: "ingress" }]);
    const starts = waves.map((w) => Date.parse(w.startedAt));
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);
    for (const [i, w] of waves.entries()) {
      if (i > 0)
        expect(Date.parse(w.startedAt)).toBeGreaterThanOrEqual(Date.parse(waves[i - 1]?.finishedAt ?? ""));
      expect(w.checks?.map((c) => c.verdict)).toEqual(["Pass", "Pass", "Pass", "Pass", "Pass"]);
    }
    const history = (done.history ?? []).filter((h) => h.reason === "WaveSucceeded").map((h) => h.wave);
    expect(history).toEqual([0, 1, 2, 3, 4]);

    // Every selected namespace relabelled, every pod on the new revision.
    for (const name of moved) {
      const labels = await namespaceLabels(name);
      expect(labels["istio.io/rev"]).toBe(to);
      expect(labels["istio-injection"]).toBeUndefined();
    }
    await untilPodsOn(moved, to, 10_000);

    // Each Deployment restarted exactly once, in its own wave; the gateway only in the last.
    for (const w of waves.slice(0, 4)) {
      for (const name of w.namespaces) {
        for (const d of ["web", "api"]) {
          expect(await restartedAt(name, d)).toBe(w.restartedAt);
          expect(await replicaSetCount(name, d)).toBe(2);
        }
      }
    }
    expect(await restartedAt(moved[0] ?? "", "ingress")).toBe(waves[4]?.restartedAt);
    expect(await replicaSetCount(moved[0] ?? "", "ingress")).toBe(2);

    // The tag now points at the new istiod; the old istiod is still there.
    const kc = testbedKubeConfig();
    const mwc = await kc
      .makeApiClient(AdmissionregistrationV1Api)
      .readMutatingWebhookConfiguration({ name: `istio-revision-tag-${tag}` });
    expect(mwc.metadata?.labels?.["istio.io/rev"]).toBe(to);
    expect(mwc.webhooks?.map((w) => w.clientConfig.service?.name)).toEqual([`istiod-${to}`, `istiod-${to}`]);
    expect(mwc.webhooks?.map((w) => w.failurePolicy)).toEqual(["Ignore", "Ignore"]);
    const old = await kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: `istiod-${from}`, namespace: "istio-system" });
    expect(old.metadata?.deletionTimestamp).toBeUndefined();

    // Opted-out and injection-disabled namespaces kept their labels and their pods.
    for (const [name, before] of untouchedBefore) {
      expect(await namespaceLabels(name)).toEqual(before.labels);
      const now = await pods(name);
      expect(now.map((p) => p.uid).sort()).toEqual(before.pods.map((p) => p.uid).sort());
    }

    const perWave = waves.map(
      (w) => `${w.index}:${((Date.parse(w.finishedAt ?? "") - Date.parse(w.startedAt)) / 1000).toFixed(1)}s`,
    );
    console.log(
      `controlplane-upgrade: 10 namespaces x 2 Deployments in ${seconds.toFixed(1)} s; per wave ${perWave.join(" ")}`,
    );
  });
});
