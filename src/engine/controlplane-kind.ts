// The ControlPlaneUpgrade kind's observe and act adapters around the pure
// strategy, and its loop: its own informer (scoped like every kind's), a
// cluster-wide Namespace informer, and on-demand reads of the namespaces a wave
// is moving (docs/adr/0007).
import type { KubeConfig, KubernetesObject, V1Namespace } from "@kubernetes/client-node";
import { group, version } from "../api/common.ts";
import {
  ControlPlaneUpgradeSpec,
  type ControlPlaneUpgradeStatus,
  controlPlaneUpgradeKind as definition,
} from "../api/control-plane-upgrade.ts";
import { MetricTemplateSpec } from "../api/metric-template.ts";
import type { Informer } from "../kube/informer.ts";
import { resourceInformer } from "../kube/resource-informer.ts";
import type { Logger } from "../observability/logger.ts";
import {
  type ControlPlaneAction,
  type ControlPlaneObservations,
  decideControlPlaneUpgrade,
  movedNamespaces,
  planControlPlaneUpgrade,
} from "../strategies/controlplane.ts";
import type { MetricsProvider } from "./analysis/prometheus.ts";
import { readManualAction } from "./manual-actions.ts";
import { mapLimit } from "./mesh/concurrency.ts";
import { observeIstiod } from "./mesh/istiod.ts";
import { matchesSelector } from "./mesh/label-selector.ts";
import { observeNamespaces, relabelNamespace } from "./mesh/namespaces.ts";
import { moveRevisionTag, observeRevisionTag } from "./mesh/revision-tag.ts";
import { runWaveChecks } from "./mesh/wave-analysis.ts";
import { listGateways, listWorkloads, restartWorkloads } from "./mesh/workloads.ts";
import { Reconciler, type ReconcilerDeps, type RolloutKind, type RolloutObject } from "./reconciler.ts";
import { RolloutLoop } from "./rollout-loop.ts";
import { WriteTracker } from "./write-tracker.ts";

type Upgrade = RolloutObject<ControlPlaneUpgradeStatus>;
type TemplateObject = KubernetesObject & { spec?: MetricTemplateSpec };

export interface ControlPlaneKindDeps {
  kc: KubeConfig;
  /** Every namespace of the cluster. */
  namespaces: Informer<V1Namespace>;
  metricTemplates: Informer<TemplateObject>;
  /** The Prometheus built-in metrics are read from. */
  defaultProvider: MetricsProvider;
  templateProvider: (namespace: string, template: MetricTemplateSpec) => Promise<MetricsProvider>;
  logger: Logger;
}

/** The revisions observed: the spec's when an upgrade is about to begin, else those recorded at its start. */
function observedRevisions(spec: ControlPlaneUpgradeSpec, status: ControlPlaneUpgradeStatus) {
  const starting = status.phase === undefined || status.phase === "Succeeded" || status.phase === "Failed";
  return starting
    ? { from: spec.from, to: spec.to }
    : { from: status.from ?? spec.from, to: status.to ?? spec.to };
}

/** The ControlPlaneUpgrade kind: strategy plus adapters. */
export function controlPlaneUpgradeKind(
  deps: ControlPlaneKindDeps,
): RolloutKind<
  ControlPlaneUpgradeSpec,
  ControlPlaneUpgradeStatus,
  ControlPlaneObservations,
  ControlPlaneAction
