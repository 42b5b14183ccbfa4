// Compiles a ClusterView and its traffic ConfigMaps into executable plans: for
// every traffic entry and every request shape in its population, the route that
// matches it (a request shape always matches the same route, so routing is decided
// once per view, not once per request) and the resolved, weighted destinations.
// Pure; the `slots` arrays are empty caches the traffic generator fills with metric
// series handles, so the hot path never builds a label set.

import type { Behaviour } from "./behaviour.ts";
import type { ControlPlane } from "./istiod.ts";
import type { RequestSeries } from "./metrics.ts";
import type { ClusterView, Destination, ObjectRef, TrafficEntry, TrafficRequest } from "./model.ts";
import { cumulate } from "./random.ts";
import {
  type EndpointGroup,
  MeshIndex,
  type Resolution,
  resolveDestination,
  type ServiceRef,
  serviceRef,
  sourceIdentity,
  sourceLabels,
  toFqdn,
} from "./resolve.ts";
import {
  type AbortFault,
  abortFault,
  type DelayFault,
  delayFault,
  matchRoute,
  mirrorTargets,
  prepareRequest,
  splitWeights,
} from "./routing.ts";
import { DEFAULT_SOURCE } from "./traffic-config.ts";
import type { PeerIdentity } from "./workload.ts";

/** Metric handle caches, indexed by outcome (see traffic.ts). */
export type Slots = Array<RequestSeries | undefined>;

export interface GroupPlan {
  readonly group: EndpointGroup;
  readonly behaviour: Behaviour;
  /** The pods have a sidecar, so a "destination" reporter sees their requests. */
  readonly injected: boolean;
  /** Fraction of requests their proxy fails (faulty control-plane revision). */
  readonly proxyFailureRate: number;
  readonly destinationSlots: Slots;
  readonly sourceSlots: Slots;
}

export interface TargetPlan {
  readonly destination: Destination;
  readonly resolution: Resolution;
  readonly service: ServiceRef;
  readonly groups: readonly GroupPlan[];
  readonly cumulativePods: readonly number[];
  readonly totalPods: number;
  /** "UH" or "NC" when nothing can serve. */
  readonly unavailableFlag: "UH" | "NC";
  /** [0]: the 503 when nothing can serve; [1]: the injected abort. */
  readonly slots: Slots;
}

export type DecisionPlan =
  | { readonly kind: "no-route"; readonly service: ServiceRef; readonly slots: Slots }
  | {
      readonly kind: "route";
      /** Index in the VirtualService's http routes; undefined when the host has none. */
      readonly routeIndex: number | undefined;
      readonly targets: readonly TargetPlan[];
      readonly shares: readonly number[];
      readonly cumulativeShares: readonly number[];
      readonly mirrors: ReadonlyArray<{ readonly target: TargetPlan; readonly percent: number }>;
      readonly abort: AbortFault | undefined;
      readonly delay: DelayFault | undefined;
    };

export interface TemplatePlan {
  readonly request: TrafficRequest;
  readonly source: PeerIdentity;
  readonly decision: DecisionPlan;
}

export interface HostPlan {
  /** Stable across recompiles, so the fractional carry survives config changes. */
  readonly key: string;
  readonly configMap: ObjectRef;
  readonly host: string;
  readonly fqdn: string;
  readonly rps: number;
  readonly virtualService: ObjectRef | undefined;
  readonly templates: readonly TemplatePlan[];
  readonly cumulativeWeights: readonly number[];
  readonly totalWeight: number;
  /** Requests owed but not sent yet (fraction of one), carried between ticks. */
  carry: number;
  sent: number;
}

export function compilePlans(view: ClusterView, plane: ControlPlane): HostPlan[] {
  const index = new MeshIndex(view);
  const resolutions = new Map<string, Resolution>();
  const resolve = (d: Destination, namespace: string): Resolution => {
    const key = `${namespace}\u0000${d.host}\u0000${d.subset ?? ""}`;
    let r = resolutions.get(key);
    if (!r) {
      r = resolveDestination(index, d, namespace);
      resolutions.set(key, r);
    }
    return r;
  };
  const target = (d: Destination, namespace: string): TargetPlan =>
    targetPlan(d, resolve(d, namespace), plane);

  const plans: HostPlan[] = [];
  for (const cm of view.trafficSources) {
    cm.entries.forEach((entry, i) => {
      plans.push(hostPlan(`${cm.namespace}/${cm.name}#${i}`, cm, entry, index, target));
    });
  }
  return plans;
}

