// A resilient list+watch of one resource kept in a local cache. Informers are the
// controller's eyes: every reconcile reads from here, so the cache must converge
// on the cluster whatever the connection does (drops, 410 Gone, silent gaps).
import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  Watch,
} from "@kubernetes/client-node";
import { type Logger, logger as rootLogger } from "../observability/logger.ts";
import { type Clock, sleep, systemClock, type TimerHandle } from "./clock.ts";
import { describeError, isGone } from "./errors.ts";

/** Selectors passed to both the list and the watch. */
export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * Lists the collection. It must return objects shaped like the watch's (plain
 * JSON): the custom-objects API does; typed core clients turn timestamps into Dates.
 */
export type ListFunction<T extends KubernetesObject> = (
  options: ListOptions,
) => Promise<KubernetesListObject<T>>;

/** An open watch that can be closed. */
export interface WatchConnection {
  abort(): void;
}

/** Opens a watch; same contract as client-node's `Watch.watch`: `onDone` is called once when it ends. */
export type WatchFunction = (
  path: string,
  query: Record<string, string | number | boolean | undefined>,
  onEvent: (type: string, object: unknown) => void,
  onDone: (error: unknown) => void,
) => Promise<WatchConnection>;

/** A resource as the API paths name it; `group` is "" for the core group. */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
}

export interface InformerHandlers<T> {
  add: (object: T) => void;
  update: (object: T, old: T) => void;
  delete: (object: T) => void;
}

export interface InformerOptions<T extends KubernetesObject> {
  /** Collection path, e.g. `/apis/wren.dev/v1alpha1/canaries`; see `resourcePath`. */
  path: string;
  list: ListFunction<T>;
  /** A kubeconfig to watch with client-node's Watch, or a watch function (tests). */
  watch: KubeConfig | WatchFunction;
  labelSelector?: string;
  fieldSelector?: string;
  /** Full relist that re-emits `update` for every object; 0 disables. Default 5 min. */
  resyncMs?: number;
  /** `healthy()` turns false when the watch has been down longer than this. Default 60 s. */
  unhealthyAfterMs?: number;
  /** Reconnect backoff: doubles from base to max, with jitter. Defaults 1 s and 30 s. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
}

/** The API path of a resource's collection, cluster-wide or in one namespace. */
export function resourcePath({ group, version, plural }: ResourceRef, namespace?: string): string {
  const base = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
  return namespace === undefined ? `${base}/${plural}` : `${base}/namespaces/${namespace}/${plural}`;
}

/** The cache key of an object: `namespace/name`, or `name` when cluster-scoped. */
export function objectKey(object: KubernetesObject): string {
  const namespace = object.metadata?.namespace;
  const name = object.metadata?.name ?? "";
  return namespace ? `${namespace}/${name}` : name;
}

/** A watch function over client-node's Watch. */
export function kubeWatch(kubeConfig: KubeConfig): WatchFunction {
  const watch = new Watch(kubeConfig);
  return (path, query, onEvent, onDone) => watch.watch(path, query, onEvent, onDone);
}

/** A list function for a custom resource, cluster-wide or in one namespace. */
export function listCustomObjects<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  { group, version, plural }: ResourceRef,
  namespace?: string,
): ListFunction<T> {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  return async (options) =>
    (namespace === undefined
      ? await api.listClusterCustomObject({ group, version, plural, ...options })
      : await api.listNamespacedCustomObject({
          group,
          version,
          plural,
          namespace,
          ...options,
        })) as KubernetesListObject<T>;
}

/** An informer for a custom resource (e.g. Canaries), cluster-wide or in one namespace. */
export function customObjectInformer<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  resource: ResourceRef,
  options: Omit<InformerOptions<T>, "path" | "list" | "watch"> & { namespace?: string } = {},
): Informer<T> {
  const { namespace, ...rest } = options;
  return new Informer<T>({
    ...rest,
    path: resourcePath(resource, namespace),
    list: listCustomObjects<T>(kubeConfig, resource, namespace),
    watch: kubeConfig,
  });
}

