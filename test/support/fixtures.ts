// Objects tests put on the testbed: Deployments meshsim serves, Services,
// VirtualServices, and meshsim traffic sources.
import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { applyObjects } from "../testbed/apply.ts";
import { testbedKubeConfig } from "./testbed.ts";

/** Server-side applies objects to the testbed. */
export async function apply(...objects: KubernetesObject[]): Promise<void> {
  await applyObjects(testbedKubeConfig(), objects);
}

export interface Behaviour {
  errorRate?: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
}

/** meshsim's behaviour annotations for a pod template. */
export function behaviourAnnotations(b: Behaviour): Record<string, string> {
  const a: Record<string, string> = {};
  if (b.errorRate !== undefined) a["meshsim.wren.dev/error-rate"] = String(b.errorRate);
  if (b.latencyP50Ms !== undefined) a["meshsim.wren.dev/latency-p50-ms"] = String(b.latencyP50Ms);
  if (b.latencyP99Ms !== undefined) a["meshsim.wren.dev/latency-p99-ms"] = String(b.latencyP99Ms);
  return a;
}

/** A Deployment whose pods KWOK makes Ready and meshsim serves with the given behaviour. */
export function deployment(
  namespace: string,
  name: string,
  {
    replicas = 1,
    image = "example.com/app:1",
    behaviour = {},
  }: { replicas?: number; image?: string; behaviour?: Behaviour } = {},
): V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: behaviourAnnotations(behaviour) },
        spec: { containers: [{ name: "app", image, ports: [{ containerPort: 8080 }] }] },
      },
    },
  };
}

export function service(namespace: string, name: string, selector: Record<string, string>): KubernetesObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace },
    spec: { selector, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
  } as KubernetesObject;
}

export function virtualService(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): KubernetesObject {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name, namespace },
    spec,
  } as KubernetesObject;
}

export interface TrafficSource {
  host: string;
  rps: number;
  requests?: {
    weight: number;
    uri?: string;
    headers?: Record<string, string>;
    cookies?: Record<string, string>;
  }[];
}

/** A ConfigMap meshsim reads its synthetic traffic from. */
export function traffic(namespace: string, name: string, sources: TrafficSource[]): KubernetesObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace, labels: { "meshsim.wren.dev/traffic": "true" } },
    data: { "traffic.yaml": stringify(sources) },
  } as KubernetesObject;
}
