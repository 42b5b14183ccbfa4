// The model kept up to date from watch events: converts each object as it
// arrives, bumps `version` only when the converted model actually changed (status
// heartbeats and resourceVersion bumps do not recompile the traffic plans), builds
// the ClusterView on demand, and summarises changes per kind for the log.

import type { V1ConfigMap, V1Deployment, V1Namespace, V1Pod, V1Service } from "@kubernetes/client-node";
import {
  type Converted,
  type CustomObject,
  destinationRuleInfo,
  istiodInfo,
  namespaceInfo,
  podInfo,
  serviceInfo,
  trafficSourceInfo,
  virtualServiceInfo,
} from "./convert.ts";
import type { ClusterView } from "./model.ts";

export type WatchEvent = "add" | "update" | "delete";

export interface ChangeSummary {
  readonly kind: string;
  added: number;
  updated: number;
  deleted: number;
  /** A few of the objects concerned, `namespace/name`. */
  readonly examples: string[];
  /** Objects that could not be used and why (invalid Istio spec, bad traffic config). */
  readonly invalid: string[];
}

const MAX_EXAMPLES = 5;

/** What the store needs of every collection, whatever its object type. */
interface Tracked {
  readonly kind: string;
  summary: ChangeSummary | undefined;
  readonly problems: ReadonlyMap<string, string>;
}

/** `namespace/name`, or `name` for cluster-scoped objects. */
function keyOf(meta: { namespace?: string | undefined; name?: string | undefined } | undefined): string {
  return meta?.namespace ? `${meta.namespace}/${meta.name ?? ""}` : (meta?.name ?? "");
}

/** One kind of object: converted values by key, plus the change accounting. */
class Collection<Raw extends { metadata?: { namespace?: string; name?: string } }, Info> {
  readonly kind: string;
  private readonly convert: (raw: Raw) => Converted<Info> | undefined;
  private readonly values = new Map<string, { info: Info; json: string }>();
  private readonly onChange: () => void;
  readonly problems = new Map<string, string>();
  summary: ChangeSummary | undefined;

  constructor(kind: string, convert: (raw: Raw) => Converted<Info> | undefined, onChange: () => void) {
    this.kind = kind;
    this.convert = convert;
    this.onChange = onChange;
  }

  apply(event: WatchEvent, raw: Raw): void {
    const key = keyOf(raw.metadata);
    const previous = this.values.get(key);
    const converted = event === "delete" ? undefined : this.convert(raw);
    if (converted && !converted.ok) {
      this.problems.set(key, converted.error);
      this.record("updated", key, `${key}: ${converted.error}`);
    } else {
      this.problems.delete(key);
    }
    if (!converted?.ok) {
      if (previous) {
        this.values.delete(key);
        this.record("deleted", key);
        this.onChange();
      }
      return;
    }
    const json = JSON.stringify(converted.value);
    if (previous?.json === json) return;
    this.values.set(key, { info: converted.value, json });
    this.record(previous ? "updated" : "added", key);
    this.onChange();
  }

  list(): Info[] {
    return [...this.values.values()].map((v) => v.info);
  }

  private record(what: "added" | "updated" | "deleted", key: string, problem?: string): void {
    this.summary ??= { kind: this.kind, added: 0, updated: 0, deleted: 0, examples: [], invalid: [] };
    this.summary[what]++;
    if (this.summary.examples.length < MAX_EXAMPLES && !this.summary.examples.includes(key)) {
      this.summary.examples.push(key);
    }
    if (problem && this.summary.invalid.length < MAX_EXAMPLES) this.summary.invalid.push(problem);
  }
}

const ok = <T>(value: T | undefined): Converted<T> | undefined =>
  value === undefined ? undefined : { ok: true, value };

export class ModelStore {
  /** Bumped on every change of the model. */
  version = 0;
  private cached: { version: number; view: ClusterView } | undefined;
  private readonly bump = (): void => {
    this.version++;
  };

  readonly namespaces = new Collection<V1Namespace, ReturnType<typeof namespaceInfo>>(
    "namespaces",
    (n) => ok(namespaceInfo(n)),
    this.bump,
  );
  readonly services = new Collection<V1Service, ReturnType<typeof serviceInfo>>(
    "services",
    (s) => ok(serviceInfo(s)),
    this.bump,
  );
  readonly pods = new Collection<V1Pod, ReturnType<typeof podInfo>>("pods", (p) => ok(podInfo(p)), this.bump);
  readonly virtualServices = new Collection(
    "virtualservices",
    (o: CustomObject) => virtualServiceInfo(o),
    this.bump,
  );
  readonly destinationRules = new Collection(
    "destinationrules",
    (o: CustomObject) => destinationRuleInfo(o),
    this.bump,
  );
  readonly istiods = new Collection<V1Deployment, NonNullable<ReturnType<typeof istiodInfo>>>(
    "istiods",
    (d) => ok(istiodInfo(d)),
    this.bump,
  );
  readonly trafficSources = new Collection<V1ConfigMap, ReturnType<typeof trafficSourceInfo>>(
    "traffic-configmaps",
    (cm) => {
      const info = trafficSourceInfo(cm);
      return info.error ? { ok: false, error: info.error } : { ok: true, value: info };
    },
    this.bump,
  );

  private all(): Tracked[] {
    return [
      this.namespaces,
      this.services,
      this.pods,
      this.virtualServices,
      this.destinationRules,
      this.istiods,
      this.trafficSources,
    ];
  }

  view(): ClusterView {
    if (this.cached?.version !== this.version) {
      this.cached = {
        version: this.version,
        view: {
          namespaces: new Map(this.namespaces.list().map((n) => [n.name, n])),
          services: this.services.list(),
          pods: this.pods.list(),
          virtualServices: this.virtualServices.list(),
          destinationRules: this.destinationRules.list(),
          istiods: this.istiods.list(),
          trafficSources: this.trafficSources.list(),
        },
      };
    }
    return this.cached.view;
  }

  /** Changes since the last call, one summary per kind that changed. */
  drainChanges(): ChangeSummary[] {
    const out: ChangeSummary[] = [];
    for (const c of this.all()) {
      if (c.summary) out.push(c.summary);
      c.summary = undefined;
    }
    return out;
  }

  /** Objects meshsim ignores because they are invalid, `kind namespace/name` -> reason. */
  problems(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const c of this.all()) {
      for (const [key, reason] of c.problems) out[`${c.kind} ${key}`] = reason;
    }
    return out;
  }
}