type RelistReason = "initial" | "gone" | "resync";

interface WatchOutcome {
  error: unknown;
  gone: boolean;
  sawEvent: boolean;
  durationMs: number;
}

// A watch that delivered nothing and died this fast counts as a failed attempt.
const minProductiveWatchMs = 5000;

export class Informer<T extends KubernetesObject> {
  readonly #path: string;
  readonly #list: ListFunction<T>;
  readonly #watch: WatchFunction;
  readonly #selectors: ListOptions;
  readonly #resyncMs: number;
  readonly #unhealthyAfterMs: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #logger: Logger;

  readonly #cache = new Map<string, T>();
  readonly #handlers: { [E in keyof InformerHandlers<T>]: InformerHandlers<T>[E][] } = {
    add: [],
    update: [],
    delete: [],
  };
  #resourceVersion = "";
  #connection: WatchConnection | undefined;
  #resyncDue = false;
  #resyncTimer: TimerHandle | undefined;
  #downSince: number | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  readonly #stopSignal = new AbortController();
  readonly #synced: Promise<void>;
  #resolveSynced: () => void = () => undefined;
  #rejectSynced: (error: Error) => void = () => undefined;
  #hasSynced = false;

  constructor(options: InformerOptions<T>) {
    this.#path = options.path;
    this.#list = options.list;
    this.#watch = typeof options.watch === "function" ? options.watch : kubeWatch(options.watch);
    this.#selectors = { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
    this.#resyncMs = options.resyncMs ?? 5 * 60_000;
    this.#unhealthyAfterMs = options.unhealthyAfterMs ?? 60_000;
    this.#backoffBaseMs = options.backoffBaseMs ?? 1000;
    this.#backoffMaxMs = options.backoffMaxMs ?? 30_000;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger ?? rootLogger.child({ subsystem: "informer", path: options.path });
    this.#synced = new Promise<void>((resolve, reject) => {
      this.#resolveSynced = resolve;
      this.#rejectSynced = reject;
    });
    // Nobody may be waiting for the initial sync when the informer is stopped early.
    this.#synced.catch(() => undefined);
  }

  /** Subscribes to add/update/delete; returns an unsubscribe function. Subscribe before start() to see every object. */
  on<E extends keyof InformerHandlers<T>>(event: E, handler: InformerHandlers<T>[E]): () => void {
    const handlers = this.#handlers[event];
    handlers.push(handler);
    return () => {
      const index = handlers.indexOf(handler);
      if (index >= 0) handlers.splice(index, 1);
    };
  }

  /** Starts listing and watching; idempotent. */
  start(): this {
    if (this.#stopped) throw new Error("a stopped informer cannot be restarted");
    if (this.#running === undefined) {
      this.#downSince = this.#clock.now();
      this.#running = this.#run();
    }
    return this;
  }

  /** Resolves once the first list has filled the cache; rejects if stopped before that. */
  synced(): Promise<void> {
    return this.#synced;
  }

  /** Whether the initial list has completed. */
  get hasSynced(): boolean {
    return this.#hasSynced;
  }

  /** The cached object, or undefined. Pass namespace undefined for cluster-scoped objects. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(namespace ? `${namespace}/${name}` : name);
  }

  /** The cached object for a work-queue key (`ns/name`). */
  getByKey(key: string): T | undefined {
    return this.#cache.get(key);
  }

  /** Every cached object. */
  list(): T[] {
    return [...this.#cache.values()];
  }

  /** The resourceVersion the next watch resumes from. */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** False when stopped, or when the watch has been down for longer than the threshold. */
  healthy(now: number = this.#clock.now()): boolean {
    if (this.#stopped) return false;
    return this.#downSince === undefined || now - this.#downSince <= this.#unhealthyAfterMs;
  }

  /** Stops watching; resolves when the loop has ended. */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      if (this.#resyncTimer !== undefined) this.#clock.clearTimeout(this.#resyncTimer);
      this.#connection?.abort();
      this.#stopSignal.abort();
      if (!this.#hasSynced)
        this.#rejectSynced(new Error(`informer for ${this.#path} stopped before it synced`));
    }
    await this.#running;
  }

  async #run(): Promise<void> {
    let relist: RelistReason | undefined = "initial";
    let failures = 0;
    while (!this.#stopped) {
      const listing = relist !== undefined;
      if (relist !== undefined) {
        try {
          await this.#relist(relist);
          relist = undefined;
        } catch (error) {
          if (this.#stopped) break;
          failures++;
          this.#logger.warn({ error: describeError(error), failures }, "list failed; retrying");
          await sleep(this.#clock, this.#backoff(failures), this.#stopSignal.signal);
          continue;
        }
      }
      const outcome = await this.#watchOnce();
      if (this.#stopped) break;
      if (this.#resyncDue) {
        this.#resyncDue = false;
        relist = "resync";
        failures = 0;
        continue;
      }
      if (outcome.gone) {
        // Our resourceVersion fell out of the server's history: only a relist can tell what changed.
        this.#logger.info("watch expired (410 Gone); relisting");
        relist = "gone";
      } else if (isIdleTimeout(outcome.error)) {
        // client-node closes a watch after 30 s without data; quiet collections hit this all the time.
        this.#logger.debug("watch idle; reconnecting");
      } else if (outcome.error !== null && outcome.error !== undefined) {
        this.#logger.warn({ error: describeError(outcome.error) }, "watch failed; reconnecting");
      }
      // A server-side timeout or client-side inactivity timeout is normal: reconnect at
      // once. So is 410 after a resumed watch: the relist is the recovery. A 410 right
      // after a fresh list is not normal, and backs off like any failure.
      const productive =
        outcome.sawEvent || outcome.durationMs >= minProductiveWatchMs || (outcome.gone && !listing);
      failures = productive ? 0 : failures + 1;
      if (failures > 0) await sleep(this.#clock, this.#backoff(failures), this.#stopSignal.signal);
    }
  }

  #backoff(failures: number): number {
    const capped = Math.min(this.#backoffBaseMs * 2 ** (failures - 1), this.#backoffMaxMs);
    // Jitter in [50%, 100%] so replicas and informers do not reconnect in lockstep.
    return capped * (0.5 + this.#random() * 0.5);
  }

  async #relist(reason: RelistReason): Promise<void> {
    const list = await this.#list(this.#selectors);
    if (this.#stopped) return;
    const itemKind = list.kind?.endsWith("List") ? list.kind.slice(0, -"List".length) : undefined;
    const fresh = new Map<string, T>();
    for (const item of list.items) {
      // Typed list responses leave apiVersion/kind off items; watch events carry them.
      if (item.kind === undefined && itemKind !== undefined) item.kind = itemKind;
      if (item.apiVersion === undefined && list.apiVersion !== undefined) item.apiVersion = list.apiVersion;
      fresh.set(objectKey(item), item);
    }
    for (const [key, old] of this.#cache) {
      if (fresh.has(key)) continue;
      this.#cache.delete(key);
      this.#emit("delete", old);
    }
    for (const [key, object] of fresh) {
      const old = this.#cache.get(key);
      this.#cache.set(key, object);
      if (old === undefined) this.#emit("add", object);
      else if (reason === "resync" || resourceVersionOf(old) !== resourceVersionOf(object))
        this.#emit("update", object, old);
    }
    this.#resourceVersion = list.metadata?.resourceVersion ?? "";
    this.#logger.debug({ reason, count: fresh.size, resourceVersion: this.#resourceVersion }, "listed");
    if (!this.#hasSynced) {
      this.#hasSynced = true;
      this.#resolveSynced();
    }
    this.#scheduleResync();
  }

  #scheduleResync(): void {
    if (this.#resyncMs <= 0) return;
    if (this.#resyncTimer !== undefined) this.#clock.clearTimeout(this.#resyncTimer);
    this.#resyncTimer = this.#clock.setTimeout(() => {
      this.#resyncTimer = undefined;
      // Relisting while a watch still runs could let a lagging watch event roll the
      // cache back; close the watch and relist from the loop instead.
      this.#resyncDue = true;
      this.#connection?.abort();
    }, this.#resyncMs);
  }

  #watchOnce(): Promise<WatchOutcome> {
    return new Promise((resolve) => {
      const startedAt = this.#clock.now();
      let finished = false;
      let sawEvent = false;
      let gone = false;
      let eventError: unknown = null;
      const onEvent = (type: string, object: unknown) => {
        if (finished) return;
        this.#downSince = undefined;
        if (type === "ERROR") {
          // A Status object; the server ends the watch after it.
          const code = (object as { code?: unknown } | null)?.code;
          if (code === 410) gone = true;
          else eventError = Object.assign(new Error(statusMessage(object)), { code });
          return;
        }
        sawEvent = true;
        this.#apply(type, object as T);
      };
      // stop() must not wait for a connect attempt that hangs until client-node's 30 s timeout.
      const onStop = () => onDone(null);
      const onDone = (error: unknown) => {
        if (finished) return;
        finished = true;
        this.#stopSignal.signal.removeEventListener("abort", onStop);
        this.#connection = undefined;
        this.#downSince ??= this.#clock.now();
        resolve({
          error: error ?? eventError,
          gone: gone || isGone(error),
          sawEvent,
          durationMs: this.#clock.now() - startedAt,
        });
      };
      const query = {
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        // Like client-go: a randomised 5-10 min server-side timeout spreads reconnects out.
        timeoutSeconds: Math.floor(300 + this.#random() * 300),
        ...this.#selectors,
      };
      if (this.#stopped) return onStop();
      this.#stopSignal.signal.addEventListener("abort", onStop, { once: true });
      this.#watch(this.#path, query, onEvent, onDone).then(
        (connection) => {
          if (finished) {
            // Closes a watch that only connected after stop(); a no-op for one that already ended.
            if (this.#stopped) connection.abort();
            return;
          }
          // client-node resolves only once the server answered 200, so the watch is up.
          this.#connection = connection;
          this.#downSince = undefined;
          if (this.#stopped || this.#resyncDue) connection.abort();
        },
        (error: unknown) => onDone(error),
      );
    });
  }

  #apply(type: string, object: T): void {
    const version = resourceVersionOf(object);
    if (type === "BOOKMARK") {
      if (version !== undefined) this.#resourceVersion = version;
      return;
    }
    const key = objectKey(object);
    if (type === "ADDED" || type === "MODIFIED") {
      const old = this.#cache.get(key);
      this.#cache.set(key, object);
      if (old === undefined) this.#emit("add", object);
      else if (resourceVersionOf(old) !== version) this.#emit("update", object, old);
    } else if (type === "DELETED") {
      this.#cache.delete(key);
      this.#emit("delete", object);
    } else {
      return;
    }
    if (version !== undefined) this.#resourceVersion = version;
  }

  #emit(event: "add" | "delete", object: T): void;
  #emit(event: "update", object: T, old: T): void;
  #emit(event: keyof InformerHandlers<T>, object: T, old?: T): void {
    for (const handler of [...this.#handlers[event]]) {
      try {
        if (event === "update") (handler as InformerHandlers<T>["update"])(object, old as T);
        else (handler as InformerHandlers<T>["add"])(object);
      } catch (error) {
        // A broken handler must not stop the informer (or the other handlers).
        this.#logger.error(
          { event, key: objectKey(object), error: describeError(error) },
          "informer handler threw",
        );
      }
    }
  }
}

function isIdleTimeout(error: unknown): boolean {
  return error instanceof Error && error.name === "TimeoutError";
}

function resourceVersionOf(object: KubernetesObject): string | undefined {
  return object.metadata?.resourceVersion;
}

function statusMessage(status: unknown): string {
  const message = (status as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message : `watch error: ${JSON.stringify(status)}`;
}
