// The VirtualService of a Migration, built from its spec and the routing the
// strategy decided. Pure: the applier diffs and writes.
//
// Routes, in order: for every routed phase (spec order) its opt-in route (its
// match AND the opt-in header = the phase's name, 100% to its new services), then
// its match route (its percent split across the new services by weight, the rest
// to the monolith); last, the default route to the monolith. Phases claim
// disjoint requests (the schema rejects overlaps), so no route shadows another's.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { HTTPMatchRequest } from "../../api/common.ts";
import type { MigrationPhase, MigrationSpec } from "../../api/migration.ts";
import { type MigrationRouting, splitPercent } from "../../strategies/migration-routing.ts";
import { ownerReference } from "../owner.ts";
import { managedByLabels } from "./canary-routes.ts";
import { type HTTPRoute, type HTTPRouteDestination, istioApiVersion, type VirtualService } from "./istio.ts";

/** The name of a Migration's VirtualService: the Migration's own name. */
export function migrationVirtualServiceName(owner: KubernetesObject): string {
  return owner.metadata?.name ?? "";
}

/** Route names: unique, since phase names are. */
export const optInRouteName = (phase: string) => `opt-in-${phase}`;
export const phaseRouteName = (phase: string) => `phase-${phase}`;
export const monolithRouteName = "monolith";

function destinations(spec: MigrationSpec, phase: MigrationPhase, percent: number): HTTPRouteDestination[] {
  const moved = splitPercent(percent, phase.to)
    .filter((s) => s.percent > 0)
    .map((s) => ({ destination: { host: s.service, port: { number: s.port } }, weight: s.percent }));
  const rest = 100 - percent;
  if (rest > 0) moved.push({ destination: monolithHost(spec), weight: rest });
  return moved;
}

function monolithHost(spec: MigrationSpec) {
  return { host: spec.monolith.service, port: { number: spec.monolith.port } };
}

/** A phase's match entries, each also requiring the opt-in header to carry the phase's name. */
function optInMatch(spec: MigrationSpec, phase: MigrationPhase): HTTPMatchRequest[] {
  return phase.match.map((m) => ({
    ...m,
    headers: { ...(m.headers ?? {}), [spec.optInHeader]: { exact: phase.name } },
  }));
}

/** The routes of a Migration for a routing decision. */
export function migrationHttpRoutes(spec: MigrationSpec, routing: MigrationRouting): HTTPRoute[] {
  const http: HTTPRoute[] = [];
  for (const routed of routing.phases) {
    const phase = spec.phases.find((p) => p.name === routed.name);
    if (phase === undefined) continue;
    http.push({
      name: optInRouteName(phase.name),
      match: optInMatch(spec, phase),
      route: destinations(spec, phase, 100),
    });
    http.push({
      name: phaseRouteName(phase.name),
      match: phase.match,
      route: destinations(spec, phase, routed.percent),
    });
  }
  http.push({ name: monolithRouteName, route: [{ destination: monolithHost(spec), weight: 100 }] });
  return http;
}

/** The VirtualService a Migration owns for its host. */
export function migrationVirtualService(
  spec: MigrationSpec,
  namespace: string,
  owner: KubernetesObject,
  routing: MigrationRouting,
): VirtualService {
  const gateways = spec.gateways;
  return {
    apiVersion: istioApiVersion,
    kind: "VirtualService",
    metadata: {
      name: migrationVirtualServiceName(owner),
      namespace,
      labels: { ...managedByLabels },
      ownerReferences: [ownerReference(owner)],
    },
    spec: {
      hosts: [spec.host, ...(spec.hosts ?? []).filter((h) => h !== spec.host)],
      ...(gateways && gateways.length > 0 ? { gateways: [...new Set([...gateways, "mesh"])] } : {}),
      http: migrationHttpRoutes(spec, routing),
    },
  };
}
