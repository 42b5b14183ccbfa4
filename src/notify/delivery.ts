// The in-process delivery queue of one provider: ordered, rate limited, retried,
// bounded. enqueue() returns at once and never waits on the network, so a dead
// chat tool cannot slow a reconcile; the queue's own loop does the waiting.
import type { Severity } from "../api/common.ts";
import { type Clock, sleep, systemClock } from "../kube/clock.ts";
import { type Logger, logger as rootLogger } from "../observability/logger.ts";
import {
  notificationQueueLength,
  notificationRetries,
  notificationsDropped,
  notificationsFailed,
  notificationsSent,
} from "../observability/metrics.ts";
import type { AttemptOutcome } from "./http.ts";
import { severityRank } from "./message.ts";

/** One message waiting for delivery. */
export interface Outgoing {
  severity: Severity;
  /** Log fields naming the message (id, event, object). Never secrets. */
  describe: Record<string, string>;
  /** Makes one attempt; must honour `signal` and should not throw. */
  attempt(signal: AbortSignal, nowMs: number): Promise<AttemptOutcome>;
}

/** Settings that may change while the queue runs (the AlertProvider was edited). */
export interface DeliverySettings {
  /** Most attempts in any 60 seconds. */
  rateLimit: number;
  /** Longest one attempt may take. */
  timeoutMs: number;
}

export interface DeliveryOptions extends DeliverySettings {
  /** The `provider` label: AlertProvider namespace/name. */
  provider: string;
  /** Most messages waiting; beyond it the oldest lowest-severity message is dropped. Default 100. */
  capacity?: number;
  /** Attempts per message, the first included. Default 5. */
  maxAttempts?: number;
  /** First backoff; doubles per attempt, with jitter. Default 1000. */
  baseDelayMs?: number;
  /** Cap of the exponential backoff. Default 60000. */
  maxDelayMs?: number;
  /** Longest Retry-After honoured; longer asks are cut to it. Default 300000. */
  maxRetryAfterMs?: number;
  clock?: Clock;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
  logger?: Logger;
}

const windowMs = 60_000;

/** Backoff before retry `attempt` (1-based): exponential, capped, with jitter in [50%, 100%]. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The delivery queue of one provider. Delivers one message at a time, in order. */
export class DeliveryQueue {
  readonly provider: string;
  #settings: DeliverySettings;
  readonly #capacity: number;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: Logger;
  readonly #queue: Outgoing[] = [];
  /** Start times of recent attempts, for the rate limit. */
  readonly #recent: number[] = [];
  /** Aborted when shutdown's deadline passes: waits end, the attempt in flight is abandoned. */
  readonly #stop = new AbortController();
  #closed = false;
  #running = false;
  #idleWaiters: (() => void)[] = [];

  constructor(options: DeliveryOptions) {
    this.provider = options.provider;
    this.#settings = { rateLimit: options.rateLimit, timeoutMs: options.timeoutMs };
    this.#capacity = options.capacity ?? 100;
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#baseDelayMs = options.baseDelayMs ?? 1000;
    this.#maxDelayMs = options.maxDelayMs ?? 60_000;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 300_000;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#log = (options.logger ?? rootLogger).child({ subsystem: "notify", provider: options.provider });
  }

  /** Messages waiting, the one in flight not included. */
  get length(): number {
    return this.#queue.length;
  }

  /** Applies edited AlertProvider settings to the messages still to come. */
  configure(settings: DeliverySettings): void {
    this.#settings = { ...settings };
  }

  /** Queues `item` and returns at once. A full queue drops its oldest lowest-severity message. */
  enqueue(item: Outgoing): void {
    if (this.#closed) {
      this.#drop(item, "shutdown");
      return;
    }
    this.#queue.push(item);
    while (this.#queue.length > this.#capacity) {
      const index = this.#dropCandidate();
      const [victim] = this.#queue.splice(index, 1);
      if (victim !== undefined) this.#drop(victim, "queue-full");
    }
    this.#gauge();
    void this.#run();
  }

