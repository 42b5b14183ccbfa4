// deploy/ on the testbed: the manifests apply with server-side apply, and the
// controller running as the ServiceAccount they create (its own token, not the
// admin's) takes a Canary all the way to Succeeded; the account is not an admin.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AuthorizationV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { deployCanary, revision, untilPhase } from "../support/canary.ts";
import { type RunningController, startController } from "../support/controller.ts";
import { apply } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const deployDir = fileURLToPath(new URL("../../deploy/", import.meta.url));
const ns = useNamespace("deploy");
let controller: RunningController | undefined;
let serviceAccountConfig = "";

/** The objects `kubectl apply -k deploy/` would apply, minus the CRDs the testbed already has. */
function deployObjects() {
  const kustomization = parse(readFileSync(join(deployDir, "kustomization.yaml"), "utf8")) as {
    resources: string[];
  };
  return kustomization.resources
    .filter((r) => r.endsWith(".yaml"))
    .flatMap((file) => parseAllDocuments(readFileSync(join(deployDir, file), "utf8")).map((d) => d.toJS()))
    .filter((o) => o && o.kind !== "Deployment");
}

/** A kubeconfig that authenticates as wren-system/wren with a token the API server issues. */
async function serviceAccountKubeConfig(): Promise<string> {
  const admin = testbedKubeConfig();
  const token = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: "wren",
    namespace: "wren-system",
    body: { spec: { expirationSeconds: 3600 } },
  });
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "testbed",
        cluster: { server: admin.getCurrentCluster()?.server, "insecure-skip-tls-verify": true },
      },
    ],
    users: [{ name: "wren", user: { token: token.status?.token } }],
    contexts: [{ name: "wren", context: { cluster: "testbed", user: "wren" } }],
    "current-context": "wren",
  };
  const file = join(mkdtempSync(join(tmpdir(), "wren-sa-")), "kubeconfig");
  writeFileSync(file, JSON.stringify(config));
  return file;
}

beforeAll(async () => {
  await apply(...deployObjects());
  serviceAccountConfig = await serviceAccountKubeConfig();
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
