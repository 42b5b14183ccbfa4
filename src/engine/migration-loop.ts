// The Migration kind's loop: its informer, the Services it reads, its reconciler,
// and which changes wake which Migrations.
import type { KubeConfig, KubernetesObject, V1Service } from "@kubernetes/client-node";
import { group, version } from "../api/common.ts";
import { type MigrationSpec, migrationKind as migrationDefinition } from "../api/migration.ts";
import type { Informer } from "../kube/informer.ts";
import { resourceInformer } from "../kube/resource-informer.ts";
import type { Logger } from "../observability/logger.ts";
import type { MetricsProvider } from "./analysis/prometheus.ts";
import { hostFqdn, migrationKind } from "./migration-kind.ts";
import { Reconciler, type ReconcilerDeps } from "./reconciler.ts";
import { RolloutLoop } from "./rollout-loop.ts";
import type { VirtualService } from "./routing/istio.ts";

type Migration = KubernetesObject & { spec?: Partial<MigrationSpec> };

export interface MigrationLoopOptions {
  kc: KubeConfig;
  /** Where and how informers list and watch (the controller's namespace scope). */
  scope: { namespace?: string; resyncMs: number; logger: Logger };
  /** The controller's VirtualService informer. */
  virtualServices: Informer<VirtualService>;
  provider: MetricsProvider;
  shared: Omit<ReconcilerDeps, "informer" | "queue">;
  logger: Logger;
}

/** Builds the Migration loop; `informers` are the ones it added, for the controller to start and stop. */
export function migrationLoop(options: MigrationLoopOptions): {
  loop: RolloutLoop;
  informers: Informer<KubernetesObject>[];
} {
  const { kc, scope, logger } = options;
  const migrations = resourceInformer<Migration>(
    kc,
    { group, version, plural: migrationDefinition.plural },
    scope,
  );
  // Every Service, not only Wren's: the host, the monolith and the new services are the user's.
  const services = resourceInformer<V1Service>(kc, { group: "", version: "v1", plural: "services" }, scope);
  const loop = new RolloutLoop(migrationDefinition.kind, migrations, logger);
  loop.use(
    new Reconciler(
      migrationKind({
        kc,
        services,
        virtualServices: options.virtualServices,
        provider: options.provider,
        logger,
      }),
      loop.deps(options.shared),
    ),
  );
  // A Service appearing, changing or going re-checks the Migrations that name it.
  const naming = (svc: KubernetesObject) =>
    migrations.list().filter((m) => {
      if (m.metadata?.namespace !== svc.metadata?.namespace) return false;
      // The cache holds objects as written, before the schema is applied: read defensively.
      const phases = Array.isArray(m.spec?.phases) ? m.spec.phases : [];
      const names = [
        m.spec?.host,
        m.spec?.monolith?.service,
        ...phases.flatMap((p) => (Array.isArray(p?.to) ? p.to.map((d) => d?.service) : [])),
      ];
      return names.includes(svc.metadata?.name);
    });
  // Its own VirtualService edited or deleted by someone, or another one for its host.
  const routing = (vs: VirtualService) =>
    migrations.list().filter((m) => {
      const ns = m.metadata?.namespace ?? "";
      if (vs.metadata?.namespace === ns && vs.metadata?.name === m.metadata?.name) return true;
      const fqdn = m.spec?.host ? hostFqdn(m.spec.host, ns) : undefined;
      return (vs.spec?.hosts ?? []).some((h) => hostFqdn(h, vs.metadata?.namespace ?? "") === fqdn);
    });
  loop.wakeOn(services, naming).wakeOn(options.virtualServices, routing);
  return { loop, informers: [services] };
}
