// The BlueGreen kind's observe and act adapters around the pure BlueGreen strategy.
import type { KubeConfig } from "@kubernetes/client-node";
import {
  type BlueGreenSpec,
  type BlueGreenStatus,
  blueGreenKind as blueGreenDefinition,
  type Colour,
} from "../api/bluegreen.ts";
import type { MetricTemplateSpec } from "../api/metric-template.ts";
import { isSubset } from "../kube/apply.ts";
import type { Logger } from "../observability/logger.ts";
import {
  type BlueGreenAction,
  type BlueGreenObservations,
  type BlueGreenRouting,
  candidateReady,
  decideBlueGreen,
  otherColour,
  planBlueGreen,
  routingFor,
} from "../strategies/bluegreen.ts";
import { runChecks, type TemplateRef } from "./analysis/analyse.ts";
import type { MetricsProvider } from "./analysis/prometheus.ts";
import { templateLookup } from "./analysis/template-lookup.ts";
import type { ClusterCache } from "./canary-kind.ts";
import { readManualAction } from "./manual-actions.ts";
import { managedElsewhere, type Written } from "./owner.ts";
import type { RolloutKind, RolloutObject } from "./reconciler.ts";
import {
  apexService,
  blueGreenServiceNames,
  blueGreenVirtualService,
  colourDestinationRules,
  colourServices,
} from "./routing/bluegreen-routes.ts";
import { trackedWrites } from "./tracked-writes.ts";
import { callWebhooks } from "./webhooks.ts";
import { colourDeployment, colourName } from "./workload/colours.ts";
import { observeDeployment, templateHash } from "./workload/deployments.ts";

export interface BlueGreenKindDeps {
  kc: KubeConfig;
  cache: ClusterCache;
  /** The Prometheus built-in metrics are read from. */
  defaultProvider: MetricsProvider;
  /** The provider a MetricTemplate names (address, auth from its Secret). */
  templateProvider: (namespace: string, template: MetricTemplateSpec) => Promise<MetricsProvider>;
  logger: Logger;
}

type BlueGreenObject = RolloutObject<BlueGreenStatus>;