> {
  const { kc } = deps;
  const writes = new WriteTracker();

  /** A MetricTemplate's spec; an invalid one throws a message naming the field (the check's Unavailable reason). */
  function validTemplate(namespace: string, name: string): MetricTemplateSpec | undefined {
    const template = deps.metricTemplates.get(namespace, name);
    if (!template) return undefined;
    const parsed = MetricTemplateSpec.safeParse(template.spec);
    if (parsed.success) return parsed.data;
    const issues = parsed.error.issues.map((i) => `spec.${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`MetricTemplate ${namespace}/${name} is invalid: ${issues}`);
  }

  async function observe(
    obj: Upgrade,
    spec: ControlPlaneUpgradeSpec,
    status: ControlPlaneUpgradeStatus,
    now: Date,
  ): Promise<ControlPlaneObservations> {
    const ns = obj.metadata?.namespace ?? "";
    const plan = planControlPlaneUpgrade(spec, status, now);
    const { from, to } = observedRevisions(spec, status);
    const namespaces = observeNamespaces(
      deps.namespaces.list(),
      spec.namespaceSelector,
      new Set(movedNamespaces(status)),
    );
    const [workloads, gateways, istiod, tag, checks] = await Promise.all([
      plan.workloadNamespaces.length > 0
        ? listWorkloads(kc, plan.workloadNamespaces, spec.gateways?.selector)
        : undefined,
      plan.gateways && spec.gateways ? listGateways(kc, spec.gateways.selector) : undefined,
      plan.istiod ? observeIstiod(kc, spec.istioNamespace, to) : undefined,
      plan.tag && spec.revisionTag !== undefined ? observeRevisionTag(kc, spec.revisionTag) : undefined,
      plan.analyse
        ? runWaveChecks({
            checks: spec.analysis.metrics,
            namespaces: plan.analyse.namespaces,
            from,
            to,
            interval: spec.analysis.interval,
            namespace: ns,
            templates: (ref) => validTemplate(ref.namespace, ref.name),
            providerFor: (ref) => {
              const template = ref ? validTemplate(ref.namespace, ref.name) : undefined;
              return template ? deps.templateProvider(ref?.namespace ?? ns, template) : deps.defaultProvider;
            },
          })
        : undefined,
    ]);
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
      namespaces,
      workloads,
      gateways,
      istiod,
      tag,
      checks,
      manualAction: manual.action,
    };
  }

  async function act(
    _obj: Upgrade,
    _spec: ControlPlaneUpgradeSpec,
    actions: ControlPlaneAction[],
  ): Promise<void> {
    for (const action of actions) {
      if (action.type === "RelabelNamespaces") {
        await mapLimit(action.namespaces, 8, (n) =>
          relabelNamespace(kc, writes, deps.namespaces.get(undefined, n.name), n.name, n.labels),
        );
      } else if (action.type === "RestartWorkloads") {
        await restartWorkloads(kc, action.restartedAt, action.workloads);
      } else if (action.type === "MoveRevisionTag") {
        await moveRevisionTag(kc, action.tag, action.revision);
      }
    }
  }

  return { definition, observe, decide: decideControlPlaneUpgrade, act };
}

export interface ControlPlaneLoopDeps extends Omit<ControlPlaneKindDeps, "namespaces"> {
  /** Where ControlPlaneUpgrade objects are watched (the controller's --namespace; all when unset). */
  namespace?: string;
  resyncMs: number;
  shared: Omit<ReconcilerDeps, "informer" | "queue">;
}

/** The ControlPlaneUpgrade loop, and the informers it adds to the controller besides the loop's own. */
export function controlPlaneUpgradeLoop(deps: ControlPlaneLoopDeps): {
  loop: RolloutLoop;
  informers: Informer<KubernetesObject>[];
} {
  const { kc, logger } = deps;
  const upgrades = resourceInformer<
    KubernetesObject & { spec?: unknown; status?: ControlPlaneUpgradeStatus }
  >(
    kc,
    { group, version, plural: definition.plural },
    { namespace: deps.namespace, resyncMs: deps.resyncMs, logger },
  );
  // Namespaces are cluster-scoped and few; their labels decide every wave.
  const namespaces = resourceInformer<V1Namespace>(
    kc,
    { group: "", version: "v1", plural: "namespaces" },
    { resyncMs: deps.resyncMs, logger },
  );
  const loop = new RolloutLoop(definition.kind, upgrades, logger);
  loop.use(new Reconciler(controlPlaneUpgradeKind({ ...deps, namespaces }), loop.deps(deps.shared)));
  // A namespace change concerns the upgrades whose selector matches it or that moved it.
  loop.wakeOn(namespaces, (ns) =>
    upgrades.list().filter((u) => {
      const spec = ControlPlaneUpgradeSpec.safeParse(u.spec);
      if (!spec.success) return false;
      const name = ns.metadata?.name ?? "";
      return (
        matchesSelector(spec.data.namespaceSelector, ns.metadata?.labels) ||
        movedNamespaces(u.status ?? {}).includes(name)
      );
    }),
  );
  return { loop, informers: [namespaces] as Informer<KubernetesObject>[] };
}
