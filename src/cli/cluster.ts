// The thin I/O layer: every request the CLI makes to the API server, and the
// translation of its failures into messages a person understands. Commands take
// a Cluster, so tests give them a fake one.
import type { KubeConfig } from "@kubernetes/client-node";
import { type KubeRequest, KubeRequestError, kubeRequest } from "../kube/request.ts";
import { CliError, httpError, NotFoundError, networkError, type RequestContext } from "./errors.ts";
import type { KubeEventJson } from "./events.ts";
import type { RolloutObject } from "./rollout.ts";
import type { RolloutKind } from "./rollout-kinds.ts";

/** Where the CLI is connected, as the kubeconfig (and flags) say. */
export interface ClusterInfo {
  server: string;
  context: string;
  /** The namespace commands use without -n: the flag, else the context's, else "default". */
  namespace: string;
  /** The kubeconfig user of the context. */
  user?: string;
}

/** A Deployment as JSON (the fields the CLI reads). */
export interface DeploymentJson {
  metadata?: { name?: string; namespace?: string };
  spec?: { template?: unknown };
}

/** Everything the CLI asks of the API server. */
export interface Cluster {
  readonly info: ClusterInfo;
  /** Rollouts of a kind in a namespace, or in all namespaces when namespace is undefined. */
  list(kind: RolloutKind, namespace: string | undefined, name?: string): Promise<RolloutObject[]>;
  /** One rollout; undefined when it does not exist. */
  get(kind: RolloutKind, namespace: string, name: string): Promise<RolloutObject | undefined>;
  /** The Events about an object. */
  events(namespace: string, object: { kind: string; name: string; uid?: string }): Promise<KubeEventJson[]>;
  /** A Deployment; undefined when it does not exist. */
  deployment(namespace: string, name: string): Promise<DeploymentJson | undefined>;
  /** Sets (or with null removes) annotations with a JSON merge patch; returns the patched object. */
  annotate(
    kind: RolloutKind,
    namespace: string,
    name: string,
    annotations: Record<string, string | null>,
  ): Promise<RolloutObject>;
  /** The user the API server knows the caller as (SelfSubjectReview); undefined when it will not say. */
  whoAmI(): Promise<string | undefined>;
}

interface ListJson<T> {
  items?: T[];
}

function rolloutPath(kind: RolloutKind, namespace: string | undefined, name?: string): string {
  const ns = namespace === undefined ? "" : `/namespaces/${encodeURIComponent(namespace)}`;
  const base = `/apis/${kind.group}/${kind.version}${ns}/${kind.plural}`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

function withQuery(path: string, query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, value);
  return params.size === 0 ? path : `${path}?${params}`;
}

/** The Cluster of a kubeconfig, over HTTP(S) with its credentials. */
export class HttpCluster implements Cluster {
  readonly info: ClusterInfo;
  readonly #kc: KubeConfig;
  readonly #timeoutMs: number;

  constructor(kc: KubeConfig, info: ClusterInfo, timeoutMs: number) {
    this.#kc = kc;
    this.info = info;
    this.#timeoutMs = timeoutMs;
  }

  async #send<T>(request: KubeRequest, context: Omit<RequestContext, "server">): Promise<T> {
    const server = this.info.server;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      if (this.#timeoutMs <= 0) return;
      timer = setTimeout(
        () =>
          reject(
            new CliError(
              `the Kubernetes API server at ${server} did not answer within ${this.#timeoutMs / 1000}s (--request-timeout)`,
            ),
          ),
        this.#timeoutMs,
      );
      timer.unref();
    });
    try {
      return await Promise.race([kubeRequest<T>(this.#kc, request), timeout]);
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (error instanceof KubeRequestError) throw httpError(error, { ...context, server });
      throw networkError(error, server);
    } finally {
      clearTimeout(timer);
    }
  }

  async list(kind: RolloutKind, namespace: string | undefined, name?: string): Promise<RolloutObject[]> {
    const path = withQuery(rolloutPath(kind, namespace), {
      fieldSelector: name === undefined ? undefined : `metadata.name=${name}`,
    });
    const list = await this.#send<ListJson<RolloutObject>>(
      { method: "GET", path },
      { verb: "list", resource: kind.resource, singular: kind.singular, namespace },
    );
    return (list.items ?? []).map((item) => ({
      ...item,
      apiVersion: `${kind.group}/${kind.version}`,
      kind: kind.kind,
    }));
  }

  async get(kind: RolloutKind, namespace: string, name: string): Promise<RolloutObject | undefined> {
    try {
      return await this.#send<RolloutObject>(
        { method: "GET", path: rolloutPath(kind, namespace, name) },
        { verb: "get", resource: kind.resource, singular: kind.singular, namespace, name },
      );
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  async events(
    namespace: string,
    object: { kind: string; name: string; uid?: string },
  ): Promise<KubeEventJson[]> {
    const selector = [
      `involvedObject.kind=${object.kind}`,
      `involvedObject.name=${object.name}`,
      ...(object.uid === undefined ? [] : [`involvedObject.uid=${object.uid}`]),
    ].join(",");
    const path = withQuery(`/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, {
      fieldSelector: selector,
    });
    const list = await this.#send<ListJson<KubeEventJson>>(
      { method: "GET", path },
      { verb: "list", resource: "events", namespace },
    );
    return list.items ?? [];
  }

  async deployment(namespace: string, name: string): Promise<DeploymentJson | undefined> {
    try {
      return await this.#send<DeploymentJson>(
        {
          method: "GET",
          path: `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/deployments/${encodeURIComponent(name)}`,
        },
        { verb: "get", resource: "deployments.apps", singular: "deployment", namespace, name },
      );
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  annotate(
    kind: RolloutKind,
    namespace: string,
    name: string,
    annotations: Record<string, string | null>,
  ): Promise<RolloutObject> {
    return this.#send<RolloutObject>(
      {
        method: "PATCH",
        path: rolloutPath(kind, namespace, name),
        body: { metadata: { annotations } },
        contentType: "application/merge-patch+json",
      },
      { verb: "patch", resource: kind.resource, singular: kind.singular, namespace, name },
    );
  }

  async whoAmI(): Promise<string | undefined> {
    try {
      const review = await this.#send<{ status?: { userInfo?: { username?: string } } }>(
        {
          method: "POST",
          path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
          body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
        },
        { verb: "create", resource: "selfsubjectreviews.authentication.k8s.io" },
      );
      return review.status?.userInfo?.username || undefined;
    } catch {
      // Older API servers, or RBAC that denies it: the kubeconfig's user name will do.
      return undefined;
    }
  }
}
