// The work queue between informers and reconcilers: string keys (`ns/name`),
// deduplicated, never processed concurrently, retried with per-key backoff.
import { type Logger, logger as rootLogger } from "../observability/logger.ts";
import { type Clock, systemClock, type TimerHandle } from "./clock.ts";
import { describeError } from "./errors.ts";

export type WorkHandler = (key: string) => Promise<void> | void;

export interface WorkQueueOptions {
  /** First retry delay after a failure; doubles per consecutive failure. */
  baseDelayMs?: number;
  /** Longest retry delay. */
  maxDelayMs?: number;
  clock?: Clock;
  logger?: Logger;
}

interface Delayed {
  deadline: number;
  handle: TimerHandle;
}

export class WorkQueue {
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #clock: Clock;
  readonly #logger: Logger;
  // Keys ready to run, in arrival order; a Set so a key queued twice runs once.
  readonly #ready = new Set<string>();
  readonly #processing = new Set<string>();
  // Keys added while they were being processed: they run again afterwards.
  readonly #rerun = new Set<string>();
  readonly #delayed = new Map<string, Delayed>();
  readonly #failures = new Map<string, number>();
  // A handler that asked for a rate-limited retry itself must not have its backoff reset on return.
  readonly #rateLimitedDuringRun = new Set<string>();
  #handler: WorkHandler | undefined;
  #workers = 0;
  #pumpScheduled = false;
  #shuttingDown = false;
  #drained: (() => void) | undefined;

  constructor(options: WorkQueueOptions = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? 1000;
    this.#maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? rootLogger.child({ subsystem: "workqueue" });
  }

  /** Queues a key to be processed as soon as a worker is free. */
  add(key: string): void {
    if (this.#shuttingDown) return;
    if (this.#processing.has(key)) {
      this.#rerun.add(key);
      return;
    }
    this.#ready.add(key);
    this.#schedulePump();
  }

  /** Queues a key after `ms`; when the key is already waiting, the earlier deadline wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const deadline = this.#clock.now() + ms;
    const existing = this.#delayed.get(key);
    if (existing !== undefined) {
      if (existing.deadline <= deadline) return;
      this.#clock.clearTimeout(existing.handle);
    }
    const handle = this.#clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { deadline, handle });
  }

  /** Queues a key after its backoff (1s, 2s, 4s, ... up to 5 min by default), which grows until `forget`. */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    if (this.#processing.has(key)) this.#rateLimitedDuringRun.add(key);
    this.addAfter(key, this.backoff(failures));
  }

  /** The delay `addRateLimited` uses after `failures` consecutive failures. */
  backoff(failures: number): number {
    return Math.min(this.#baseDelayMs * 2 ** failures, this.#maxDelayMs);
  }

  /** Resets a key's backoff; a successful run does this itself. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** How many consecutive rate-limited requeues a key has had. */
  retries(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Keys ready to run (not counting those in progress or waiting for a deadline). */
  get length(): number {
    return this.#ready.size;
  }

  /** Keys whose handler is running now. */
  get inFlight(): number {
    return this.#processing.size;
  }

  /** Starts `workers` concurrent workers calling `handler`; a thrown error requeues the key rate-limited. */
  run(workers: number, handler: WorkHandler): void {
    if (this.#handler !== undefined) throw new Error("work queue is already running");
    if (!Number.isInteger(workers) || workers < 1)
      throw new Error(`workers must be a positive integer: ${workers}`);
    this.#handler = handler;
    this.#workers = workers;
    this.#schedulePump();
  }

  /** Stops taking work, drops queued and delayed keys, and resolves once in-flight handlers finish. */
  shutdown(): Promise<void> {
    this.#shuttingDown = true;
    for (const { handle } of this.#delayed.values()) this.#clock.clearTimeout(handle);
    this.#delayed.clear();
    this.#ready.clear();
    this.#rerun.clear();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.#drained;
      this.#drained = () => {
        previous?.();
        resolve();
      };
    });
  }

  /** Whether shutdown() has been called. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  // Starting work on a microtask keeps handlers from running inside add() callers
  // (e.g. informer event handlers) and batches a burst of adds.
  #schedulePump(): void {
    if (this.#pumpScheduled || this.#handler === undefined) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    const handler = this.#handler;
    if (handler === undefined) return;
    while (!this.#shuttingDown && this.#processing.size < this.#workers) {
      const next = this.#ready.values().next();
      if (next.done) return;
      const key = next.value;
      this.#ready.delete(key);
      this.#processing.add(key);
      void this.#process(key, handler);
    }
  }

  async #process(key: string, handler: WorkHandler): Promise<void> {
    let failed = false;
    try {
      await handler(key);
    } catch (error) {
      failed = true;
      this.#logger.warn({ key, retries: this.retries(key), error: describeError(error) }, "reconcile failed");
    }
    this.#processing.delete(key);
    if (failed) this.addRateLimited(key);
    else if (!this.#rateLimitedDuringRun.has(key)) this.forget(key);
    this.#rateLimitedDuringRun.delete(key);
    if (this.#rerun.delete(key)) this.add(key);
    if (this.#shuttingDown) {
      if (this.#processing.size === 0) {
        const drained = this.#drained;
        this.#drained = undefined;
        drained?.();
      }
      return;
    }
    this.#pump();
  }
}
