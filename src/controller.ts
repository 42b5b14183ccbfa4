// Wires informers, the work queue and the reconciler of each kind into one controller.
import type { KubeConfig, KubernetesObject, V1Deployment, V1Service } from "@kubernetes/client-node";
import type { CanarySpec } from "./api/canary.ts";
import { canaryKind as canaryDefinition } from "./api/canary.ts";
import { group, version } from "./api/common.ts";
import type { MetricTemplateSpec } from "./api/metric-template.ts";
import type { Config } from "./config.ts";
import { prometheusProvider } from "./engine/analysis/prometheus.ts";
import { blueGreenLoop } from "./engine/bluegreen-loop.ts";
import { type ClusterCache, canaryKind } from "./engine/canary-kind.ts";
import { controlPlaneUpgradeLoop } from "./engine/controlplane-kind.ts";
import { migrationLoop } from "./engine/migration-loop.ts";
import { Reconciler } from "./engine/reconciler.ts";
import { RolloutLoop } from "./engine/rollout-loop.ts";
import { canaryServiceNames } from "./engine/routing/canary-routes.ts";
import type { DestinationRule, VirtualService } from "./engine/routing/istio.ts";
import { templateProviders } from "./engine/template-providers.ts";
import { primaryName } from "./engine/workload/deployments.ts";
import { EventRecorder } from "./kube/events.ts";
import type { Informer } from "./kube/informer.ts";
import { KubeRequestError, kubeRequest } from "./kube/request.ts";
import { resourceInformer } from "./kube/resource-informer.ts";
import { statusClient } from "./kube/status.ts";
import { kubernetesLookup } from "./notify/lookup.ts";
import { type DefaultProvider, Notifier } from "./notify/notifier.ts";
import { reconcilerNotify } from "./notify/rollout.ts";
import type { Logger } from "./observability/logger.ts";

type Canary = KubernetesObject & { spec?: CanarySpec };

export interface Controller {
  /** Informers list and watch at once (a standby keeps its caches warm). */
  start(): Promise<void>;
  /** Reconciling starts only on the leader. */
  startWorkers(): void;
  synced(): boolean;
  healthy(): boolean;
  stop(): Promise<void>;
}

/** Builds the controller for every kind Wren reconciles. */
export function createController(kc: KubeConfig, config: Config, logger: Logger): Controller {
  const resync = config.resyncSeconds * 1000;
  const scope = { namespace: config.namespace, resyncMs: resync, logger };
  const canaries = resourceInformer<Canary>(kc, { group, version, plural: canaryDefinition.plural }, scope);
  const cache: ClusterCache = {
    deployments: resourceInformer<V1Deployment>(
      kc,
      { group: "apps", version: "v1", plural: "deployments" },
      scope,
    ),
    services: resourceInformer<V1Service>(
      kc,
      { group: "", version: "v1", plural: "services" },
      { ...scope, labelSelector: "app.kubernetes.io/managed-by=wren" },
    ),
    virtualServices: resourceInformer<VirtualService>(
      kc,
      { group: "networking.istio.io", version: "v1", plural: "virtualservices" },
      scope,
    ),
    destinationRules: resourceInformer<DestinationRule>(
      kc,
      { group: "networking.istio.io", version: "v1", plural: "destinationrules" },
      { ...scope, labelSelector: "app.kubernetes.io/managed-by=wren" },
    ),
    metricTemplates: resourceInformer<KubernetesObject & { spec?: MetricTemplateSpec }>(
      kc,
      { group, version, plural: "metrictemplates" },
      scope,
    ),
  };
  const alertProviders = resourceInformer<KubernetesObject & { spec?: unknown }>(
    kc,
    { group, version, plural: "alertproviders" },
    scope,
  );
  const notifier = new Notifier({
    // Secrets are read one by one when a message is sent: no list/watch on every Secret.
    lookup: kubernetesLookup({
      readAlertProvider: async (ns, name) => alertProviders.get(ns, name),
      readSecretData: async (ns, name) => {
        try {
          const secret = await kubeRequest<{ data?: Record<string, string> }>(kc, {
            method: "GET",
            path: `/api/v1/namespaces/${ns}/secrets/${name}`,
          });
          return secret.data ?? {};
        } catch (error) {
          if (error instanceof KubeRequestError && error.code === 404) return undefined;
          throw error;
        }
      },
    }),
    defaultProvider: parseDefaultProvider(config.defaultAlertProvider),
    logger: logger.child({ subsystem: "notify" }),
  });
  const shared = {
    events: new EventRecorder({ client: kc, instance: config.identity, logger }),
    statusClient: statusClient(kc),
    logger,
    notify: reconcilerNotify(notifier, { cluster: config.clusterName }),
  };
  const defaultProvider = prometheusProvider({ address: config.prometheusUrl, logger });
  const templateProvider = templateProviders(kc, logger);

  // One loop per rollout kind; each lists which other objects wake its rollouts.
  const canaryLoop = new RolloutLoop(canaryDefinition.kind, canaries, logger);
  canaryLoop.use(
    new Reconciler(
      canaryKind({ kc, cache, defaultProvider, templateProvider, logger }),
      canaryLoop.deps(shared),
    ),
  );
  // Any change to an object a canary reads or owns re-queues that canary.
  const canariesFor = (obj: KubernetesObject) =>
    canaries.list().filter((c) => {
      if (c.metadata?.namespace !== obj.metadata?.namespace || !c.spec?.targetRef) return false;
      const target = c.spec.targetRef.name;
      const apex = c.spec.service ? canaryServiceNames(c.spec).apex : target;
      const adopted = c.spec.service?.virtualServiceRef?.name;
      return [target, primaryName(target), apex, adopted].includes(obj.metadata?.name ?? "");
    });
  canaryLoop.wakeOn(cache.deployments, canariesFor).wakeOn(cache.virtualServices, canariesFor);

  const migration = migrationLoop({
    kc,
    scope,
    virtualServices: cache.virtualServices,
    provider: defaultProvider,
    shared,
    logger,
  });

  const blueGreen = blueGreenLoop({ kc, scope, cache, defaultProvider, templateProvider, shared, logger });

  const controlPlane = controlPlaneUpgradeLoop({
    kc,
    namespace: config.namespace,
    resyncMs: resync,
    metricTemplates: cache.metricTemplates,
    defaultProvider,
    templateProvider,
    shared,
    logger,
  });

  const loops: RolloutLoop[] = [canaryLoop, migration.loop, blueGreen, controlPlane.loop];
  const informers: Informer<KubernetesObject>[] = [
    ...loops.map((l) => l.informer),
    alertProviders,
    ...Object.values(cache),
    ...migration.informers,
    ...controlPlane.informers,
  ];

  return {
    async start() {
      for (const informer of informers) informer.start();
      await Promise.all(informers.map((i) => i.synced()));
    },
    startWorkers() {
      for (const loop of loops) loop.startWorkers(config.workers);
    },
    synced: () => informers.every((i) => i.hasSynced),
    healthy: () => informers.every((i) => i.healthy()),
    async stop() {
      await Promise.all(loops.map((l) => l.stop()));
      await notifier.shutdown(5000);
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}

/** `namespace/name[:severity]` from the configuration. */
function parseDefaultProvider(value: string | undefined): DefaultProvider | undefined {
  if (!value) return undefined;
  const [ref, severity] = value.split(":");
  const [namespace, name] = (ref ?? "").split("/");
  if (!namespace || !name) return undefined;
  return { namespace, name, severity: severity as DefaultProvider["severity"] };
}
