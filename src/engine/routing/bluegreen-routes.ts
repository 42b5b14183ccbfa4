// The Services, DestinationRules and VirtualService of a BlueGreen, built from its
// spec and the routing the strategy decided. Pure: the applier diffs and writes.
import type { KubernetesObject, V1Deployment, V1Service } from "@kubernetes/client-node";
import type { BlueGreenSpec, Colour } from "../../api/bluegreen.ts";
import type { BlueGreenRouting } from "../../strategies/bluegreen.ts";
import { ownerReference } from "../owner.ts";
import { colourSelector } from "../workload/colours.ts";
import { managedByLabels } from "./canary-routes.ts";
import {
  type DestinationRule,
  type HTTPRoute,
  type HTTPRouteDestination,
  istioApiVersion,
  type VirtualService,
} from "./istio.ts";

const colours: readonly Colour[] = ["blue", "green"];

/** Service names of a BlueGreen: the apex clients call, and one per colour. */
export interface BlueGreenServiceNames {
  apex: string;
  blue: string;
  green: string;
}

export function blueGreenServiceNames(spec: BlueGreenSpec): BlueGreenServiceNames {
  const apex = spec.service.name ?? spec.targetRef.name;
  return { apex, blue: `${apex}-blue`, green: `${apex}-green` };
}

function meta(name: string, namespace: string, owner: KubernetesObject) {
  return { name, namespace, labels: { ...managedByLabels }, ownerReferences: [ownerReference(owner)] };
}

function ports(spec: BlueGreenSpec) {
  return [
    {
      name: spec.service.portName,
      port: spec.service.port,
      targetPort: spec.service.targetPort ?? spec.service.port,
      protocol: "TCP",
    },
  ];
}

function service(
  name: string,
  namespace: string,
  owner: KubernetesObject,
  spec: BlueGreenSpec,
  selector: Record<string, string>,
): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(name, namespace, owner),
    spec: { selector, ports: ports(spec) },
  };
}

/** One Service per colour, each selecting only that colour's pods. */
export function colourServices(
  spec: BlueGreenSpec,
  target: V1Deployment,
  owner: KubernetesObject,
): V1Service[] {
  const names = blueGreenServiceNames(spec);
  const namespace = target.metadata?.namespace ?? "";
  return colours.map((c) => service(names[c], namespace, owner, spec, colourSelector(target, c)));
}

/**
 * The apex Service selects the active colour's pods, so clients outside the mesh
 * (which the VirtualService does not route) reach the active colour too.
 */
export function apexService(
  spec: BlueGreenSpec,
  target: V1Deployment,
  owner: KubernetesObject,
  active: Colour,
): V1Service {
  const namespace = target.metadata?.namespace ?? "";
  return service(blueGreenServiceNames(spec).apex, namespace, owner, spec, colourSelector(target, active));
}

export function colourDestinationRules(
  spec: BlueGreenSpec,
  namespace: string,
  owner: KubernetesObject,
): DestinationRule[] {
  const names = blueGreenServiceNames(spec);
  return colours.map((c) => ({
    apiVersion: istioApiVersion,
    kind: "DestinationRule",
    metadata: meta(names[c], namespace, owner),
    spec: {
      host: names[c],
      ...(spec.service.trafficPolicy ? { trafficPolicy: spec.service.trafficPolicy } : {}),
    },
  }));
}

/** Both colours as destinations, always in the same order, with these weights. */
function split(spec: BlueGreenSpec, weights: Record<Colour, number>): HTTPRouteDestination[] {
  const names = blueGreenServiceNames(spec);
  const port = { number: spec.service.port };
  return colours.map((c) => ({ destination: { host: names[c], port }, weight: weights[c] }));
}

/** Route settings passed through from spec.service to every generated route. */
function passThrough(spec: BlueGreenSpec): Partial<HTTPRoute> {
  const s = spec.service;
  return {
    ...(s.timeout ? { timeout: s.timeout } : {}),
    ...(s.retries ? { retries: s.retries } : {}),
    ...(s.headers ? { headers: s.headers } : {}),
    ...(s.corsPolicy ? { corsPolicy: s.corsPolicy } : {}),
  };
}

/**
 * The VirtualService of the apex host: the preview route (all matching requests on
 * the candidate) first while previews are on, then the default route with the
 * colours' weights. Any routing change, a rollback included, is one write of it.
 */
export function blueGreenVirtualService(
  spec: BlueGreenSpec,
  namespace: string,
  owner: KubernetesObject,
  routing: BlueGreenRouting,
): VirtualService {
  const names = blueGreenServiceNames(spec);
  const http: HTTPRoute[] = [];
  if (routing.preview !== undefined && spec.preview) {
    const only = { blue: 0, green: 0, [routing.preview]: 100 } as Record<Colour, number>;
    http.push({ name: "preview", match: spec.preview.match, route: split(spec, only), ...passThrough(spec) });
  }
  http.push({ name: "default", route: split(spec, routing.weights), ...passThrough(spec) });
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