  /** Resolves when nothing is waiting or in flight. */
  idle(): Promise<void> {
    if (!this.#running && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops accepting messages and delivers what is queued for at most `timeoutMs`;
   * whatever is left then is dropped (counted with reason shutdown).
   */
  async shutdown(timeoutMs: number): Promise<void> {
    this.#closed = true;
    const deadline = this.#clock.setTimeout(() => this.#stop.abort(), timeoutMs);
    try {
      await this.idle();
    } finally {
      this.#clock.clearTimeout(deadline);
    }
  }

  /** The oldest message of the lowest severity present: info goes before warn, warn before error. */
  #dropCandidate(): number {
    let best = 0;
    for (let i = 1; i < this.#queue.length; i++) {
      const candidate = this.#queue[i];
      const current = this.#queue[best];
      if (candidate && current && severityRank[candidate.severity] < severityRank[current.severity]) best = i;
    }
    return best;
  }

  async #run(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (let item = this.#queue.shift(); item !== undefined; item = this.#queue.shift()) {
        this.#gauge();
        if (this.#stop.signal.aborted) this.#drop(item, "shutdown");
        else await this.#deliver(item);
      }
    } catch (error) {
      // Unreachable by design; a bug here must not become an unhandled rejection.
      this.#log.error({ err: error instanceof Error ? error.name : "unknown" }, "notification queue failed");
    } finally {
      this.#running = false;
      this.#gauge();
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  async #deliver(item: Outgoing): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await this.#takeRateSlot();
      if (this.#stop.signal.aborted) return this.#drop(item, "shutdown");
      const outcome = await this.#attempt(item);
      if (outcome.ok) {
        notificationsSent.inc({ provider: this.provider });
        this.#log.debug({ ...item.describe, attempt, status: outcome.status }, "notification sent");
        return;
      }
      if (this.#stop.signal.aborted) return this.#drop(item, "shutdown");
      const fields = { ...item.describe, attempt, reason: outcome.reason, detail: outcome.detail };
      if (!outcome.retryable || attempt >= this.#maxAttempts) {
        notificationsFailed.inc({ provider: this.provider, reason: outcome.reason });
        this.#log.warn(fields, "notification failed; giving up");
        return;
      }
      const wait =
        outcome.retryAfterMs !== undefined
          ? Math.min(outcome.retryAfterMs, this.#maxRetryAfterMs)
          : backoffMs(attempt, this.#baseDelayMs, this.#maxDelayMs, this.#random);
      notificationRetries.inc({ provider: this.provider });
      this.#log.debug({ ...fields, retryInMs: wait }, "notification attempt failed; retrying");
      await sleep(this.#clock, wait, this.#stop.signal);
    }
  }

  /** Waits until an attempt fits the rate limit, then books it. */
  async #takeRateSlot(): Promise<void> {
    for (;;) {
      const now = this.#clock.now();
      while (this.#recent.length > 0 && (this.#recent[0] ?? 0) <= now - windowMs) this.#recent.shift();
      if (this.#recent.length < this.#settings.rateLimit) {
        this.#recent.push(now);
        return;
      }
      await sleep(this.#clock, (this.#recent[0] ?? now) + windowMs - now, this.#stop.signal);
      if (this.#stop.signal.aborted) return;
    }
  }

  /** One attempt, abandoned after the timeout even if the transport ignores its signal. */
  async #attempt(item: Outgoing): Promise<AttemptOutcome> {
    const timeoutMs = this.#settings.timeoutMs;
    const abort = new AbortController();
    const onStop = () => abort.abort();
    this.#stop.signal.addEventListener("abort", onStop, { once: true });
    const timer = this.#clock.setTimeout(() => abort.abort(), timeoutMs);
    const abandoned = new Promise<AttemptOutcome>((resolve) => {
      const give = () =>
        resolve({ ok: false, retryable: true, reason: "timeout", detail: `no answer within ${timeoutMs}ms` });
      if (abort.signal.aborted) give();
      else abort.signal.addEventListener("abort", give, { once: true });
    });
    try {
      const attempt = item.attempt(abort.signal, this.#clock.now()).catch(
        (): AttemptOutcome => ({
          ok: false,
          retryable: false,
          reason: "rejected",
          detail: "could not build the request",
        }),
      );
      return await Promise.race([attempt, abandoned]);
    } finally {
      this.#clock.clearTimeout(timer);
      this.#stop.signal.removeEventListener("abort", onStop);
    }
  }

  #drop(item: Outgoing, reason: "queue-full" | "shutdown"): void {
    notificationsDropped.inc({ provider: this.provider, severity: item.severity, reason });
    this.#log.warn({ ...item.describe, severity: item.severity, reason }, "notification dropped");
  }

  #gauge(): void {
    notificationQueueLength.set({ provider: this.provider }, this.#queue.length);
  }
}
