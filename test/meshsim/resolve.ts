// From a route destination (host + subset) to the ready pods that serve it,
// grouped by what they report and how they behave. Pure.
//
// - host names: `svc` is resolved in the namespace of the object that names it (the
//   VirtualService, DestinationRule or traffic ConfigMap), `svc.ns` and `svc.ns.svc`
//   are completed, anything ending in `.svc.cluster.local` is taken as is;
// - the Service's selector picks pods in its namespace, the DestinationRule subset's
//   labels filter them further; only Ready pods without deletionTimestamp count;
// - pods are grouped by workload and by everything that makes their requests look
//   different in the metrics (canonical revision, behaviour annotations, sidecar
//   revision), so during a rolling update old and new pods report apart, as in Istio.
//   A group's chance of serving a request is proportional to its ready pod count
//   (Envoy's round robin over equal endpoints).

import { type Behaviour, behaviourFromAnnotations, behaviourKey } from "./behaviour.ts";
import { sidecarRevision } from "./injection.ts";
import type {
  ClusterView,
  Destination,
  DestinationRuleInfo,
  Labels,
  ObjectRef,
  PodInfo,
  ServiceInfo,
  VirtualServiceInfo,
} from "./model.ts";
import { virtualServiceAppliesToMesh } from "./routing.ts";
import { isServing, type PeerIdentity, peerIdentity, UNKNOWN, workloadName } from "./workload.ts";

const SUFFIX = ".svc.cluster.local";

export function toFqdn(host: string, namespace: string): string {
  const h = host.trim().toLowerCase().replace(/\.$/, "");
  if (h.endsWith(SUFFIX)) return h;
  if (h.endsWith(".svc")) return `${h}.cluster.local`;
  const dots = h.split(".").length - 1;
  if (dots === 0) return `${h}.${namespace}${SUFFIX}`;
  if (dots === 1) return `${h}${SUFFIX}`;
  return h;
}

export interface ServiceRef {
  readonly fqdn: string;
  readonly name: string;
  readonly namespace: string;
}

export function serviceRef(fqdn: string): ServiceRef {
  const [name = fqdn, namespace = UNKNOWN] = fqdn.endsWith(SUFFIX)
    ? fqdn.slice(0, -SUFFIX.length).split(".")
    : [fqdn, UNKNOWN];
  return { fqdn, name, namespace };
}

export interface EndpointGroup {
  readonly key: string;
  readonly identity: PeerIdentity;
  readonly behaviour: Behaviour;
  /** Istio revision of the pods' sidecar; undefined when they have none. */
  readonly sidecarRevision: string | undefined;
  readonly pods: readonly string[];
}

export type Resolution =
  | {
      readonly kind: "service";
      readonly service: ServiceRef;
      readonly subset: string | undefined;
      /** Empty: no healthy upstream (Envoy: 503 UH). */
      readonly groups: readonly EndpointGroup[];
    }
  /** No Service for the host, or a subset no DestinationRule defines (Envoy: 503 NC). */
  | { readonly kind: "no-cluster"; readonly service: ServiceRef; readonly reason: string };

const byAge = (a: ObjectRef, b: ObjectRef): number =>
  (a.creationTimestamp ?? "").localeCompare(b.creationTimestamp ?? "") ||
  a.namespace.localeCompare(b.namespace) ||
  a.name.localeCompare(b.name);

export function selects(selector: Labels, labels: Labels): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

/** Lookups over one ClusterView, built once per view. */
export class MeshIndex {
  readonly view: ClusterView;
  private readonly services = new Map<string, ServiceInfo>();
  private readonly podsByNamespace = new Map<string, PodInfo[]>();
  private readonly rulesByHost = new Map<string, DestinationRuleInfo[]>();
  private readonly virtualServicesByHost = new Map<string, VirtualServiceInfo>();

  constructor(view: ClusterView) {
    this.view = view;
    for (const s of view.services) this.services.set(`${s.name}.${s.namespace}${SUFFIX}`, s);
    for (const p of view.pods) {
      const list = this.podsByNamespace.get(p.namespace);
      if (list) list.push(p);
      else this.podsByNamespace.set(p.namespace, [p]);
    }
    for (const dr of [...view.destinationRules].sort(byAge)) {
      const host = toFqdn(dr.spec.host, dr.namespace);
      const list = this.rulesByHost.get(host);
      if (list) list.push(dr);
      else this.rulesByHost.set(host, [dr]);
    }
    // Several VirtualServices for one host: istiod keeps the oldest for sidecars.
    for (const vs of [...view.virtualServices].sort(byAge)) {
      if (!virtualServiceAppliesToMesh(vs.spec)) continue;
      for (const host of vs.spec.hosts ?? []) {
        const fqdn = toFqdn(host, vs.namespace);
        if (!this.virtualServicesByHost.has(fqdn)) this.virtualServicesByHost.set(fqdn, vs);
      }
    }
  }

