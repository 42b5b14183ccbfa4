// The cluster as meshsim sees it: plain, immutable data converted from API objects
// (see convert.ts). Everything downstream of this file is pure and never sees a
// Kubernetes client type, so tests build views by hand.

export type Labels = Readonly<Record<string, string>>;

// --- Istio networking v1, the subset meshsim understands -------------------------

/** Istio's StringMatch: one of exact, prefix, regex. An empty object means "present". */
export interface StringMatch {
  readonly exact?: string | undefined;
  readonly prefix?: string | undefined;
  readonly regex?: string | undefined;
}

export interface HttpMatchRequest {
  readonly name?: string | undefined;
  readonly uri?: StringMatch | undefined;
  readonly method?: StringMatch | undefined;
  readonly authority?: StringMatch | undefined;
  readonly headers?: Readonly<Record<string, StringMatch>> | undefined;
  readonly withoutHeaders?: Readonly<Record<string, StringMatch>> | undefined;
  readonly queryParams?: Readonly<Record<string, StringMatch>> | undefined;
  readonly sourceLabels?: Labels | undefined;
  readonly sourceNamespace?: string | undefined;
  readonly gateways?: readonly string[] | undefined;
  readonly ignoreUriCase?: boolean | undefined;
}

export interface Destination {
  readonly host: string;
  readonly subset?: string | undefined;
  readonly port?: { readonly number?: number | undefined } | undefined;
}

export interface HttpRouteDestination {
  readonly destination: Destination;
  readonly weight?: number | undefined;
}

export interface Percent {
  readonly value?: number | undefined;
}

export interface HttpMirrorPolicy {
  readonly destination: Destination;
  readonly percentage?: Percent | undefined;
}

export interface HttpFaultInjection {
  readonly abort?:
    | { readonly httpStatus?: number | undefined; readonly percentage?: Percent | undefined }
    | undefined;
  readonly delay?:
    | { readonly fixedDelay?: string | undefined; readonly percentage?: Percent | undefined }
    | undefined;
}

export interface HttpRoute {
  readonly name?: string | undefined;
  readonly match?: readonly HttpMatchRequest[] | undefined;
  readonly route?: readonly HttpRouteDestination[] | undefined;
  readonly mirror?: Destination | undefined;
  readonly mirrorPercentage?: Percent | undefined;
  readonly mirrors?: readonly HttpMirrorPolicy[] | undefined;
  readonly fault?: HttpFaultInjection | undefined;
}

export interface VirtualServiceSpec {
  readonly hosts?: readonly string[] | undefined;
  readonly gateways?: readonly string[] | undefined;
  readonly http?: readonly HttpRoute[] | undefined;
}

export interface Subset {
  readonly name: string;
  readonly labels?: Labels | undefined;
}

export interface DestinationRuleSpec {
  readonly host: string;
  readonly subsets?: readonly Subset[] | undefined;
}

// --- The cluster view ------------------------------------------------------------

export interface ObjectRef {
  readonly namespace: string;
  readonly name: string;
  /** RFC 3339; orders conflicting Istio objects the way istiod does (oldest wins). */
  readonly creationTimestamp?: string | undefined;
}

export interface NamespaceInfo {
  readonly name: string;
  readonly labels: Labels;
}

export interface ServiceInfo extends ObjectRef {
  /** Undefined for a Service without selector: it has no pods as far as meshsim cares. */
  readonly selector: Labels | undefined;
}

export interface OwnerRef {
  readonly kind: string;
  readonly name: string;
}

export interface PodInfo extends ObjectRef {
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly owners: readonly OwnerRef[];
  readonly serviceAccount: string;
  /** The Ready condition is True. */
  readonly ready: boolean;
  /** deletionTimestamp is set: the pod is terminating and out of every endpoint set. */
  readonly deleting: boolean;
}

export interface VirtualServiceInfo extends ObjectRef {
  readonly spec: VirtualServiceSpec;
}

export interface DestinationRuleInfo extends ObjectRef {
  readonly spec: DestinationRuleSpec;
}

/** An istiod Deployment in istio-system: one control-plane revision. */
export interface IstiodInfo extends ObjectRef {
  readonly revision: string;
  readonly readyReplicas: number;
  /** `meshsim.wren.dev/faulty: "true"`: proxies on this revision misbehave. */
  readonly faulty: boolean;
}

/** One request shape in a traffic population. */
export interface TrafficRequest {
  readonly weight: number;
  readonly uri?: string | undefined;
  readonly method?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly cookies?: Readonly<Record<string, string>> | undefined;
  readonly source?: string | undefined;
}

/** One entry of a traffic ConfigMap: `rps` requests per second to `host`. */
export interface TrafficEntry {
  readonly host: string;
  readonly rps: number;
  readonly source?: string | undefined;
  readonly requests: readonly TrafficRequest[];
}

/** A ConfigMap labelled `meshsim.wren.dev/traffic=true`, parsed (or the reason it could not be). */
export interface TrafficSourceInfo extends ObjectRef {
  readonly entries: readonly TrafficEntry[];
  readonly error?: string | undefined;
}

export interface ClusterView {
  readonly namespaces: ReadonlyMap<string, NamespaceInfo>;
  readonly services: readonly ServiceInfo[];
  readonly pods: readonly PodInfo[];
  readonly virtualServices: readonly VirtualServiceInfo[];
  readonly destinationRules: readonly DestinationRuleInfo[];
  readonly istiods: readonly IstiodInfo[];
  readonly trafficSources: readonly TrafficSourceInfo[];
}

export const EMPTY_VIEW: ClusterView = {
  namespaces: new Map(),
  services: [],
  pods: [],
  virtualServices: [],
  destinationRules: [],
  istiods: [],
  trafficSources: [],
};
