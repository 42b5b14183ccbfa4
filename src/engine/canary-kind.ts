// The Canary kind's observe and act adapters around the pure Canary strategy.
import type { KubeConfig, KubernetesObject, V1Deployment, V1Service } from "@kubernetes/client-node";
import { type CanarySpec, type CanaryStatus, canaryKind as canaryDefinition } from "../api/canary.ts";
import type { MetricTemplateSpec } from "../api/metric-template.ts";
import { isSubset, mergePatch } from "../kube/apply.ts";
import type { Informer } from "../kube/informer.ts";
import type { Logger } from "../observability/logger.ts";
import { type CanaryObservations, decideCanary, planCanary, routingFor } from "../strategies/canary.ts";
import type { CanaryAction, Routing } from "../strategies/decision.ts";
import { runChecks, type TemplateRef } from "./analysis/analyse.ts";
import type { MetricsProvider } from "./analysis/prometheus.ts";
import { templateLookup } from "./analysis/template-lookup.ts";
import { readManualAction } from "./manual-actions.ts";
import { managedElsewhere, type Written } from "./owner.ts";
import type { RolloutKind, RolloutObject } from "./reconciler.ts";
import {
  adoptedHttpRoutes,
  canaryDestinationRules,
  canaryServiceNames,
  canaryServices,
  canaryVirtualService,
} from "./routing/canary-routes.ts";
import type { DestinationRule, VirtualService } from "./routing/istio.ts";
import { trackedWrites } from "./tracked-writes.ts";
import { callWebhooks } from "./webhooks.ts";
import { windowOpen } from "./window.ts";
import { observeDeployment, primaryDeployment, primaryName } from "./workload/deployments.ts";

/** The informer caches the Canary adapters read instead of the API server. */
export interface ClusterCache {
  deployments: Informer<V1Deployment>;
  services: Informer<V1Service>;
  virtualServices: Informer<VirtualService>;
  destinationRules: Informer<DestinationRule>;
  metricTemplates: Informer<KubernetesObject & { spec?: MetricTemplateSpec }>;
}

export interface CanaryKindDeps {
  kc: KubeConfig;
  cache: ClusterCache;
  /** The Prometheus built-in metrics are read from. */
  defaultProvider: MetricsProvider;
  /** The provider a MetricTemplate names (address, auth from its Secret). */
  templateProvider: (namespace: string, template: MetricTemplateSpec) => Promise<MetricsProvider>;
  logger: Logger;
}

type CanaryObject = RolloutObject<CanaryStatus>;

/** Holds a Canary with revertOnDeletion until traffic is back on its target. */
export const finalizer = "wren.dev/revert-on-deletion";

function namespaceOf(obj: KubernetesObject): string {
  return obj.metadata?.namespace ?? "";
}

