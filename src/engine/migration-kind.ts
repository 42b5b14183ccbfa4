// The Migration kind's observe and act adapters around the pure Migration strategy.
import type { KubeConfig, KubernetesObject, V1Service } from "@kubernetes/client-node";
import {
  type MigrationSpec,
  type MigrationStatus,
  migrationKind as migrationDefinition,
} from "../api/migration.ts";
import { isSubset } from "../kube/apply.ts";
import type { Informer } from "../kube/informer.ts";
import type { Logger } from "../observability/logger.ts";
import {
  decideMigration,
  type MigrationAction,
  type MigrationObservations,
  planMigration,
  statusRouting,
} from "../strategies/migration.ts";
import type { MetricsProvider } from "./analysis/prometheus.ts";
import { readManualAction } from "./manual-actions.ts";
import { validateServices } from "./migration-validation.ts";
import type { RolloutKind, RolloutObject } from "./reconciler.ts";
import type { VirtualService } from "./routing/istio.ts";
import { migrationVirtualService, migrationVirtualServiceName } from "./routing/migration-routes.ts";
import { trackedWrites } from "./tracked-writes.ts";

export interface MigrationKindDeps {
  kc: KubeConfig;
  /** Every Service in the controller's scope (the host, the monolith and the new services are the user's). */
  services: Informer<V1Service>;
  virtualServices: Informer<VirtualService>;
  /** The Prometheus the new services' Istio metrics are read from. */
  provider: MetricsProvider;
  logger: Logger;
}

type MigrationObject = RolloutObject<MigrationStatus>;

/** The fully qualified name a VirtualService host means, read in the VirtualService's namespace. */
export function hostFqdn(host: string, namespace: string): string {
  const parts = host.split(".");
  if (parts.length === 1) return `${host}.${namespace}.svc.cluster.local`;
  if (parts.length === 2) return `${host}.svc.cluster.local`;
  if (parts.length === 3 && parts[2] === "svc") return `${host}.cluster.local`;
  return host;
}

function controlledBy(obj: KubernetesObject, owner: KubernetesObject): boolean {
  return (obj.metadata?.ownerReferences ?? []).some((r) => r.controller && r.uid === owner.metadata?.uid);
}

/** The Migration kind: strategy plus adapters. */
export function migrationKind(
  deps: MigrationKindDeps,
): RolloutKind<MigrationSpec, MigrationStatus, MigrationObservations, MigrationAction> {
  const { applyIfChanged } = trackedWrites(deps.kc);

  /** A Service the spec names at `field`: missing, or without the port named at `portField`. */
  function serviceProblem(ns: string, name: string, field: string, port?: number, portField?: string) {
    const svc = deps.services.get(ns, name);
    if (!svc) return `${field}: Service ${ns}/${name} not found`;
    if (port === undefined) return undefined;
    const ports = (svc.spec?.ports ?? []).map((p) => p.port);
    if (ports.includes(port)) return undefined;
    return `${portField}: Service ${ns}/${name} has no port ${port} (it has ${ports.join(", ") || "none"})`;
  }

  /** What the cluster says is wrong with the objects the spec names; each names its field. */
  function specProblems(obj: MigrationObject, spec: MigrationSpec): string[] {
    const ns = obj.metadata?.namespace ?? "";
    const problems = [
      serviceProblem(ns, spec.host, "spec.host"),
      serviceProblem(
        ns,
        spec.monolith.service,
        "spec.monolith.service",
        spec.monolith.port,
        "spec.monolith.port",
      ),
      ...spec.phases.flatMap((p, i) =>
        p.to.map((d, j) =>
          serviceProblem(
            ns,
            d.service,
            `spec.phases.${i}.to.${j}.service`,
            d.port,
            `spec.phases.${i}.to.${j}.port`,
          ),
        ),
      ),
    ].filter((p): p is string => p !== undefined);
    // Istio does not merge two VirtualServices for one host reliably: refuse to compete.
    const own = migrationVirtualServiceName(obj);
    const fqdn = hostFqdn(spec.host, ns);
    for (const vs of deps.virtualServices.list()) {
      const vsNs = vs.metadata?.namespace ?? "";
      const name = vs.metadata?.name ?? "";
      if (vs.metadata?.deletionTimestamp) continue;
      if (vsNs === ns && name === own) {
        if (!controlledBy(vs, obj)) {
          problems.push(
            `metadata.name: VirtualService ${ns}/${own} exists and is not owned by this Migration; Wren will not take it over`,
          );
        }
        continue;
      }
      if ((vs.spec?.hosts ?? []).some((h) => hostFqdn(h, vsNs) === fqdn)) {
        problems.push(
          `spec.host: VirtualService ${vsNs}/${name} also routes ${spec.host}; Istio does not merge two VirtualServices for one host reliably, so remove it (this Migration's VirtualService ${own} routes the host)`,
        );
      }
    }
    return problems;
  }

  /**
   * Whether the VirtualService in the cache already carries the routes `status` implies.
   * A controller killed between recording a step and writing it leaves them apart; the
   * step's clock and its validation must not run for requests that never moved.
   */
  function routingApplied(obj: MigrationObject, spec: MigrationSpec, status: MigrationStatus): boolean {
    const ns = obj.metadata?.namespace ?? "";
    const vs = migrationVirtualService(spec, ns, obj, statusRouting(spec, status));
    const live = deps.virtualServices.get(ns, vs.metadata?.name ?? "");
    return live !== undefined && isSubset(vs.spec, live.spec) && isSubset(live.spec, vs.spec);
  }

  async function observe(
    obj: MigrationObject,
    spec: MigrationSpec,
    status: MigrationStatus,
    now: Date,
  ): Promise<MigrationObservations> {
    const ns = obj.metadata?.namespace ?? "";
    const problems = specProblems(obj, spec);
    const applied = routingApplied(obj, spec, status);
    const plan = planMigration(spec, status, now, applied);
    const phase = spec.phases.find((p) => p.name === plan.validate?.phase);
    const validation =
      plan.validate && phase && problems.length === 0
        ? await validateServices({
            provider: deps.provider,
            namespace: ns,
            services: plan.validate.services,
            validation: phase.validation,
            range: plan.validate.range,
            ...(plan.validate.routedSince !== undefined
              ? { routedForMs: now.getTime() - Date.parse(plan.validate.routedSince) }
              : {}),
          })
        : undefined;
    const manual = readManualAction(obj.metadata?.annotations);
    if (manual.error) {
      deps.logger.warn(
        { object: `${ns}/${obj.metadata?.name}`, error: manual.error },
        "ignoring manual action",
      );
    }
    return {
      now,
      generation: obj.metadata?.generation ?? 0,
      specProblems: problems,
      validation,
      manualAction: manual.action,
      routingApplied: applied,
    };
  }

  async function act(obj: MigrationObject, spec: MigrationSpec, actions: MigrationAction[]): Promise<void> {
    const ns = obj.metadata?.namespace ?? "";
    for (const action of actions) {
      if (action.type === "SetRouting") {
        const vs = migrationVirtualService(spec, ns, obj, action.routing);
        await applyIfChanged(vs, deps.virtualServices.get(ns, vs.metadata?.name ?? ""), true);
      }
    }
  }

  return { definition: migrationDefinition, observe, decide: decideMigration, act };
}