/** The BlueGreen kind: strategy plus adapters. */
export function blueGreenKind(
  deps: BlueGreenKindDeps,
): RolloutKind<BlueGreenSpec, BlueGreenStatus, BlueGreenObservations, BlueGreenAction> {
  const { cache } = deps;
  const writes = trackedWrites(deps.kc);
  const lookupTemplate = templateLookup(cache.metricTemplates);

  async function observe(obj: BlueGreenObject, spec: BlueGreenSpec, status: BlueGreenStatus, now: Date) {
    const ns = obj.metadata?.namespace ?? "";
    const name = obj.metadata?.name ?? "";
    const targetName = spec.targetRef.name;
    const target = observeDeployment(cache.deployments.get(ns, targetName));
    const colours: Record<Colour, ReturnType<typeof observeDeployment>> = {
      blue: observeDeployment(cache.deployments.get(ns, colourName(targetName, "blue")), true),
      green: observeDeployment(cache.deployments.get(ns, colourName(targetName, "green")), true),
    };
    const manual = readManualAction(obj.metadata?.annotations);
    if (manual.error)
      deps.logger.warn({ object: `${ns}/${name}`, error: manual.error }, "ignoring manual action");
    const pendingAction = manual.action !== undefined && manual.action.id !== status.lastAction?.id;
    const routing = routingFor(spec, status);
    const applied = routing ? routingApplied(obj, spec, routing) : undefined;
    const plan = planBlueGreen(spec, status, {
      now,
      candidateReady: candidateReady(status, { colours }),
      pendingAction,
      routingApplied: applied,
    });
    const active = status.activeColour ?? "blue";
    const candidate = status.candidateColour ?? otherColour(active);
    const templates = (ref: TemplateRef) => lookupTemplate(ref.namespace, ref.name);
    const [checks, webhooks] = await Promise.all([
      plan.metrics.length > 0
        ? runChecks({
            metrics: plan.metrics,
            context: {
              namespace: ns,
              target: colourName(targetName, candidate),
              primary: colourName(targetName, active),
              service: blueGreenServiceNames(spec).apex,
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
            name,
            namespace: ns,
            kind: blueGreenDefinition.kind,
            phase: status.phase ?? "Initializing",
            checksum: target.templateHash,
            canaryWeight: status.canaryWeight ?? 0,
          })
        : undefined,
    ]);
    const observations: BlueGreenObservations = {
      now,
      generation: obj.metadata?.generation ?? 0,
      target,
      colours,
      checks,
      webhooks,
      manualAction: manual.action,
      routingApplied: applied,
      conflict: conflict(obj, spec),
    };
    return observations;
  }

  /** Which object Wren would write already belongs to another rollout, and whose it is. */
  function conflict(obj: BlueGreenObject, spec: BlueGreenSpec): string | undefined {
    const ns = obj.metadata?.namespace ?? "";
    const names = blueGreenServiceNames(spec);
    const written: Written[] = [
      ...(["blue", "green"] as const).map((c): Written => {
        const name = colourName(spec.targetRef.name, c);
        return [`Deployment ${ns}/${name}`, cache.deployments.get(ns, name)];
      }),
      ...[names.apex, names.blue, names.green].map(
        (n): Written => [`Service ${ns}/${n}`, cache.services.get(ns, n)],
      ),
      [`VirtualService ${ns}/${names.apex}`, cache.virtualServices.get(ns, names.apex)],
    ];
    return managedElsewhere(written, obj);
  }

  /**
   * Whether the cache shows `routing` in place: the VirtualService's spec exactly as
   * setRouting would write it, and the apex Service selecting the active colour. A
   * controller killed between recording a routing change and writing it leaves them
   * apart; the period the change starts must not run for traffic that never moved.
   */
  function routingApplied(obj: BlueGreenObject, spec: BlueGreenSpec, routing: BlueGreenRouting): boolean {
    const ns = obj.metadata?.namespace ?? "";
    const vs = blueGreenVirtualService(spec, ns, obj, routing);
    const live = cache.virtualServices.get(ns, vs.metadata?.name ?? "");
    if (!live || !isSubset(vs.spec, live.spec) || !isSubset(live.spec, vs.spec)) return false;
    // Without the target setRouting writes no Service, so there is nothing more to compare.
    const target = cache.deployments.get(ns, spec.targetRef.name);
    if (!target) return true;
    const apex = apexService(spec, target, obj, routing.active);
    const liveApex = cache.services.get(ns, apex.metadata?.name ?? "");
    return liveApex !== undefined && isSubset(apex.spec?.selector, liveApex.spec?.selector);
  }

  /** The VirtualService first (a rollback is this one write), then the apex Service clients outside the mesh use. */
  async function setRouting(obj: BlueGreenObject, spec: BlueGreenSpec, routing: BlueGreenRouting) {
    const ns = obj.metadata?.namespace ?? "";
    // The Services take their selectors from the target; the VirtualService needs nothing
    // but the routing, so a rollback goes through even with the target gone.
    const target = cache.deployments.get(ns, spec.targetRef.name);
    if (target) {
      // Created once and never changed afterwards: no writes on the way to the VirtualService.
      for (const svc of colourServices(spec, target, obj)) {
        await writes.applyIfChanged(svc, cache.services.get(ns, svc.metadata?.name ?? ""));
      }
    }
    for (const dr of colourDestinationRules(spec, ns, obj)) {
      await writes.applyIfChanged(dr, cache.destinationRules.get(ns, dr.metadata?.name ?? ""), true);
    }
    const vs = blueGreenVirtualService(spec, ns, obj, routing);
    await writes.applyIfChanged(vs, cache.virtualServices.get(ns, vs.metadata?.name ?? ""), true);
    if (!target) return;
    const apex = apexService(spec, target, obj, routing.active);
    await writes.applyIfChanged(apex, cache.services.get(ns, apex.metadata?.name ?? ""));
  }

  async function act(obj: BlueGreenObject, spec: BlueGreenSpec, actions: BlueGreenAction[]): Promise<void> {
    const ns = obj.metadata?.namespace ?? "";
    for (const action of actions) {
      switch (action.type) {
        case "SetRouting":
          await setRouting(obj, spec, action.routing);
          break;
        case "DeployColour": {
          const target = cache.deployments.get(ns, spec.targetRef.name);
          // The target moved on since the decision: the next decision starts that revision instead.
          if (!target || templateHash(target) !== action.revision) break;
          const desired = colourDeployment(target, obj, action.colour, action.replicas);
          await writes.applyIfChanged(desired, cache.deployments.get(ns, desired.metadata?.name ?? ""));
          break;
        }
        case "ScaleColour": {
          const live = cache.deployments.get(ns, colourName(spec.targetRef.name, action.colour));
          if (!live || live.spec?.replicas === action.replicas) break;
          await writes.patchOnce(live, { spec: { replicas: action.replicas } });
          break;
        }
        case "ScaleTarget": {
          const target = cache.deployments.get(ns, spec.targetRef.name);
          if (!target || target.spec?.replicas === action.replicas) break;
          // Only spec.replicas, the one field Wren documents writing on the user's Deployment.
          await writes.patchOnce(target, { spec: { replicas: action.replicas } });
          break;
        }
        case "CallWebhooks":
          // Informational: never awaited, so a slow receiver cannot hold a release.
          void callWebhooks(spec.analysis.webhooks, [action.webhookType], {
            name: obj.metadata?.name ?? "",
            namespace: ns,
            kind: blueGreenDefinition.kind,
            phase: action.phase,
            checksum: obj.status?.lastAppliedSpec,
            message: action.message,
          });
          break;
      }
    }
  }

  return { definition: blueGreenDefinition, observe, decide: decideBlueGreen, act };
}