/** The Canary kind: strategy plus adapters. */
export function canaryKind(
  deps: CanaryKindDeps,
): RolloutKind<CanarySpec, CanaryStatus, CanaryObservations, CanaryAction> {
  const { cache, kc } = deps;
  const { applyIfChanged, patchOnce } = trackedWrites(kc);
  const validTemplate = templateLookup(cache.metricTemplates);

  async function observe(obj: CanaryObject, spec: CanarySpec, status: CanaryStatus, now: Date) {
    const ns = namespaceOf(obj);
    const target = cache.deployments.get(ns, spec.targetRef.name);
    const primary = cache.deployments.get(ns, primaryName(spec.targetRef.name));
    // Hashing the pod template is the costliest part of observing; do it once.
    const targetObservation = observeDeployment(target);
    const applied = routingApplied(obj, spec, routingFor(spec, status));
    const plan = planCanary(spec, status, now, applied);
    const names = canaryServiceNames(spec);
    const templates = (ref: TemplateRef) => validTemplate(ref.namespace ?? ns, ref.name);
    const [checks, webhooks] = await Promise.all([
      plan.analyse
        ? runChecks({
            metrics: spec.analysis.metrics,
            context: {
              namespace: ns,
              target: spec.targetRef.name,
              primary: primaryName(spec.targetRef.name),
              service: names.apex,
              interval: spec.analysis.interval,
            },
            templates,
            providerFor: (ref) => {
              const template = ref ? templates(ref) : undefined;
              return template ? deps.templateProvider(ref?.namespace ?? ns, template) : deps.defaultProvider;
            },
          })
        : undefined,
      plan.gates.length > 0
        ? callWebhooks(spec.analysis.webhooks, plan.gates, {
            name: obj.metadata?.name ?? "",
            namespace: ns,
            kind: "Canary",
            phase: status.phase ?? "Initializing",
            checksum: targetObservation.templateHash,
            canaryWeight: status.canaryWeight ?? 0,
          })
        : undefined,
    ]);
    const manual = readManualAction(obj.metadata?.annotations);
    if (manual.error)
      deps.logger.warn(
        { object: `${ns}/${obj.metadata?.name}`, error: manual.error },
        "ignoring manual action",
      );
    const observations: CanaryObservations = {
      now,
      generation: obj.metadata?.generation ?? 0,
      target: targetObservation,
      primary: observeDeployment(primary, true),
      checks,
      webhooks,
      manualAction: manual.action,
      windowOpen: windowOpen(spec.window, now),
      deleting: obj.metadata?.deletionTimestamp !== undefined,
      routingProblem: adoptedRoutingProblem(ns, spec),
      conflict: conflict(obj, spec),
      routingApplied: applied,
      finalizer: obj.metadata?.finalizers?.includes(finalizer) ?? false,
    };
    return observations;
  }

  /** Which object Wren would write already belongs to another rollout, and whose it is. */
  function conflict(obj: CanaryObject, spec: CanarySpec): string | undefined {
    const ns = namespaceOf(obj);
    const names = canaryServiceNames(spec);
    const primary = primaryName(spec.targetRef.name);
    const written: Written[] = [
      [`Deployment ${ns}/${primary}`, cache.deployments.get(ns, primary)],
      ...[names.apex, names.primary, names.canary].map(
        (n): Written => [`Service ${ns}/${n}`, cache.services.get(ns, n)],
      ),
    ];
    if (!spec.service.virtualServiceRef)
      written.push([`VirtualService ${ns}/${names.apex}`, cache.virtualServices.get(ns, names.apex)]);
    return managedElsewhere(written, obj);
  }

  /** Why the adopted VirtualService cannot be managed (missing, or lacking a named route), if so. */
  function adoptedRoutingProblem(ns: string, spec: CanarySpec): string | undefined {
    const adopt = spec.service.virtualServiceRef;
    if (!adopt) return undefined;
    const live = cache.virtualServices.get(ns, adopt.name);
    if (!live) return `spec.service.virtualServiceRef: VirtualService ${ns}/${adopt.name} not found`;
    const names = new Set((live.spec.http ?? []).map((r) => r.name));
    const missing = adopt.routes.filter((r) => !names.has(r));
    return missing.length > 0
      ? `spec.service.virtualServiceRef.routes: VirtualService ${ns}/${adopt.name} has no http route named ${missing.join(", ")}`
      : undefined;
  }

  /**
   * Whether the VirtualService in the cache already carries `routing`. A controller killed
   * between recording a step and writing it leaves them apart; the step's clock must not
   * run for traffic that never moved.
   */
  function routingApplied(obj: CanaryObject, spec: CanarySpec, routing: Routing): boolean {
    const ns = namespaceOf(obj);
    const adopt = spec.service.virtualServiceRef;
    if (!adopt) {
      const vs = canaryVirtualService(spec, ns, obj, routing);
      const live = cache.virtualServices.get(ns, vs.metadata?.name ?? "");
      return live !== undefined && isSubset(vs.spec, live.spec) && isSubset(live.spec, vs.spec);
    }
    const live = cache.virtualServices.get(ns, adopt.name);
    if (!live) return false;
    const { http } = adoptedHttpRoutes(spec, live.spec.http ?? [], adopt.routes, routing.weights);
    return isSubset(http, live.spec.http);
  }

  async function setRouting(obj: CanaryObject, spec: CanarySpec, routing: Routing): Promise<void> {
    const ns = namespaceOf(obj);
    const target = cache.deployments.get(ns, spec.targetRef.name);
    if (!target) return;
    for (const svc of canaryServices(spec, target, obj)) {
      await applyIfChanged(svc, cache.services.get(ns, svc.metadata?.name ?? ""));
    }
    for (const dr of canaryDestinationRules(spec, ns, obj)) {
      await applyIfChanged(dr, cache.destinationRules.get(ns, dr.metadata?.name ?? ""), true);
    }
    const adopt = spec.service.virtualServiceRef;
    if (!adopt) {
      const vs = canaryVirtualService(spec, ns, obj, routing);
      await applyIfChanged(vs, cache.virtualServices.get(ns, vs.metadata?.name ?? ""), true);
      return;
    }
    const live = cache.virtualServices.get(ns, adopt.name);
    if (!live)
      throw new Error(`VirtualService ${ns}/${adopt.name} (spec.service.virtualServiceRef) not found`);
    const { http, missing } = adoptedHttpRoutes(spec, live.spec.http ?? [], adopt.routes, routing.weights);
    if (missing.length > 0) {
      throw new Error(`VirtualService ${ns}/${adopt.name} has no http route named ${missing.join(", ")}`);
    }
    if (isSubset(http, live.spec.http)) return;
    // Only spec.http changes, and only if nobody changed the VirtualService since we read it.
    await patchOnce(live, { metadata: { resourceVersion: live.metadata?.resourceVersion }, spec: { http } });
  }

  function payload(obj: CanaryObject) {
    return {
      name: obj.metadata?.name ?? "",
      namespace: namespaceOf(obj),
      kind: "Canary",
      phase: obj.status?.phase ?? "Initializing",
      canaryWeight: obj.status?.canaryWeight ?? 0,
      checksum: obj.status?.lastAppliedSpec,
    };
  }

  /** The apex Service selects the target's pods again and is no longer owned, so it survives the Canary. */
  async function releaseApexService(obj: CanaryObject, spec: CanarySpec): Promise<void> {
    const ns = namespaceOf(obj);
    const target = cache.deployments.get(ns, spec.targetRef.name);
    const apex = cache.services.get(ns, canaryServiceNames(spec).apex);
    if (!target || !apex || spec.service.virtualServiceRef) return;
    // Merge patch: null removes the primary's selector keys, then the target's are set.
    const selector: Record<string, string | null> = Object.fromEntries(
      Object.keys(apex.spec?.selector ?? {}).map((k) => [k, null]),
    );
    Object.assign(selector, target.spec?.selector.matchLabels ?? {});
    await mergePatch(kc, apex, {
      metadata: { ownerReferences: null, labels: { "app.kubernetes.io/managed-by": null } },
      spec: { selector },
    });
  }

  async function act(obj: CanaryObject, spec: CanarySpec, actions: CanaryAction[]): Promise<void> {
    const ns = namespaceOf(obj);
    for (const action of actions) {
      if (action.type === "SetFinalizer") {
        const others = (obj.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
        const finalizers = action.present ? [...others, finalizer] : others;
        await mergePatch(kc, obj, {
          metadata: { resourceVersion: obj.metadata?.resourceVersion, finalizers },
        });
        continue;
      }
      if (action.type === "ReleaseApexService") {
        await releaseApexService(obj, spec);
        continue;
      }
      if (action.type === "CallWebhooks") {
        // Informational: never awaited, so a slow receiver cannot hold a rollout.
        void callWebhooks(spec.analysis.webhooks, [action.webhookType], {
          ...payload(obj),
          phase: action.phase,
          canaryWeight: action.canaryWeight,
          message: action.message,
        });
        continue;
      }
      if (action.type === "PromoteSpec") {
        const target = cache.deployments.get(ns, spec.targetRef.name);
        if (!target) continue;
        const primary = primaryDeployment(target, obj, action.replicas);
        await applyIfChanged(primary, cache.deployments.get(ns, primary.metadata?.name ?? ""));
      } else if (action.type === "SetRouting") {
        await setRouting(obj, spec, action.routing);
      } else if (action.type === "ScaleTarget") {
        const target = cache.deployments.get(ns, spec.targetRef.name);
        if (!target || target.spec?.replicas === action.replicas) continue;
        // Only spec.replicas, the one field Wren documents writing on the user's Deployment.
        await patchOnce(target, { spec: { replicas: action.replicas } });
      }
    }
  }

  return { definition: canaryDefinition, observe, decide: decideCanary, act };
}
