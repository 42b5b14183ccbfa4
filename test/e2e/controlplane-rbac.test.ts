// deploy/'s RBAC is enough for a ControlPlaneUpgrade: the controller, running as
// the ServiceAccount deploy/ creates, relabels namespaces, restarts their
// Deployments and a gateway, reads their pods, and moves a revision tag.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningController, startController } from "../support/controller.ts";
import { apply } from "../support/fixtures.ts";
import {
  controlPlaneUpgrade,
  namespaceLabels,
  untilPodsOn,
  untilUpgradePhase,
  useIstioRevisions,
} from "../support/istio-revisions.ts";
import { useNamespace } from "../support/namespace.ts";
import { deployObjects, serviceAccountKubeConfig } from "../support/service-account.ts";

const ns = useNamespace("cpu-rbac");
const mesh = useIstioRevisions();
const from = `1-23-0-${mesh.id}`;
const to = `1-24-0-${mesh.id}`;
let controller: RunningController | undefined;

beforeAll(async () => {
  await apply(...deployObjects());
  // No leader election: the ServiceAccount may only hold the Lease in wren-system, which deploy-rbac uses.
  controller = await startController({
    namespace: ns.name,
    kubeconfig: await serviceAccountKubeConfig(),
    leaderElect: false,
    identity: `cpu-rbac-${process.pid}`,
  });
});
afterAll(async () => {
  await controller?.kill();
});

describe("deploy/ RBAC and ControlPlaneUpgrade", () => {
  it("lets the controller take an upgrade with a gateway and a tag to Succeeded", async () => {
    await mesh.istiod(from);
    await mesh.istiod(to);
    await mesh.tag(`rbac-${mesh.id}`, from);
    const names = [`cpu-${mesh.id}-0`, `cpu-${mesh.id}-1`];
    await mesh.namespace(names[0] ?? "", { "istio.io/rev": from }, ["web", "ingress"], {
      gateway: "ingress",
    });
    await mesh.namespace(names[1] ?? "", { "istio.io/rev": from });
    await untilPodsOn(names, from);
    await apply(
      controlPlaneUpgrade(ns.name, "rbac", mesh.id, {
        from,
        to,
        waves: [50, 100],
        revisionTag: `rbac-${mesh.id}`,
        gateways: { selector: { matchLabels: { istio: `gw-${mesh.id}` } } },
        progressDeadlineSeconds: 60,
        analysis: { interval: "3s", metrics: [] },
      }),
    );
    const done = await untilUpgradePhase(ns.name, "rbac", ["Succeeded", "Failed"], 120_000);
    expect(done.phase, JSON.stringify(done.conditions)).toBe("Succeeded");
    expect(done.waves?.map((w) => w.state)).toEqual(["Succeeded", "Succeeded", "Succeeded"]);
    for (const name of names) expect((await namespaceLabels(name))["istio.io/rev"]).toBe(to);
    await untilPodsOn(names, to, 10_000);
    expect(controller?.process.exitCode ?? null).toBeNull();
  });
});
