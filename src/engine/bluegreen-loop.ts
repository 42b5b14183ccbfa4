// The BlueGreen kind's loop: its informer, its reconciler, and which changes to
// Deployments and VirtualServices wake which BlueGreens.
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { BlueGreenSpec } from "../api/bluegreen.ts";
import { blueGreenKind as blueGreenDefinition } from "../api/bluegreen.ts";
import { group, version } from "../api/common.ts";
import type { MetricTemplateSpec } from "../api/metric-template.ts";
import { resourceInformer } from "../kube/resource-informer.ts";
import type { Logger } from "../observability/logger.ts";
import type { MetricsProvider } from "./analysis/prometheus.ts";
import { blueGreenKind } from "./bluegreen-kind.ts";
import type { ClusterCache } from "./canary-kind.ts";
import { Reconciler, type ReconcilerDeps } from "./reconciler.ts";
import { RolloutLoop } from "./rollout-loop.ts";
import { blueGreenServiceNames } from "./routing/bluegreen-routes.ts";
import { colourName } from "./workload/colours.ts";

type BlueGreen = KubernetesObject & { spec?: BlueGreenSpec };

export interface BlueGreenLoopOptions {
  kc: KubeConfig;
  /** Where and how informers list and watch (the controller's namespace scope). */
  scope: { namespace?: string; resyncMs: number; logger: Logger };
  /** The controller's caches of Deployments, Services, Istio objects and MetricTemplates. */
  cache: ClusterCache;
  defaultProvider: MetricsProvider;
  templateProvider: (namespace: string, template: MetricTemplateSpec) => Promise<MetricsProvider>;
  shared: Omit<ReconcilerDeps, "informer" | "queue">;
  logger: Logger;
}

/** Builds the BlueGreen loop. Its only informer is the loop's own; every other cache is the controller's. */
export function blueGreenLoop(options: BlueGreenLoopOptions): RolloutLoop {
  const { kc, scope, cache, logger } = options;
  const blueGreens = resourceInformer<BlueGreen>(
    kc,
    { group, version, plural: blueGreenDefinition.plural },
    scope,
  );
  const loop = new RolloutLoop(blueGreenDefinition.kind, blueGreens, logger);
  loop.use(
    new Reconciler(
      blueGreenKind({
        kc,
        cache,
        defaultProvider: options.defaultProvider,
        templateProvider: options.templateProvider,
        logger,
      }),
      loop.deps(options.shared),
    ),
  );
  // The target, either colour or the apex VirtualService changing re-queues the BlueGreen.
  const concerned = (obj: KubernetesObject) =>
    blueGreens.list().filter((b) => {
      if (b.metadata?.namespace !== obj.metadata?.namespace || !b.spec?.targetRef || !b.spec.service)
        return false;
      const target = b.spec.targetRef.name;
      const names = [target, colourName(target, "blue"), colourName(target, "green")];
      return [...names, blueGreenServiceNames(b.spec).apex].includes(obj.metadata?.name ?? "");
    });
  loop.wakeOn(cache.deployments, concerned).wakeOn(cache.virtualServices, concerned);
  return loop;
}
