// Builders for hand-made cluster views, shared by the unit tests and bench.ts,
// plus a helper that runs the whole pipeline (plans -> traffic -> exposition) over
// simulated time without any cluster.

import { injectionAnnotations } from "./injection.ts";
import { ControlPlane } from "./istiod.ts";
import { IstioMetrics } from "./metrics.ts";
import type {
  ClusterView,
  DestinationRuleInfo,
  IstiodInfo,
  Labels,
  NamespaceInfo,
  PodInfo,
  ServiceInfo,
  TrafficEntry,
  TrafficSourceInfo,
  VirtualServiceInfo,
  VirtualServiceSpec,
} from "./model.ts";
import { ExpositionWriter } from "./prom.ts";
import { parseExposition, type Sample } from "./promtext.ts";
import { seededRandom } from "./random.ts";
import { TrafficGenerator } from "./traffic.ts";

export interface PodOptions {
  readonly labels?: Labels;
  readonly annotations?: Labels;
  readonly ready?: boolean;
  readonly deleting?: boolean;
  /** Sidecar revision; `null` for a pod without sidecar. Default "default". */
  readonly revision?: string | null;
  readonly hash?: string;
  readonly serviceAccount?: string;
}

/** `count` pods of Deployment `deployment`, owned by its ReplicaSet `<deployment>-<hash>`. */
export function deploymentPods(
  deployment: string,
  namespace: string,
  count: number,
  o: PodOptions = {},
): PodInfo[] {
  const hash = o.hash ?? "5d8f7c9b4";
  const sidecar = o.revision === null ? {} : injectionAnnotations(o.revision ?? "default");
  return Array.from({ length: count }, (_, i) => ({
    namespace,
    name: `${deployment}-${hash}-${String.fromCharCode(97 + (i % 26))}${i}`,
    creationTimestamp: "2026-01-01T00:00:00.000Z",
    labels: { app: deployment, ...o.labels, "pod-template-hash": hash },
    annotations: { ...sidecar, ...o.annotations },
    owners: [{ kind: "ReplicaSet", name: `${deployment}-${hash}` }],
    serviceAccount: o.serviceAccount ?? "default",
    ready: o.ready ?? true,
    deleting: o.deleting ?? false,
  }));
}

export function service(
  name: string,
  namespace: string,
  selector: Labels | undefined = { app: name },
): ServiceInfo {
  return { name, namespace, selector };
}

export function virtualService(
  name: string,
  namespace: string,
  spec: VirtualServiceSpec,
  creationTimestamp = "2026-01-01T00:00:00.000Z",
): VirtualServiceInfo {
  return { name, namespace, creationTimestamp, spec };
}

export function destinationRule(
  name: string,
  namespace: string,
  host: string,
  subsets: Record<string, Labels>,
): DestinationRuleInfo {
  return {
    name,
    namespace,
    spec: { host, subsets: Object.entries(subsets).map(([n, labels]) => ({ name: n, labels })) },
  };
}

export function trafficSource(name: string, namespace: string, entries: TrafficEntry[]): TrafficSourceInfo {
  return { name, namespace, entries };
}

export function istiod(revision: string, o: { readyReplicas?: number; faulty?: boolean } = {}): IstiodInfo {
  return {
    name: revision === "default" ? "istiod" : `istiod-${revision}`,
    namespace: "istio-system",
    revision,
    readyReplicas: o.readyReplicas ?? 1,
    faulty: o.faulty ?? false,
  };
}

export function makeView(
  parts: Partial<Omit<ClusterView, "namespaces">> & { readonly namespaces?: readonly NamespaceInfo[] } = {},
): ClusterView {
  return {
    namespaces: new Map((parts.namespaces ?? []).map((n) => [n.name, n])),
    services: parts.services ?? [],
    pods: parts.pods ?? [],
    virtualServices: parts.virtualServices ?? [],
    destinationRules: parts.destinationRules ?? [],
    istiods: parts.istiods ?? [],
    trafficSources: parts.trafficSources ?? [],
  };
}

export interface SimulationResult {
  readonly samples: Sample[];
  readonly text: string;
  readonly generator: TrafficGenerator;
  readonly metrics: IstioMetrics;
}

/** Runs traffic over `view` for `seconds` of simulated time in `tickSeconds` steps. */
export function simulate(view: ClusterView, seconds: number, seed = 1, tickSeconds = 0.1): SimulationResult {
  const metrics = new IstioMetrics({ now: () => 0 });
  const generator = new TrafficGenerator({ random: seededRandom(seed), metrics });
  generator.setView(view, new ControlPlane(view));
  const ticks = Math.round(seconds / tickSeconds);
  for (let i = 0; i < ticks; i++) generator.tick(tickSeconds);
  const w = new ExpositionWriter();
  metrics.render(w);
  const text = w.toString();
  return { samples: parseExposition(text), text, generator, metrics };
}
