// API objects -> model (model.ts). Pure. Objects arrive either from a typed list
// (timestamps as Date) or from a watch event (timestamps as strings), and Istio
// objects are free-form JSON, so everything is read defensively; an Istio spec that
// does not validate is reported instead of half-applied (istiod would reject it).

import type {
  V1ConfigMap,
  V1Deployment,
  V1Namespace,
  V1ObjectMeta,
  V1Pod,
  V1Service,
} from "@kubernetes/client-node";
import { z } from "zod";
import { FAULTY_ANNOTATION, ISTIO_NAMESPACE, istiodRevision } from "./istiod.ts";
import type {
  DestinationRuleInfo,
  DestinationRuleSpec,
  IstiodInfo,
  NamespaceInfo,
  PodInfo,
  ServiceInfo,
  TrafficSourceInfo,
  VirtualServiceInfo,
  VirtualServiceSpec,
} from "./model.ts";
import { parseTrafficConfig, TRAFFIC_KEY } from "./traffic-config.ts";

/** A custom resource as the API returns it. */
export interface CustomObject {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: unknown;
}

export type Converted<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

function timestamp(v: unknown): string | undefined {
  if (v instanceof Date) return v.toISOString();
  return typeof v === "string" ? new Date(v).toISOString() : undefined;
}

function ref(meta: V1ObjectMeta | undefined): {
  namespace: string;
  name: string;
  creationTimestamp?: string;
} {
  return {
    namespace: meta?.namespace ?? "",
    name: meta?.name ?? "",
    creationTimestamp: timestamp(meta?.creationTimestamp),
  };
}

export function namespaceInfo(ns: V1Namespace): NamespaceInfo {
  return { name: ns.metadata?.name ?? "", labels: { ...ns.metadata?.labels } };
}

export function serviceInfo(svc: V1Service): ServiceInfo {
  const selector = svc.spec?.selector;
  return {
    ...ref(svc.metadata),
    selector: selector && Object.keys(selector).length > 0 ? { ...selector } : undefined,
  };
}

export function podInfo(pod: V1Pod): PodInfo {
  const owners = [...(pod.metadata?.ownerReferences ?? [])].sort(
    (a, b) => Number(b.controller === true) - Number(a.controller === true),
  );
  return {
    ...ref(pod.metadata),
    labels: { ...pod.metadata?.labels },
    annotations: { ...pod.metadata?.annotations },
    owners: owners.map((o) => ({ kind: o.kind, name: o.name })),
    serviceAccount: pod.spec?.serviceAccountName || "default",
    ready: (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
    deleting: pod.metadata?.deletionTimestamp !== undefined && pod.metadata?.deletionTimestamp !== null,
  };
}

/** An istiod Deployment in istio-system, or undefined for any other Deployment. */
export function istiodInfo(d: V1Deployment): IstiodInfo | undefined {
  const meta = ref(d.metadata);
  if (meta.namespace !== ISTIO_NAMESPACE) return undefined;
  const labels = d.metadata?.labels ?? {};
  const named = meta.name === "istiod" || meta.name.startsWith("istiod-");
  if (!named && labels.app !== "istiod") return undefined;
  const revision = istiodRevision(meta.name, labels);
  if (!revision) return undefined;
  return {
    ...meta,
    revision,
    readyReplicas: d.status?.readyReplicas ?? 0,
    faulty: d.metadata?.annotations?.[FAULTY_ANNOTATION] === "true",
  };
}

export function trafficSourceInfo(cm: V1ConfigMap): TrafficSourceInfo {
  const parsed = parseTrafficConfig(cm.data?.[TRAFFIC_KEY]);
  return parsed.ok
    ? { ...ref(cm.metadata), entries: parsed.entries }
    : { ...ref(cm.metadata), entries: [], error: parsed.error };
}

// --- Istio specs -------------------------------------------------------------

const stringMatch = z.object({
  exact: z.string().optional(),
  prefix: z.string().optional(),
  regex: z.string().optional(),
});
const stringMap = z.record(z.string(), z.string());
const percent = z.object({ value: z.number().min(0).max(100).optional() });
const destination = z.object({
  host: z.string().min(1),
  subset: z.string().optional(),
  port: z.object({ number: z.number().int().optional() }).optional(),
});
const matchRequest = z.object({
  name: z.string().optional(),
  uri: stringMatch.optional(),
  method: stringMatch.optional(),
  authority: stringMatch.optional(),
  headers: z.record(z.string(), stringMatch).optional(),
  withoutHeaders: z.record(z.string(), stringMatch).optional(),
  queryParams: z.record(z.string(), stringMatch).optional(),
  sourceLabels: stringMap.optional(),
  sourceNamespace: z.string().optional(),
  gateways: z.array(z.string()).optional(),
  ignoreUriCase: z.boolean().optional(),
});
const httpRoute = z.object({
  name: z.string().optional(),
  match: z.array(matchRequest).optional(),
  route: z.array(z.object({ destination, weight: z.number().int().min(0).optional() })).optional(),
  mirror: destination.optional(),
  mirrorPercentage: percent.optional(),
  mirrors: z.array(z.object({ destination, percentage: percent.optional() })).optional(),
  fault: z
    .object({
      abort: z.object({ httpStatus: z.number().int().optional(), percentage: percent.optional() }).optional(),
      delay: z.object({ fixedDelay: z.string().optional(), percentage: percent.optional() }).optional(),
    })
    .optional(),
});

export const virtualServiceSpecSchema: z.ZodType<VirtualServiceSpec> = z.object({
  hosts: z.array(z.string()).optional(),
  gateways: z.array(z.string()).optional(),
  http: z.array(httpRoute).optional(),
});

export const destinationRuleSpecSchema: z.ZodType<DestinationRuleSpec> = z.object({
  host: z.string().min(1),
  subsets: z.array(z.object({ name: z.string().min(1), labels: stringMap.optional() })).optional(),
});

/** JSON `null` means "unset" to the API server; zod's optional() wants undefined. */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = dropNulls(x);
    return out;
  }
  return v;
}

function parseSpec<T>(schema: z.ZodType<T>, obj: CustomObject): Converted<T> {
  const result = schema.safeParse(dropNulls(obj.spec ?? {}));
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, error: z.prettifyError(result.error) };
}

export function virtualServiceInfo(obj: CustomObject): Converted<VirtualServiceInfo> {
  const spec = parseSpec(virtualServiceSpecSchema, obj);
  return spec.ok ? { ok: true, value: { ...ref(obj.metadata), spec: spec.value } } : spec;
}

export function destinationRuleInfo(obj: CustomObject): Converted<DestinationRuleInfo> {
  const spec = parseSpec(destinationRuleSpecSchema, obj);
  return spec.ok ? { ok: true, value: { ...ref(obj.metadata), spec: spec.value } } : spec;
}