  service(fqdn: string): ServiceInfo | undefined {
    return this.services.get(fqdn);
  }

  podsIn(namespace: string): readonly PodInfo[] {
    return this.podsByNamespace.get(namespace) ?? [];
  }

  virtualServiceFor(fqdn: string): VirtualServiceInfo | undefined {
    return this.virtualServicesByHost.get(fqdn);
  }

  /**
   * Subset labels for a host. istiod merges the DestinationRules of a host; the
   * caller's namespace comes first, then the service's, then the rest, and the first
   * definition of a subset name wins.
   */
  subsetLabels(fqdn: string, subset: string, callerNamespace: string): Labels | undefined {
    const rules = this.rulesByHost.get(fqdn) ?? [];
    const serviceNamespace = serviceRef(fqdn).namespace;
    const tier = (dr: DestinationRuleInfo): number =>
      dr.namespace === callerNamespace ? 0 : dr.namespace === serviceNamespace ? 1 : 2;
    const ordered = [...rules].sort((a, b) => tier(a) - tier(b));
    for (const dr of ordered) {
      const found = dr.spec.subsets?.find((s) => s.name === subset);
      if (found) return found.labels ?? {};
    }
    return undefined;
  }
}

/** Resolves a route destination named in `contextNamespace` (short names are relative to it). */
export function resolveDestination(
  index: MeshIndex,
  destination: Destination,
  contextNamespace: string,
): Resolution {
  const fqdn = toFqdn(destination.host, contextNamespace);
  const ref = serviceRef(fqdn);
  const svc = index.service(fqdn);
  if (!svc) return { kind: "no-cluster", service: ref, reason: `no Service ${fqdn}` };
  let subsetSelector: Labels = {};
  if (destination.subset) {
    const labels = index.subsetLabels(fqdn, destination.subset, contextNamespace);
    if (!labels) {
      return {
        kind: "no-cluster",
        service: ref,
        reason: `no DestinationRule subset ${destination.subset} for ${fqdn}`,
      };
    }
    subsetSelector = labels;
  }
  const selector = svc.selector;
  const pods = selector
    ? index
        .podsIn(svc.namespace)
        .filter((p) => isServing(p) && selects(selector, p.labels) && selects(subsetSelector, p.labels))
    : [];
  return { kind: "service", service: ref, subset: destination.subset, groups: groupEndpoints(pods) };
}

/** Groups serving pods by the identity they report and the behaviour they show. */
export function groupEndpoints(pods: readonly PodInfo[]): EndpointGroup[] {
  const groups = new Map<
    string,
    { identity: PeerIdentity; annotations: Labels; rev: string | undefined; pods: string[] }
  >();
  for (const pod of pods) {
    const identity = peerIdentity(workloadName(pod), pod.namespace, pod.labels, pod.serviceAccount);
    const rev = sidecarRevision(pod.annotations);
    const key = [
      identity.workload,
      identity.canonicalService,
      identity.canonicalRevision,
      identity.app,
      identity.version,
      identity.principal,
      rev ?? "",
      behaviourKey(pod.annotations),
    ].join("\u0000");
    const g = groups.get(key);
    if (g) g.pods.push(pod.name);
    else groups.set(key, { identity, annotations: pod.annotations, rev, pods: [pod.name] });
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, g]) => ({
      key,
      identity: g.identity,
      behaviour: behaviourFromAnnotations(g.annotations),
      sidecarRevision: g.rev,
      pods: g.pods.sort(),
    }));
}

/** Identity of a traffic source: a pod of that workload in the namespace if any, else `{app: name}`. */
export function sourceIdentity(index: MeshIndex, workload: string, namespace: string): PeerIdentity {
  const pods = index.podsIn(namespace).filter((p) => workloadName(p) === workload);
  const pod = pods.find(isServing) ?? pods[0];
  if (!pod) return peerIdentity(workload, namespace, { app: workload }, "default");
  return peerIdentity(workload, namespace, pod.labels, pod.serviceAccount);
}

/** Labels a traffic source matches `sourceLabels` with. */
export function sourceLabels(index: MeshIndex, workload: string, namespace: string): Labels {
  const pods = index.podsIn(namespace).filter((p) => workloadName(p) === workload);
  const pod = pods.find(isServing) ?? pods[0];
  return pod ? pod.labels : { app: workload };
}
