// Running the controller as the ServiceAccount deploy/ creates, with exactly the
// RBAC deploy/cluster-role.yaml grants: the manifests, and a kubeconfig holding a
// token the API server issues for wren-system/wren.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, type KubernetesObject } from "@kubernetes/client-node";
import { parse, parseAllDocuments } from "yaml";
import { apply } from "./fixtures.ts";
import { testbedKubeConfig } from "./testbed.ts";

const deployDir = fileURLToPath(new URL("../../deploy/", import.meta.url));

/** The objects `kubectl apply -k deploy/` would apply, minus the controller's Deployment and the CRDs. */
export function deployObjects(): KubernetesObject[] {
  const kustomization = parse(readFileSync(join(deployDir, "kustomization.yaml"), "utf8")) as {
    resources: string[];
  };
  return kustomization.resources
    .filter((r) => r.endsWith(".yaml"))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(deployDir, file), "utf8")).map((d) => d.toJS() as KubernetesObject),
    )
    .filter((o) => o && o.kind !== "Deployment");
}

/** A kubeconfig file that authenticates as wren-system/wren. */
export async function serviceAccountKubeConfig(): Promise<string> {
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

/** Applies deploy/ (server-side) and returns a kubeconfig that authenticates as wren-system/wren. */
export async function deployAccountKubeConfig(): Promise<string> {
  await apply(...deployObjects());
  return serviceAccountKubeConfig();
}
