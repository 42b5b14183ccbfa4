// Canary test helpers: objects, reading status, recording VirtualService weights over time.
import { CustomObjectsApi, type KubernetesObject } from "@kubernetes/client-node";
import { expect } from "vitest";
import type { CanaryStatus } from "../../src/api/canary.ts";
import type { VirtualService } from "../../src/engine/routing/istio.ts";
import { mergePatch } from "../../src/kube/apply.ts";
import type { Informer } from "../../src/kube/informer.ts";
import { resourceInformer } from "../../src/kube/resource-informer.ts";
import { eventually } from "./eventually.ts";
import { apply, type Behaviour, deployment, traffic } from "./fixtures.ts";
import { testbedKubeConfig } from "./testbed.ts";

/** A Canary object for target `name`, with test-sized intervals. */
export function canary(
  namespace: string,
  name: string,
  analysis: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): KubernetesObject {
  return {
    apiVersion: "wren.dev/v1alpha1",
    kind: "Canary",
    metadata: { name, namespace },
    spec: { targetRef: { name }, service: { port: 80, targetPort: 8080 }, analysis, ...extra },
  } as KubernetesObject;
}

/** The smallest valid Canary, for tests of the controller core that never reconcile it. */
export function minimalCanary(namespace: string, name: string): KubernetesObject {
  return canary(
    namespace,
    name,
    { interval: "10s", maxWeight: 50, stepWeight: 10 },
    { targetRef: { name: "x" } },
  );
}

export async function readCanary(
  namespace: string,
  name: string,
): Promise<KubernetesObject & { status?: CanaryStatus }> {
  const api = testbedKubeConfig().makeApiClient(CustomObjectsApi);
  return (await api.getNamespacedCustomObject({
    group: "wren.dev",
    version: "v1alpha1",
    namespace,
    plural: "canaries",
    name,
  })) as KubernetesObject & { status?: CanaryStatus };
}

export async function canaryStatus(namespace: string, name: string): Promise<CanaryStatus> {
  return (await readCanary(namespace, name)).status ?? {};
}

/** A new revision of the target: another image, and meshsim behaviour to go with it. */
export function revision(
  namespace: string,
  name: string,
  image: string,
  behaviour: Behaviour = {},
  replicas = 2,
) {
  return deployment(namespace, name, { replicas, image, behaviour });
}

/** Asks for a manual action the way kubectl wren does: the wren.dev/action annotation. */
export async function requestAction(namespace: string, name: string, action: string): Promise<string> {
  const id = crypto.randomUUID();
  const annotation = JSON.stringify({
    id,
    action,
    requestedBy: "e2e",
    requestedAt: new Date().toISOString(),
  });
  await mergePatch(
    testbedKubeConfig(),
    { apiVersion: "wren.dev/v1alpha1", kind: "Canary", metadata: { name, namespace } },
    { metadata: { annotations: { "wren.dev/action": annotation } } },
  );
  return id;
}

/** Records every distinct canary weight the VirtualService of `host` takes, in order. */
export class WeightRecorder {
  readonly weights: number[] = [];
  readonly #informer: Informer<VirtualService>;

  constructor(namespace: string, host: string) {
    this.#informer = resourceInformer<VirtualService>(
      testbedKubeConfig(),
      { group: "networking.istio.io", version: "v1", plural: "virtualservices" },
      { namespace, fieldSelector: `metadata.name=${host}`, resyncMs: 0 },
    );
    const record = (vs: VirtualService) => {
      const primaryRoute = vs.spec.http?.find((r) => r.name === "primary") ?? vs.spec.http?.at(-1);
      const weight = primaryRoute?.route?.[1]?.weight ?? 0;
      if (this.weights.at(-1) !== weight) this.weights.push(weight);
    };
    this.#informer.on("add", record);
    this.#informer.on("update", record);
    this.#informer.start();
  }

  async stop(): Promise<void> {
    await this.#informer.stop();
  }
}

export interface DeployOptions {
  replicas?: number;
  /** Requests per second meshsim sends to the canary's host. */
  rps?: number;
  /** Extra Canary spec fields (targetRef, service, revertOnDeletion...). */
  extra?: Record<string, unknown>;
}

/** Deploys revision 1 of `name` with traffic and its Canary, and waits until the Canary is initialised. */
export async function deployCanary(
  namespace: string,
  name: string,
  analysis: Record<string, unknown>,
  { replicas = 1, rps = 40, extra = {} }: DeployOptions = {},
): Promise<void> {
  await apply(
    deployment(namespace, name, { replicas, image: "example.com/app:1" }),
    traffic(namespace, `${name}-clients`, [{ host: name, rps }]),
  );
  await apply(canary(namespace, name, analysis, extra));
  await eventually(
    `${name} Initialized`,
    async () => expect((await canaryStatus(namespace, name)).phase).toBe("Initialized"),
    { timeoutMs: 60_000 },
  );
}

/** Waits until the Canary reaches one of `phases` and returns its status. */
export async function untilPhase(namespace: string, name: string, phases: string[], timeoutMs = 90_000) {
  return eventually(
    `${name} ${phases.join(" or ")}`,
    async () => {
      const status = await canaryStatus(namespace, name);
      expect(phases).toContain(status.phase);
      return status;
    },
    { timeoutMs, intervalMs: 200 },
  );
}
