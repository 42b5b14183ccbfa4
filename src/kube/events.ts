// Kubernetes Events about Wren's objects, as `kubectl describe` shows them.
// Events are best effort: a failure is logged and never breaks a reconcile.
import {
  CoreV1Api,
  type CoreV1Event,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { type Logger, logger as rootLogger } from "../observability/logger.ts";
import { type Clock, systemClock } from "./clock.ts";
import { describeError, isNotFound } from "./errors.ts";

/** The part of CoreV1Api the recorder uses. */
export type EventClient = Pick<CoreV1Api, "createNamespacedEvent" | "patchNamespacedEvent">;

/** The object an event is about. */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
}

export type EventType = "Normal" | "Warning";

export interface EventRecorderOptions {
  /** A kubeconfig, or an event client (tests). */
  client: KubeConfig | EventClient;
  /** Written as reportingInstance, e.g. the pod name. */
  instance?: string;
  /** Identical events within this window are counted on one Event. Default 10 min. */
  aggregateWindowMs?: number;
  clock?: Clock;
  logger?: Logger;
}

const component = "wren";
// The API server rejects longer messages on events.k8s.io; keep core events within the same bound.
const maxMessageLength = 1024;
const maxCachedEvents = 4096;

interface Recorded {
  name: string;
  namespace: string;
  count: number;
  lastSeen: number;
}

export class EventRecorder {
  readonly #client: EventClient;
  readonly #instance: string | undefined;
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #logger: Logger;
  // Aggregation key -> the Event last written for it, in insertion (≈ age) order.
  readonly #recent = new Map<string, Recorded>();
  // One write at a time per key, so concurrent identical events count instead of racing.
  readonly #pending = new Map<string, Promise<void>>();
  #sequence = 0;

  constructor(options: EventRecorderOptions) {
    this.#client = isEventClient(options.client) ? options.client : options.client.makeApiClient(CoreV1Api);
    this.#instance = options.instance;
    this.#windowMs = options.aggregateWindowMs ?? 10 * 60_000;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? rootLogger.child({ subsystem: "events" });
  }

  /** Records a Normal event. Never throws. */
  normal(object: InvolvedObject, reason: string, message: string): Promise<void> {
    return this.record(object, "Normal", reason, message);
  }

  /** Records a Warning event. Never throws. */
  warning(object: InvolvedObject, reason: string, message: string): Promise<void> {
    return this.record(object, "Warning", reason, message);
  }

  /** Records an event, or bumps the count of an identical one from the last 10 minutes. Never throws. */
  record(object: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const text = message.length > maxMessageLength ? `${message.slice(0, maxMessageLength - 3)}...` : message;
    const key = JSON.stringify([
      object.namespace,
      object.apiVersion,
      object.kind,
      object.name,
      object.uid ?? "",
      type,
      reason,
      text,
    ]);
    const previous = this.#pending.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.#write(key, object, type, reason, text));
    this.#pending.set(key, next);
    void next.then(() => {
      if (this.#pending.get(key) === next) this.#pending.delete(key);
    });
    return next;
  }

  async #write(key: string, object: InvolvedObject, type: EventType, reason: string, message: string) {
    const now = this.#clock.now();
    this.#prune(now);
    try {
      const recent = this.#recent.get(key);
      if (recent !== undefined && now - recent.lastSeen < this.#windowMs) {
        try {
          await this.#client.patchNamespacedEvent(
            {
              name: recent.name,
              namespace: recent.namespace,
              body: { count: recent.count + 1, lastTimestamp: new Date(now).toISOString() },
            },
            setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
          );
          recent.count++;
          recent.lastSeen = now;
          // Re-insert so the map stays ordered by last use.
          this.#recent.delete(key);
          this.#recent.set(key, recent);
          return;
        } catch (error) {
          // Deleted (e.g. the API server's event TTL): start a new one below.
          if (!isNotFound(error)) throw error;
        }
      }
      const created = await this.#client.createNamespacedEvent({
        namespace: object.namespace,
        body: this.#event(object, type, reason, message, now),
      });
      this.#recent.delete(key);
      this.#recent.set(key, {
        name: created.metadata?.name ?? "",
        namespace: object.namespace,
        count: 1,
        lastSeen: now,
      });
    } catch (error) {
      this.#logger.warn(
        {
          object: `${object.namespace}/${object.name}`,
          kind: object.kind,
          reason,
          error: describeError(error),
        },
        "could not record event",
      );
    }
  }

  #event(object: InvolvedObject, type: EventType, reason: string, message: string, now: number): CoreV1Event {
    const timestamp = new Date(now);
    // Like client-go: the object's name plus a unique hex suffix, within the 253-character limit.
    const suffix = (now * 1000 + (this.#sequence++ % 1000)).toString(16);
    return {
      metadata: { name: `${object.name.slice(0, 200)}.${suffix}`, namespace: object.namespace },
      involvedObject: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: object.name,
        namespace: object.namespace,
        uid: object.uid,
      },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      source: { component },
      reportingComponent: component,
      reportingInstance: this.#instance,
    };
  }

  #prune(now: number): void {
    for (const [key, recorded] of this.#recent) {
      if (now - recorded.lastSeen < this.#windowMs && this.#recent.size <= maxCachedEvents) break;
      this.#recent.delete(key);
    }
  }
}

function isEventClient(client: KubeConfig | EventClient): client is EventClient {
  return typeof (client as Partial<EventClient>).createNamespacedEvent === "function";
}
