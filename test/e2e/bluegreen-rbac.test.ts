// The controller running with exactly deploy/'s RBAC takes a BlueGreen through a
// release and an abort: every read and write the kind needs is granted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  analysis,
  blueGreen,
  previewTraffic,
  readDeployment,
  requestBlueGreenAction,
  untilBlueGreenPhase,
} from "../support/bluegreen.ts";
import { type RunningController, startController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply, deployment } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { deployAccountKubeConfig } from "../support/service-account.ts";

const ns = useNamespace("bluegreen-rbac");
let controller: RunningController | undefined;

beforeAll(async () => {
  controller = await startController({
    namespace: ns.name,
    kubeconfig: await deployAccountKubeConfig(),
    // No Lease: deploy-rbac.test.ts's controller may hold wren-system's at the same time (it checks that RBAC).
    leaderElect: false,
    identity: `bluegreen-rbac-${process.pid}`,
  });
});
afterAll(async () => {
  await controller?.kill();
});

describe("deploy/ RBAC for BlueGreen", () => {
  it("is enough to initialise, release, switch and roll back", async () => {
    const n = ns.name;
    await apply(deployment(n, "app", { replicas: 1 }), previewTraffic(n, "app"));
    await apply(blueGreen(n, "app", { analysis: analysis({ iterations: 1 }), scaleDownDelay: "5m" }));
    await untilBlueGreenPhase(n, "app", ["Initialized"], 60_000);
    await eventually("the target scaled to 0", async () =>
      expect((await readDeployment(n, "app"))?.spec?.replicas).toBe(0),
    );
    await apply(deployment(n, "app", { replicas: 1, image: "example.com/app:2" }));
    const done = await untilBlueGreenPhase(n, "app", ["Succeeded", "Failed"]);
    expect(done.phase).toBe("Succeeded");
    await requestBlueGreenAction(n, "app", "abort");
    const back = await untilBlueGreenPhase(n, "app", ["Failed"]);
    expect(back.activeColour).toBe("blue");
    expect(controller?.process.exitCode ?? null).toBeNull();
  });
});