function hostPlan(
  key: string,
  cm: ObjectRef,
  entry: TrafficEntry,
  index: MeshIndex,
  target: (d: Destination, namespace: string) => TargetPlan,
): HostPlan {
  const fqdn = toFqdn(entry.host, cm.namespace);
  const vs = index.virtualServiceFor(fqdn);
  const requests = entry.requests.filter((r) => r.weight > 0);
  const templates = requests.map((request): TemplatePlan => {
    const sourceName = request.source ?? entry.source ?? DEFAULT_SOURCE;
    const source = sourceIdentity(index, sourceName, cm.namespace);
    if (!vs) {
      // No VirtualService: the sidecar's default route to the Service's pods.
      return {
        request,
        source,
        decision: routeDecision(undefined, [target({ host: fqdn }, cm.namespace)], [1]),
      };
    }
    const routes = vs.spec.http ?? [];
    const routeIndex = matchRoute(
      routes,
      prepareRequest({
        host: entry.host,
        uri: request.uri,
        method: request.method,
        headers: request.headers,
        cookies: request.cookies,
        sourceLabels: sourceLabels(index, sourceName, cm.namespace),
        sourceNamespace: cm.namespace,
      }),
    );
    const route = routes[routeIndex];
    const split = route ? splitWeights(route) : [];
    if (!route || split.length === 0) {
      return { request, source, decision: { kind: "no-route", service: serviceRef(fqdn), slots: [] } };
    }
    const decision = routeDecision(
      routeIndex,
      split.map((s) => target(s.destination, vs.namespace)),
      split.map((s) => s.share),
      mirrorTargets(route).map((m) => ({ target: target(m.destination, vs.namespace), percent: m.percent })),
      abortFault(route),
      delayFault(route),
    );
    return { request, source, decision };
  });
  const weights = templates.map((t) => t.request.weight);
  const cumulativeWeights = cumulate(weights);
  return {
    key,
    configMap: { namespace: cm.namespace, name: cm.name },
    host: entry.host,
    fqdn,
    rps: entry.rps,
    virtualService: vs ? { namespace: vs.namespace, name: vs.name } : undefined,
    templates,
    cumulativeWeights,
    totalWeight: cumulativeWeights[cumulativeWeights.length - 1] ?? 0,
    carry: 0,
    sent: 0,
  };
}

function routeDecision(
  routeIndex: number | undefined,
  targets: TargetPlan[],
  shares: number[],
  mirrors: Array<{ target: TargetPlan; percent: number }> = [],
  abort?: AbortFault,
  delay?: DelayFault,
): DecisionPlan {
  return {
    kind: "route",
    routeIndex,
    targets,
    shares,
    cumulativeShares: cumulate(shares),
    mirrors,
    abort,
    delay,
  };
}

function targetPlan(destination: Destination, resolution: Resolution, plane: ControlPlane): TargetPlan {
  const groups =
    resolution.kind === "service"
      ? resolution.groups.map(
          (group): GroupPlan => ({
            group,
            behaviour: group.behaviour,
            injected: group.sidecarRevision !== undefined,
            proxyFailureRate: plane.failureRate(group.sidecarRevision),
            destinationSlots: [],
            sourceSlots: [],
          }),
        )
      : [];
  const cumulativePods = cumulate(groups.map((g) => g.group.pods.length));
  return {
    destination,
    resolution,
    service: resolution.service,
    groups,
    cumulativePods,
    totalPods: cumulativePods[cumulativePods.length - 1] ?? 0,
    unavailableFlag: resolution.kind === "service" ? "UH" : "NC",
    slots: [],
  };
}

/** JSON for /debug/state: what each traffic entry resolves to right now. */
export function describePlans(plans: readonly HostPlan[]): unknown[] {
  const describeTarget = (t: TargetPlan) => ({
    host: t.destination.host,
    subset: t.destination.subset,
    service: t.service.fqdn,
    ...(t.resolution.kind === "no-cluster" ? { unavailable: t.resolution.reason } : {}),
    readyPods: t.totalPods,
    workloads: t.groups.map((g) => ({
      workload: `${g.group.identity.namespace}/${g.group.identity.workload}`,
      canonicalRevision: g.group.identity.canonicalRevision,
      sidecarRevision: g.group.sidecarRevision ?? null,
      proxyFailureRate: g.proxyFailureRate,
      errorRate: g.behaviour.errorRate,
      latencyP50Ms: g.behaviour.p50Ms,
      latencyP99Ms: g.behaviour.p99Ms,
      pods: g.group.pods,
    })),
  });
  return plans.map((p) => ({
    trafficConfigMap: `${p.configMap.namespace}/${p.configMap.name}`,
    host: p.host,
    fqdn: p.fqdn,
    rps: p.rps,
    sent: p.sent,
    virtualService: p.virtualService ? `${p.virtualService.namespace}/${p.virtualService.name}` : null,
    requests: p.templates.map((t) => ({
      weight: t.request.weight,
      uri: t.request.uri,
      headers: t.request.headers,
      cookies: t.request.cookies,
      source: `${t.source.namespace}/${t.source.workload}`,
      ...(t.decision.kind === "no-route"
        ? { route: "no route matches (404 NR)" }
        : {
            route: t.decision.routeIndex ?? "default (no VirtualService)",
            abort: t.decision.abort,
            delay: t.decision.delay,
            destinations: t.decision.targets.map((target, i) => ({
              share: t.decision.kind === "route" ? t.decision.shares[i] : 0,
              ...describeTarget(target),
            })),
            mirrors: t.decision.mirrors.map((m) => ({ percent: m.percent, ...describeTarget(m.target) })),
          }),
    })),
  }));
}
