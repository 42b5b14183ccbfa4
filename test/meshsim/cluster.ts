// The I/O half of meshsim: informers over everything the model needs, feeding the
// ModelStore, and the pod patch used to emulate sidecar injection.
//
// client-node's informer re-lists by itself after a 410 (expired resourceVersion)
// and re-watches when a watch ends or times out, but stops on any other error (API
// server down, CRD not installed yet). Each informer here is restarted after such an
// error with exponential backoff (1 s .. 30 s), so meshsim survives API server
// restarts and CRDs installed after it started.

import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { CustomObject } from "./convert.ts";
import { ISTIO_NAMESPACE } from "./istiod.ts";
import type { ModelStore, WatchEvent } from "./store.ts";
import { TRAFFIC_LABEL } from "./traffic-config.ts";

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

interface Watched {
  readonly name: string;
  synced: boolean;
  stop(): Promise<void>;
}

/** The API list result of a custom resource is untyped JSON; check its shape. */
function customList(raw: unknown): KubernetesListObject<CustomObject & KubernetesObject> {
  if (!raw || typeof raw !== "object" || !("items" in raw) || !Array.isArray(raw.items)) {
    throw new Error("unexpected list response");
  }
  const metadata = "metadata" in raw && raw.metadata && typeof raw.metadata === "object" ? raw.metadata : {};
  return { items: raw.items as Array<CustomObject & KubernetesObject>, metadata };
}

export class ClusterWatcher {
  private readonly kc: KubeConfig;
  private readonly store: ModelStore;
  private readonly log: Logger;
  private readonly core: CoreV1Api;
  private readonly watched: Watched[] = [];
  private stopped = false;

  constructor(kc: KubeConfig, store: ModelStore, log: Logger) {
    this.kc = kc;
    this.store = store;
    this.log = log;
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** True once every informer has listed once; stays true while they re-list. */
  get synced(): boolean {
    return this.watched.length > 0 && this.watched.every((w) => w.synced);
  }

  /** Which informers have not listed yet (for /healthz). */
  pending(): string[] {
    return this.watched.filter((w) => !w.synced).map((w) => w.name);
  }

  start(): void {
    const apps = this.kc.makeApiClient(AppsV1Api);
    const custom = this.kc.makeApiClient(CustomObjectsApi);
    const core = this.core;
    const s = this.store;
    this.watch(
      "namespaces",
      "/api/v1/namespaces",
      () => core.listNamespace(),
      undefined,
      (e, o) => s.namespaces.apply(e, o),
    );
    this.watch(
      "services",
      "/api/v1/services",
      () => core.listServiceForAllNamespaces(),
      undefined,
      (e, o) => s.services.apply(e, o),
    );
    this.watch(
      "pods",
      "/api/v1/pods",
      () => core.listPodForAllNamespaces(),
      undefined,
      (e, o) => s.pods.apply(e, o),
    );
    const trafficSelector = `${TRAFFIC_LABEL}=true`;
    this.watch(
      "traffic-configmaps",
      "/api/v1/configmaps",
      () => core.listConfigMapForAllNamespaces({ labelSelector: trafficSelector }),
      trafficSelector,
      (e, o) => s.trafficSources.apply(e, o),
    );
    this.watch(
      "istiods",
      `/apis/apps/v1/namespaces/${ISTIO_NAMESPACE}/deployments`,
      () => apps.listNamespacedDeployment({ namespace: ISTIO_NAMESPACE }),
      undefined,
      (e, o) => s.istiods.apply(e, o),
    );
    const istio = { group: "networking.istio.io", version: "v1" };
    this.watch(
      "virtualservices",
      "/apis/networking.istio.io/v1/virtualservices",
      async () => customList(await custom.listClusterCustomObject({ ...istio, plural: "virtualservices" })),
      undefined,
      (e, o) => s.virtualServices.apply(e, o),
    );
    this.watch(
      "destinationrules",
      "/apis/networking.istio.io/v1/destinationrules",
      async () => customList(await custom.listClusterCustomObject({ ...istio, plural: "destinationrules" })),
      undefined,
      (e, o) => s.destinationRules.apply(e, o),
    );
  }

  private watch<T extends KubernetesObject>(
    name: string,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    labelSelector: string | undefined,
    apply: (event: WatchEvent, obj: T) => void,
  ): void {
    let listedThisAttempt = false;
    const informer = makeInformer<T>(
      this.kc,
      path,
      async () => {
        const result = await list();
        listedThisAttempt = true;
        return result;
      },
      labelSelector,
    );
    const entry: Watched = { name, synced: false, stop: () => informer.stop() };
    this.watched.push(entry);
    informer.on("add", (o) => apply("add", o));
    informer.on("update", (o) => apply("update", o));
    informer.on("delete", (o) => apply("delete", o));

    let backoffMs = 0;
    let timer: NodeJS.Timeout | undefined;
    const begin = (): void => {
      timer = undefined;
      listedThisAttempt = false;
      informer.start().then(
        () => {
          if (listedThisAttempt && !entry.synced) {
            entry.synced = true;
            this.log.info({ informer: name }, "informer synced");
          }
          // Watching again. A watch that failed at once has already scheduled a retry: keep backing off.
          if (!timer) backoffMs = 0;
        },
        (err: unknown) => restart(err),
      );
    };
    const restart = (err: unknown): void => {
      if (this.stopped || timer) return;
      backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs === 0 ? MIN_BACKOFF_MS : backoffMs * 2);
      this.log.warn(
        { informer: name, err: errorText(err), retryInMs: backoffMs },
        "watch failed, restarting",
      );
      timer = setTimeout(begin, backoffMs);
    };
    informer.on("error", restart);
    entry.stop = async () => {
      if (timer) clearTimeout(timer);
      await informer.stop();
    };
    begin();
  }

  /** Merge-patches pod annotations (sidecar injection emulation). */
  async patchPodAnnotations(
    namespace: string,
    name: string,
    annotations: Record<string, string>,
  ): Promise<void> {
    await this.core.patchNamespacedPod(
      { namespace, name, body: { metadata: { annotations } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.watched.map((w) => w.stop()));
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === "object" && "message" in err) return String(err.message);
  return String(err);
}
