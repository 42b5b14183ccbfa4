// ControlPlaneUpgrade test helpers: istiod-<rev> Deployments in istio-system,
// namespaces served by a revision (with Deployments, Services and meshsim traffic),
// revision tags, and reading the upgrade's status. Every name carries a per-file
// suffix and every namespace a per-file label, so test files running in parallel
// select only their own namespaces and revisions.
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubernetesObject,
  type V1Deployment,
} from "@kubernetes/client-node";
import { afterAll, expect } from "vitest";
import type { ControlPlaneUpgradeStatus } from "../../src/api/control-plane-upgrade.ts";
import { mergePatch } from "../../src/kube/apply.ts";
import { eventually } from "./eventually.ts";
import { apply, deployment, service, traffic } from "./fixtures.ts";
import { testbedKubeConfig } from "./testbed.ts";

export const istioNamespace = "istio-system";
/** The label each test file's namespaces carry: the upgrade's namespaceSelector picks them by it. */
export const testLabel = "wren.dev/cpu-test";

/** A short random suffix: lower case letters and digits, valid in names and label values. */
export function suffix(): string {
  return Math.random().toString(36).slice(2, 7);
}

/** An istiod Deployment for a revision, as meshsim reads one; `ready: false` leaves its pod unschedulable. */
export function istiod(revision: string, { ready = true, faulty = false } = {}): V1Deployment {
  const labels = { app: "istiod", "istio.io/rev": revision };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: `istiod-${revision}`,
      namespace: istioNamespace,
      labels,
      annotations: faulty ? { "meshsim.wren.dev/faulty": "true" } : {},
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [{ name: "discovery", image: `docker.io/istio/pilot:${revision}` }],
          // No node carries this label: the pod stays Pending and istiod never becomes ready.
          ...(ready ? {} : { nodeSelector: { "wren.dev/no-such-node": "true" } }),
        },
      },
    },
  };
}

/** A revision tag's MutatingWebhookConfiguration pointing at istiod-<revision>. Its webhooks match no namespace and fail open, so the API server never calls them. */
export function revisionTag(tag: string, revision: string): KubernetesObject {
  const webhook = (name: string) => ({
    name,
    admissionReviewVersions: ["v1"],
    sideEffects: "None",
    failurePolicy: "Ignore",
    clientConfig: {
      service: { name: `istiod-${revision}`, namespace: istioNamespace, path: "/inject", port: 443 },
    },
    rules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }],
    namespaceSelector: { matchExpressions: [{ key: "wren.dev/no-namespace-has-this", operator: "Exists" }] },
  });
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: {
      name: `istio-revision-tag-${tag}`,
      labels: { "istio.io/rev": revision, "istio.io/tag": tag },
    },
    webhooks: [
      webhook("rev.namespace.sidecar-injector.istio.io"),
      webhook("rev.object.sidecar-injector.istio.io"),
    ],
  } as KubernetesObject;
}

export interface MeshNamespace {
  name: string;
  deployments: string[];
}

/**
 * Cleans up, after the calling file, every istiod, namespace and tag it created
 * through the returned helpers.
 */
export function useIstioRevisions(): {
  id: string;
  /** Creates (or updates) istiod-<revision>. */
  istiod(revision: string, options?: { ready?: boolean; faulty?: boolean }): Promise<void>;
  /** Creates a namespace labelled for this file with Deployments (each with a Service and traffic). */
  namespace(
    name: string,
    labels: Record<string, string>,
    deployments?: string[],
    options?: { replicas?: number; rps?: number; gateway?: string; minReadySeconds?: number },
  ): Promise<MeshNamespace>;
  tag(tag: string, revision: string): Promise<void>;
} {
  const id = suffix();
  const istiods = new Set<string>();
  const namespaces = new Set<string>();
  const tags = new Set<string>();
  afterAll(async () => {
    const kc = testbedKubeConfig();
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    for (const name of istiods)
      await apps.deleteNamespacedDeployment({ name, namespace: istioNamespace }).catch(() => undefined);
    for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => undefined);
    for (const name of tags)
      await admission.deleteMutatingWebhookConfiguration({ name }).catch(() => undefined);
  });
  return {
    id,
    async istiod(revision, options) {
      istiods.add(`istiod-${revision}`);
      await apply(istiod(revision, options));
    },
    async namespace(
      name,
      labels,
      deployments = ["web", "api"],
      { replicas = 1, rps = 4, gateway, minReadySeconds } = {},
    ) {
      namespaces.add(name);
      await apply({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name, labels: { [testLabel]: id, "wren.dev/test": "controlplane", ...labels } },
      } as KubernetesObject);
      const objects: KubernetesObject[] = [];
      for (const d of deployments) {
        const dep = deployment(name, d, { replicas });
        // Slower rollouts, for tests that act in the middle of one.
        if (minReadySeconds !== undefined && dep.spec) dep.spec.minReadySeconds = minReadySeconds;
        if (d === gateway)
          dep.metadata = { ...dep.metadata, labels: { ...dep.metadata?.labels, istio: `gw-${id}` } };
        objects.push(dep, service(name, d, { app: d }));
      }
      objects.push(
        traffic(
          name,
          "clients",
          deployments.filter((d) => d !== gateway).map((host) => ({ host, rps })),
        ),
      );
      await apply(...objects);
      return { name, deployments };
    },
    async tag(tag, revision) {
      tags.add(`istio-revision-tag-${tag}`);
      await apply(revisionTag(tag, revision));
    },
  };
}

