// BlueGreen test helpers: objects, reading status, manual actions, and a watch on
// the VirtualService that records every version of it with the time it arrived.
import {
  AppsV1Api,
  CustomObjectsApi,
  type KubernetesObject,
  type V1Deployment,
} from "@kubernetes/client-node";
import { expect } from "vitest";
import type { BlueGreenStatus } from "../../src/api/bluegreen.ts";
import type { VirtualService } from "../../src/engine/routing/istio.ts";
import { mergePatch } from "../../src/kube/apply.ts";
import type { Informer } from "../../src/kube/informer.ts";
import { resourceInformer } from "../../src/kube/resource-informer.ts";
import { eventually } from "./eventually.ts";
import { traffic } from "./fixtures.ts";
import { testbedKubeConfig } from "./testbed.ts";

/** A BlueGreen for target `name` with test-sized timing; `spec` overrides any field. */
export function blueGreen(
  namespace: string,
  name: string,
  spec: Record<string, unknown> = {},
): KubernetesObject {
  return {
    apiVersion: "wren.dev/v1alpha1",
    kind: "BlueGreen",
    metadata: { name, namespace },
    spec: {
      targetRef: { name },
      service: { port: 80, targetPort: 8080 },
      preview: { match: [{ headers: { "x-env": { exact: "preview" } } }] },
      scaleDownDelay: "15s",
      ...spec,
    },
  } as KubernetesObject;
}

/** The analysis block most tests use: 3s rounds of a success-rate check over 10s. */
export function analysis(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    interval: "3s",
    threshold: 2,
    iterations: 2,
    metrics: [{ name: "request-success-rate", thresholdRange: { min: 95 }, interval: "10s" }],
    ...over,
  };
}

/** The whole BlueGreen object, metadata (resourceVersion) included. */
export async function readBlueGreen(
  namespace: string,
  name: string,
): Promise<KubernetesObject & { status?: BlueGreenStatus }> {
  const api = testbedKubeConfig().makeApiClient(CustomObjectsApi);
  return (await api.getNamespacedCustomObject({
    group: "wren.dev",
    version: "v1alpha1",
    namespace,
    plural: "bluegreens",
    name,
  })) as KubernetesObject & { status?: BlueGreenStatus };
}

export async function blueGreenStatus(namespace: string, name: string): Promise<BlueGreenStatus> {
  return (await readBlueGreen(namespace, name)).status ?? {};
}

/** Waits until the BlueGreen reaches one of `phases` and returns its status. */
export async function untilBlueGreenPhase(
  namespace: string,
  name: string,
  phases: string[],
  timeoutMs = 90_000,
): Promise<BlueGreenStatus> {
  return eventually(
    `${name} ${phases.join(" or ")}`,
    async () => {
      const status = await blueGreenStatus(namespace, name);
      expect(phases).toContain(status.phase);
      return status;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

/** Asks for a manual action the way kubectl wren does; returns the request's id and when it was sent. */
export async function requestBlueGreenAction(
  namespace: string,
  name: string,
  action: string,
): Promise<{ id: string; sentAt: number }> {
  const id = crypto.randomUUID();
  const annotation = JSON.stringify({
    id,
    action,
    requestedBy: "e2e",
    requestedAt: new Date().toISOString(),
  });
  const sentAt = performance.timeOrigin + performance.now();
  await mergePatch(
    testbedKubeConfig(),
    { apiVersion: "wren.dev/v1alpha1", kind: "BlueGreen", metadata: { name, namespace } },
    { metadata: { annotations: { "wren.dev/action": annotation } } },
  );
  return { id, sentAt };
}

export async function readDeployment(namespace: string, name: string): Promise<V1Deployment | undefined> {
  const apps = testbedKubeConfig().makeApiClient(AppsV1Api);
  return apps.readNamespacedDeployment({ name, namespace }).catch(() => undefined);
}

/** One version of the VirtualService, as the watch delivered it. */
export interface RouteVersion {
  /** When the watch delivered it (ms since the epoch, sub-millisecond precision). */
  at: number;
  generation: number;
  /** Percent of default-route traffic per colour. */
  blue: number;
  green: number;
  /** The colour preview requests go to, if a preview route exists. */
  preview?: string;
}

/** Watches a BlueGreen's VirtualService and records every version of its spec. */
export class RouteRecorder {
  readonly versions: RouteVersion[] = [];
  readonly #informer: Informer<VirtualService>;

  constructor(namespace: string, host: string) {
    this.#informer = resourceInformer<VirtualService>(
      testbedKubeConfig(),
      { group: "networking.istio.io", version: "v1", plural: "virtualservices" },
      { namespace, fieldSelector: `metadata.name=${host}`, resyncMs: 0 },
    );
    const record = (vs: VirtualService) => {
      const generation = vs.metadata?.generation ?? 0;
      if (this.versions.at(-1)?.generation === generation) return;
      const weight = (route: unknown, colour: string) =>
        (
          (route as { route?: { destination: { host: string }; weight?: number }[] } | undefined)?.route ?? []
        ).find((d) => d.destination.host.endsWith(`-${colour}`))?.weight ?? 0;
      const main = vs.spec.http?.find((r) => r.name === "default");
      const preview = vs.spec.http?.find((r) => r.name === "preview");
      this.versions.push({
        at: performance.timeOrigin + performance.now(),
        generation,
        blue: weight(main, "blue"),
        green: weight(main, "green"),
        preview: preview ? (weight(preview, "blue") === 100 ? "blue" : "green") : undefined,
      });
    };
    this.#informer.on("add", record);
    this.#informer.on("update", record);
    this.#informer.start();
  }

  /** The distinct green weights of the default route, in order. */
  greenWeights(): number[] {
    const weights: number[] = [];
    for (const v of this.versions) if (weights.at(-1) !== v.green) weights.push(v.green);
    return weights;
  }

  async stop(): Promise<void> {
    await this.#informer.stop();
  }
}

/** requests to `workload` from meshsim source `source` over the last `range`, as Prometheus counts them. */
export function requestsTo(namespace: string, workload: string, source: string, range = "5m"): string {
  return `sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="${namespace}",destination_workload="${workload}",source_workload="${source}"}[${range}])) or vector(0)`;
}

/**
 * meshsim clients of `host`: `previewShare` of the requests carry the preview header
 * (source workload `tester`), the rest do not (source `public`).
 */
export function previewTraffic(
  namespace: string,
  host: string,
  rps = 40,
  previewShare = 0.3,
): KubernetesObject {
  const preview = Math.round(previewShare * 10);
  return traffic(namespace, `${host}-clients`, [
    {
      host,
      rps,
      requests: [
        { weight: preview, headers: { "x-env": "preview" }, source: "tester" },
        { weight: 10 - preview, source: "public" },
      ],
    },
  ] as never);
}
