// Routes each Notification to the AlertProviders a rollout references (at or above
// their minimum severity) and to the controller-wide default provider, through one
// delivery queue per provider. notify() returns at once: resolving providers and
// posting happen in the background, so no reconcile ever waits on a chat tool.
import type { Severity } from "../api/common.ts";
import { type Clock, sleep, systemClock } from "../kube/clock.ts";
import { type Logger, logger as rootLogger } from "../observability/logger.ts";
import { notificationsDropped, notificationsFailed } from "../observability/metrics.ts";
import { type DeliveryOptions, DeliveryQueue, type Outgoing } from "./delivery.ts";
import { post } from "./http.ts";
import type { AlertProviderLookup } from "./lookup.ts";
import { atLeast, type Notification } from "./message.ts";
import type { ProviderConfig } from "./provider.ts";
import { formats } from "./providers.ts";
import { redactor, secretsOf } from "./redact.ts";
import { resolveProvider } from "./resolve.ts";

/** A rollout's reference to a provider: an entry of `alerts[]` (AlertReference). */
export interface AlertRoute {
  /** The alert's name, for logs. */
  name?: string;
  /** Minimum severity sent; default info. */
  severity?: Severity;
  /** The AlertProvider; its namespace defaults to the rollout's. */
  providerRef: { name: string; namespace?: string };
}

/** The controller-wide provider that receives every rollout's notifications at or above `severity`. */
export interface DefaultProvider {
  namespace: string;
  name: string;
  severity?: Severity;
}

/** A provider to send to, and the namespace of the rollout that asked (none for the default provider). */
interface Target {
  namespace: string;
  name: string;
  from?: string;
}

/** Delivery tuning shared by every provider's queue. */
export type DeliveryTuning = Pick<
  DeliveryOptions,
  "capacity" | "maxAttempts" | "baseDelayMs" | "maxDelayMs" | "maxRetryAfterMs"
>;

export interface NotifierOptions {
  lookup: AlertProviderLookup;
  defaultProvider?: DefaultProvider;
  logger?: Logger;
  clock?: Clock;
  /** Jitter source in [0, 1). */
  random?: () => number;
  delivery?: DeliveryTuning;
}

/** Sends Notifications to AlertProviders. One per controller process. */
export class Notifier {
  readonly #options: NotifierOptions;
  readonly #log: Logger;
  readonly #queues = new Map<string, DeliveryQueue>();
  /** Per provider, the resolution of its latest notification: keeps each provider's messages in order. */
  readonly #chains = new Map<string, Promise<void>>();
  #closed = false;

  constructor(options: NotifierOptions) {
    this.#options = options;
    this.#log = (options.logger ?? rootLogger).child({ subsystem: "notify" });
  }

  /** Queues `n` for every provider `alerts` (and the default provider) route it to. Never blocks or throws. */
  notify(n: Notification, alerts: readonly AlertRoute[]): void {
    for (const [key, ref] of this.#targets(n, alerts)) {
      if (this.#closed) {
        notificationsDropped.inc({ provider: key, severity: n.severity, reason: "shutdown" });
        continue;
      }
      const previous = this.#chains.get(key) ?? Promise.resolve();
      const next = previous
        .then(() => this.#route(key, ref, n))
        .catch(() => this.#log.error({ provider: key, id: n.id }, "notification routing failed"));
      this.#chains.set(key, next);
      void next.finally(() => {
        if (this.#chains.get(key) === next) this.#chains.delete(key);
      });
    }
  }

  /** Resolves when every notification so far has been delivered or given up on. */
  async idle(): Promise<void> {
    while (this.#chains.size > 0) await Promise.all(this.#chains.values());
    await Promise.all([...this.#queues.values()].map((q) => q.idle()));
  }

  /** Stops accepting notifications and delivers what is queued, for at most `timeoutMs`. */
  async shutdown(timeoutMs: number): Promise<void> {
    this.#closed = true;
    const clock = this.#options.clock ?? systemClock;
    const started = clock.now();
    // Resolution normally reads caches and is quick; a hung lookup must not hold shutdown.
    const stop = new AbortController();
    await Promise.race([Promise.all(this.#chains.values()), sleep(clock, timeoutMs, stop.signal)]);
    stop.abort();
    const left = Math.max(0, timeoutMs - (clock.now() - started));
    await Promise.all([...this.#queues.values()].map((q) => q.shutdown(left)));
  }

  /**
   * Provider key -> reference, for the routes `n` passes; each provider once. `from` is the
   * rollout's namespace, which the provider must accept; the operator's default provider has none.
   */
  #targets(n: Notification, alerts: readonly AlertRoute[]): Map<string, Target> {
    const out = new Map<string, Target>();
    const add = (target: Target, minimum: Severity | undefined) => {
      if (atLeast(n.severity, minimum ?? "info")) out.set(`${target.namespace}/${target.name}`, target);
    };
    for (const alert of alerts) {
      const namespace = alert.providerRef.namespace ?? n.namespace;
      add({ namespace, name: alert.providerRef.name, from: n.namespace }, alert.severity);
    }
    // Last, so a provider that is also the default is sent to as the default.
    const fallback = this.#options.defaultProvider;
    if (fallback !== undefined)
      add({ namespace: fallback.namespace, name: fallback.name }, fallback.severity);
    return out;
  }

  async #route(key: string, target: Target, n: Notification): Promise<void> {
    const { namespace, name, from } = target;
    const resolution = await resolveProvider(this.#options.lookup, namespace, name, from);
    if (!resolution.ok) {
      notificationsFailed.inc({ provider: key, reason: "config" });
      this.#log.warn(
        { provider: key, id: n.id, reason: "config", detail: resolution.reason },
        "notification not sent: provider unusable",
      );
      return;
    }
    const provider = resolution.provider;
    this.#queue(provider).enqueue(outgoing(n, provider));
  }

  #queue(provider: ProviderConfig): DeliveryQueue {
    const settings = { rateLimit: provider.rateLimit, timeoutMs: provider.timeoutMs };
    let queue = this.#queues.get(provider.key);
    if (queue === undefined) {
      queue = new DeliveryQueue({
        ...this.#options.delivery,
        ...settings,
        provider: provider.key,
        ...(this.#options.clock !== undefined ? { clock: this.#options.clock } : {}),
        ...(this.#options.random !== undefined ? { random: this.#options.random } : {}),
        logger: this.#options.logger ?? rootLogger,
      });
      this.#queues.set(provider.key, queue);
    } else {
      queue.configure(settings);
    }
    return queue;
  }
}

/** The queue item posting `n` to `provider`: rendered afresh per attempt (signatures carry the time). */
function outgoing(n: Notification, provider: ProviderConfig): Outgoing {
  const format = formats[provider.type];
  const redact = redactor(secretsOf(provider));
  return {
    severity: n.severity,
    describe: { id: n.id, event: n.reason, object: `${n.kind} ${n.namespace}/${n.name}` },
    async attempt(signal, nowMs) {
      try {
        const request = format.request(n, provider, nowMs);
        return await post(request, {
          signal,
          nowMs,
          redact,
          ...(format.accept ? { accept: format.accept } : {}),
        });
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        return { ok: false, retryable: false, reason: "rejected", detail: redact(`could not send: ${why}`) };
      }
    },
  };
}