/** A ControlPlaneUpgrade selecting this file's namespaces, with test-sized timing. */
export function controlPlaneUpgrade(
  namespace: string,
  name: string,
  id: string,
  spec: Record<string, unknown>,
): KubernetesObject {
  return {
    apiVersion: "wren.dev/v1alpha1",
    kind: "ControlPlaneUpgrade",
    metadata: { name, namespace },
    spec: { namespaceSelector: { matchLabels: { [testLabel]: id } }, ...spec },
  } as KubernetesObject;
}

export async function upgradeStatus(namespace: string, name: string): Promise<ControlPlaneUpgradeStatus> {
  const obj = (await testbedKubeConfig().makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
    group: "wren.dev",
    version: "v1alpha1",
    namespace,
    plural: "controlplaneupgrades",
    name,
  })) as { status?: ControlPlaneUpgradeStatus };
  return obj.status ?? {};
}

/** Waits until the upgrade's status satisfies `check` (an expect-throwing probe) and returns it. */
export async function untilUpgrade(
  namespace: string,
  name: string,
  what: string,
  check: (s: ControlPlaneUpgradeStatus) => void,
  timeoutMs = 150_000,
): Promise<ControlPlaneUpgradeStatus> {
  return eventually(
    `${name}: ${what}`,
    async () => {
      const s = await upgradeStatus(namespace, name);
      check(s);
      return s;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** Waits until the upgrade reaches one of `phases`. */
export function untilUpgradePhase(namespace: string, name: string, phases: string[], timeoutMs = 150_000) {
  return untilUpgrade(
    namespace,
    name,
    phases.join(" or "),
    (s) => expect(phases).toContain(s.phase),
    timeoutMs,
  );
}

/** Asks for a manual action on a ControlPlaneUpgrade the way kubectl wren does. */
export async function requestUpgradeAction(namespace: string, name: string, action: string): Promise<string> {
  const id = crypto.randomUUID();
  await mergePatch(
    testbedKubeConfig(),
    { apiVersion: "wren.dev/v1alpha1", kind: "ControlPlaneUpgrade", metadata: { name, namespace } },
    {
      metadata: {
        annotations: {
          "wren.dev/action": JSON.stringify({
            id,
            action,
            requestedBy: "e2e",
            requestedAt: new Date().toISOString(),
          }),
        },
      },
    },
  );
  return id;
}

export async function namespaceLabels(name: string): Promise<Record<string, string>> {
  const ns = await testbedKubeConfig().makeApiClient(CoreV1Api).readNamespace({ name });
  return ns.metadata?.labels ?? {};
}

export interface PodInfo {
  uid: string;
  deployment: string;
  revision: string;
}

/** The live pods of a namespace: uid, Deployment (app label) and sidecar revision annotation. */
export async function pods(namespace: string): Promise<PodInfo[]> {
  const list = await testbedKubeConfig().makeApiClient(CoreV1Api).listNamespacedPod({ namespace });
  return list.items
    .filter((p) => p.metadata?.deletionTimestamp === undefined)
    .map((p) => ({
      uid: p.metadata?.uid ?? "",
      deployment: p.metadata?.labels?.app ?? "",
      revision: p.metadata?.annotations?.["istio.io/rev"] ?? "",
    }));
}

/** Waits until every live pod of each namespace carries `revision` (and there is at least one). */
export async function untilPodsOn(namespaces: string[], revision: string, timeoutMs = 90_000): Promise<void> {
  await eventually(
    `pods of ${namespaces.join(", ")} on ${revision}`,
    async () => {
      for (const ns of namespaces) {
        const live = await pods(ns);
        expect(live.length, `pods in ${ns}`).toBeGreaterThan(0);
        expect(
          live.map((p) => p.revision),
          `revisions in ${ns}`,
        ).toEqual(live.map(() => revision));
      }
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** The Deployment's pod template restartedAt annotation. */
export async function restartedAt(namespace: string, name: string): Promise<string | undefined> {
  const d = await testbedKubeConfig().makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace, name });
  return d.spec?.template.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"];
}

/** How many ReplicaSets a Deployment has had: one per distinct pod template, so one more per restart. */
export async function replicaSetCount(namespace: string, name: string): Promise<number> {
  const list = await testbedKubeConfig()
    .makeApiClient(AppsV1Api)
    .listNamespacedReplicaSet({ namespace, labelSelector: `app=${name}` });
  return list.items.length;
}

/** Warning Events on the upgrade with a reason. */
export async function upgradeEvents(namespace: string, name: string, reason: string) {
  const events = await testbedKubeConfig()
    .makeApiClient(CoreV1Api)
    .listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name},reason=${reason}` });
  return events.items;
}
