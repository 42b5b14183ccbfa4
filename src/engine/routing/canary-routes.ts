// The Services, DestinationRules and VirtualService of a Canary, built from its
// spec and the routing the strategy decided. Pure: the applier diffs and writes.
import type { KubernetesObject, V1Deployment, V1Service } from "@kubernetes/client-node";
import type { CanarySpec } from "../../api/canary.ts";
import type { Routing, Weights } from "../../strategies/decision.ts";
import { ownerReference } from "../owner.ts";
import { primaryLabels } from "../workload/deployments.ts";
import {
  type DestinationRule,
  type HTTPRoute,
  type HTTPRouteDestination,
  istioApiVersion,
  type VirtualService,
} from "./istio.ts";

export const managedByLabels = { "app.kubernetes.io/managed-by": "wren" };

/** Service names of a canary: the apex clients call, and one per version. */
export interface CanaryServiceNames {
  apex: string;
  primary: string;
  canary: string;
}

export function canaryServiceNames(spec: CanarySpec): CanaryServiceNames {
  const apex = spec.service.name ?? spec.targetRef.name;
  return { apex, primary: `${apex}-primary`, canary: `${apex}-canary` };
}

function meta(name: string, namespace: string, owner: KubernetesObject) {
  return { name, namespace, labels: { ...managedByLabels }, ownerReferences: [ownerReference(owner)] };
}

/** Apex and primary Services select the primary's pods; the canary Service the target's. */
export function canaryServices(spec: CanarySpec, target: V1Deployment, owner: KubernetesObject): V1Service[] {
  const names = canaryServiceNames(spec);
  const namespace = target.metadata?.namespace ?? "";
  const selector = target.spec?.selector.matchLabels ?? {};
  const primarySelector = primaryLabels(selector, Object.keys(selector));
  const ports = [
    {
      name: spec.service.portName,
      port: spec.service.port,
      targetPort: spec.service.targetPort ?? spec.service.port,
      protocol: "TCP",
    },
  ];
  const service = (name: string, sel: Record<string, string>): V1Service => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(name, namespace, owner),
    spec: { selector: sel, ports },
  });
  const services = [service(names.primary, primarySelector), service(names.canary, selector)];
  // An adopted VirtualService comes with its own apex Service; leave it alone.
  if (!spec.service.virtualServiceRef) services.unshift(service(names.apex, primarySelector));
  return services;
}

export function canaryDestinationRules(
  spec: CanarySpec,
  namespace: string,
  owner: KubernetesObject,
): DestinationRule[] {
  const names = canaryServiceNames(spec);
  return [names.primary, names.canary].map((host) => ({
    apiVersion: istioApiVersion,
    kind: "DestinationRule",
    metadata: meta(host, namespace, owner),
    spec: { host, ...(spec.service.trafficPolicy ? { trafficPolicy: spec.service.trafficPolicy } : {}) },
  }));
}

function split(spec: CanarySpec, weights: Weights): HTTPRouteDestination[] {
  const names = canaryServiceNames(spec);
  const port = { number: spec.service.port };
  return [
    { destination: { host: names.primary, port }, weight: weights.primary },
    { destination: { host: names.canary, port }, weight: weights.canary },
  ];
}

/** Route settings passed through from spec.service to every generated route. */
function passThrough(spec: CanarySpec): Partial<HTTPRoute> {
  const s = spec.service;
  return {
    ...(s.timeout ? { timeout: s.timeout } : {}),
    ...(s.retries ? { retries: s.retries } : {}),
    ...(s.headers ? { headers: s.headers } : {}),
    ...(s.corsPolicy ? { corsPolicy: s.corsPolicy } : {}),
  };
}

/** The generated VirtualService: an A/B match route when asked, then the weighted default route. */
export function canaryVirtualService(
  spec: CanarySpec,
  namespace: string,
  owner: KubernetesObject,
  routing: Routing,
): VirtualService {
  const names = canaryServiceNames(spec);
  const http: HTTPRoute[] = [];
  if (routing.match && spec.analysis.match) {
    http.push({
      name: "canary",
      match: spec.analysis.match,
      route: split(spec, { primary: 0, canary: 100 }),
      ...passThrough(spec),
    });
  }
  const primaryRoute: HTTPRoute = {
    name: "primary",
    route: split(spec, routing.weights),
    ...passThrough(spec),
  };
  if (routing.mirrorWeight > 0) {
    primaryRoute.mirror = { host: names.canary, port: { number: spec.service.port } };
    primaryRoute.mirrorPercentage = { value: routing.mirrorWeight };
  }
  http.push(primaryRoute);
  const gateways = spec.service.gateways;
  return {
    apiVersion: istioApiVersion,
    kind: "VirtualService",
    metadata: meta(names.apex, namespace, owner),
    spec: {
      hosts: [names.apex, ...(spec.service.hosts ?? []).filter((h) => h !== names.apex)],
      ...(gateways && gateways.length > 0 ? { gateways: [...new Set([...gateways, "mesh"])] } : {}),
      http,
    },
  };
}

/**
 * An adopted VirtualService's http routes with only the named routes' weights
 * changed: each named route sends the decided weights to the primary and canary
 * Services (keeping any subset or port its owner wrote on those destinations).
 * Every other route and field stays as its owner wrote it. Also returns the
 * named routes that were not found, so the caller can report them.
 */
export function adoptedHttpRoutes(
  spec: CanarySpec,
  http: HTTPRoute[],
  routeNames: string[],
  weights: Weights,
): { http: HTTPRoute[]; missing: string[] } {
  const names = canaryServiceNames(spec);
  const found = new Set<string>();
  const on = (route: HTTPRoute, host: string) =>
    route.route?.find((d) => d.destination.host.split(".")[0] === host)?.destination;
  const next = http.map((route) => {
    if (!route.name || !routeNames.includes(route.name)) return route;
    found.add(route.name);
    const [primary, canary] = split(spec, weights) as [HTTPRouteDestination, HTTPRouteDestination];
    return {
      ...route,
      route: [
        { destination: on(route, names.primary) ?? primary.destination, weight: weights.primary },
        { destination: on(route, names.canary) ?? canary.destination, weight: weights.canary },
      ],
    };
  });
  return { http: next, missing: routeNames.filter((n) => !found.has(n)) };
}
