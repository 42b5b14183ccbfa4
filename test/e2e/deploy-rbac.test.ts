// deploy/ on the testbed: the manifests apply with server-side apply, and the
// controller running as the ServiceAccount they create (its own token, not the
// admin's) takes a Canary all the way to Succeeded; the account is not an admin.
import { AuthorizationV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployCanary, revision, untilPhase } from "../support/canary.ts";
import { type RunningController, startController } from "../support/controller.ts";
import { apply } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { deployAccountKubeConfig } from "../support/service-account.ts";

const ns = useNamespace("deploy");
let controller: RunningController | undefined;
let serviceAccountConfig = "";

beforeAll(async () => {
  serviceAccountConfig = await deployAccountKubeConfig();
  controller = await startController({
    namespace: ns.name,
    kubeconfig: serviceAccountConfig,
    leaseNamespace: "wren-system",
    identity: `deploy-test-${process.pid}`,
  });
});
afterAll(async () => {
  await controller?.kill();
});

describe("deploy/", () => {
  it("gives the controller enough to take a Canary to Succeeded", async () => {
    await deployCanary(ns.name, "app", {
      interval: "3s",
      threshold: 2,
      maxWeight: 20,
      stepWeight: 10,
      metrics: [{ name: "request-success-rate", thresholdRange: { min: 95 }, interval: "10s" }],
    });
    await apply(revision(ns.name, "app", "example.com/app:2", {}, 1));
    const status = await untilPhase(ns.name, "app", ["Succeeded", "Failed"]);
    expect(status.phase).toBe("Succeeded");
    expect(controller?.process.exitCode ?? null).toBeNull();
  });

  it("is not cluster-admin", async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(serviceAccountConfig);
    const may = async (verb: string, resource: string, group = "", namespace?: string) => {
      const review = await kc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
        body: { spec: { resourceAttributes: { verb, resource, group, namespace } } },
      });
      return review.status?.allowed ?? false;
    };
    expect(await may("patch", "canaries", "wren.dev", ns.name)).toBe(true);
    expect(await may("get", "secrets", "", ns.name)).toBe(true);
    expect(await may("list", "secrets", "", ns.name)).toBe(false);
    expect(await may("delete", "deployments", "apps", ns.name)).toBe(false);
    expect(await may("create", "clusterrolebindings", "rbac.authorization.k8s.io")).toBe(false);
    expect(await may("delete", "nodes")).toBe(false);
    expect(await may("update", "leases", "coordination.k8s.io", "wren-system")).toBe(true);
    expect(await may("update", "leases", "coordination.k8s.io", ns.name)).toBe(false);
  });
});
