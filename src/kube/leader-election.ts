// Leader election on a coordination.k8s.io/v1 Lease, so that of several replicas
// exactly one reconciles. Every write is a compare-and-swap on resourceVersion:
// a 409 means another replica wrote first, and we simply look again.
import {
  CoordinationV1Api,
  type KubeConfig,
  type V1Lease,
  type V1LeaseSpec,
  V1MicroTime,
} from "@kubernetes/client-node";
import { type Logger, logger as rootLogger } from "../observability/logger.ts";
import { type Clock, sleep, systemClock, type TimerHandle } from "./clock.ts";
import { describeError, isConflict, isNotFound } from "./errors.ts";

/** The part of CoordinationV1Api the elector uses. */
export type LeaseClient = Pick<
  CoordinationV1Api,
  "readNamespacedLease" | "createNamespacedLease" | "replaceNamespacedLease"
>;

/** What to do with a lease, given what it says now. */
export type LeaseDecision =
  | { action: "create" }
  | { action: "renew" }
  | { action: "acquire"; leaseTransitions: number }
  | { action: "wait"; holderIdentity: string; expiresAt: number };

/**
 * Decides from a lease's spec (undefined: no lease yet) whether `identity` may
 * create, renew or acquire it at `now` (ms), or must wait for its holder.
 */
export function decideLease(
  spec: V1LeaseSpec | undefined,
  identity: string,
  now: number,
  defaultLeaseDurationSeconds: number,
): LeaseDecision {
  if (spec === undefined) return { action: "create" };
  const holder = spec.holderIdentity ?? "";
  if (holder === identity) return { action: "renew" };
  const takeover = { action: "acquire", leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } as const;
  if (holder === "") return takeover;
  const renewedAt = toMillis(spec.renewTime);
  // A holder that never wrote a renewTime cannot prove it is alive.
  if (renewedAt === undefined) return takeover;
  // Compares the holder's clock with ours; replicas are assumed to keep NTP time.
  const expiresAt = renewedAt + (spec.leaseDurationSeconds ?? defaultLeaseDurationSeconds) * 1000;
  if (now >= expiresAt) return takeover;
  return { action: "wait", holderIdentity: holder, expiresAt };
}

/** A lease timestamp in ms; client-node hands MicroTime fields back as strings. */
export function toMillis(time: Date | string | undefined): number | undefined {
  if (time === undefined || time === null) return undefined;
  const ms = time instanceof Date ? time.getTime() : Date.parse(time);
  return Number.isNaN(ms) ? undefined : ms;
}

export interface LeaderElectorOptions {
  /** A kubeconfig, or a lease client (tests). */
  client: KubeConfig | LeaseClient;
  name: string;
  namespace: string;
  /** Unique per replica, e.g. the pod name. */
  identity: string;
  leaseDurationSeconds?: number;
  /** How often the leader renews. Default 2 s. */
  renewPeriodMs?: number;
  /** A leader that has not renewed for this long steps down. Default 10 s; must be below the lease duration. */
  renewDeadlineMs?: number;
  /** How often a follower tries to acquire. Default 2 s. */
  retryPeriodMs?: number;
  /** An API call slower than this counts as failed. Default 5 s. */
  requestTimeoutMs?: number;
  /** Called on becoming leader; `signal` aborts when leadership ends. */
  onStartedLeading?: (signal: AbortSignal) => void;
  onStoppedLeading?: () => void;
  clock?: Clock;
  logger?: Logger;
}

export class LeaderElector {
  readonly #client: LeaseClient;
  readonly #name: string;
  readonly #namespace: string;
  readonly #identity: string;
  readonly #leaseDurationSeconds: number;
  readonly #renewPeriodMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #requestTimeoutMs: number;
  readonly #onStartedLeading: (signal: AbortSignal) => void;
  readonly #onStoppedLeading: () => void;
  readonly #clock: Clock;
  readonly #logger: Logger;

  #leading: AbortController | undefined;
  #lastRenewedAt = 0;
  #deadlineTimer: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  readonly #stopSignal = new AbortController();

  constructor(options: LeaderElectorOptions) {
    this.#client = isLeaseClient(options.client)
      ? options.client
      : options.client.makeApiClient(CoordinationV1Api);
    this.#name = options.name;
    this.#namespace = options.namespace;
    this.#identity = options.identity;
    this.#leaseDurationSeconds = options.leaseDurationSeconds ?? 15;
    this.#renewPeriodMs = options.renewPeriodMs ?? 2000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.#onStartedLeading = options.onStartedLeading ?? (() => undefined);
    this.#onStoppedLeading = options.onStoppedLeading ?? (() => undefined);
    this.#clock = options.clock ?? systemClock;
    this.#logger =
      options.logger ??
      rootLogger.child({
        subsystem: "leader-election",
        lease: options.name,
        identity: options.identity,
      });
    if (this.#renewDeadlineMs >= this.#leaseDurationSeconds * 1000)
      throw new Error("renewDeadlineMs must be shorter than the lease duration");
  }

  /** Starts trying to acquire, then renewing; idempotent. */
  start(): this {
    if (this.#stopped) throw new Error("a stopped elector cannot be restarted");
    this.#running ??= this.#run();
    return this;
  }

  /** Whether this replica leads right now. */
  isLeader(): boolean {
    return this.#leading !== undefined;
  }

  /** The identity this elector writes into the lease. */
  get identity(): string {
    return this.#identity;
  }

  /** Stops renewing without touching the lease (as a crash would); leadership ends locally at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopSignal.abort();
    // Step down before waiting for an in-flight lease call: a dead process leads no more.
    this.#stepDown("stopped");
    await this.#running;
  }

  /** Stops, and if we hold the lease, clears its holder so another replica takes over at once. */
  async release(): Promise<void> {
    const wasLeading = this.isLeader();
    await this.stop();
    if (!wasLeading) return;
    try {
      const lease = await this.#call(
        () => this.#client.readNamespacedLease({ name: this.#name, namespace: this.#namespace }),
        { abortable: false },
      );
      if (lease.spec?.holderIdentity !== this.#identity) return;
      const now = new V1MicroTime(this.#clock.now());
      await this.#call(
        () =>
          this.#client.replaceNamespacedLease({
            name: this.#name,
            namespace: this.#namespace,
            body: {
              ...lease,
              spec: {
                leaseTransitions: lease.spec?.leaseTransitions,
                leaseDurationSeconds: 1,
                acquireTime: now,
                renewTime: now,
              },
            },
          }),
        { abortable: false },
      );
      this.#logger.info("released the lease");
    } catch (error) {
      // Not fatal: the lease then simply expires.
      this.#logger.warn({ error: describeError(error) }, "could not release the lease");
    }
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#tryAcquireOrRenew();
      } catch (error) {
        if (this.#stopped) break;
        this.#logger.warn({ error: describeError(error), leading: this.isLeader() }, "lease update failed");
      }
      await sleep(
        this.#clock,
        this.isLeader() ? this.#renewPeriodMs : this.#retryPeriodMs,
        this.#stopSignal.signal,
      );
    }
  }

  async #tryAcquireOrRenew(): Promise<void> {
    const lease = await this.#call(() =>
      this.#client.readNamespacedLease({ name: this.#name, namespace: this.#namespace }),
    ).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (this.#stopped) return;
    const startedAt = this.#clock.now();
    const decision = decideLease(lease?.spec, this.#identity, startedAt, this.#leaseDurationSeconds);
    if (decision.action === "wait") {
      if (this.isLeader()) this.#stepDown(`lease is held by ${decision.holderIdentity}`);
      return;
    }
    const now = new V1MicroTime(startedAt);
    const spec: V1LeaseSpec =
      decision.action === "renew"
        ? { ...lease?.spec, leaseDurationSeconds: this.#leaseDurationSeconds, renewTime: now }
        : {
            holderIdentity: this.#identity,
            leaseDurationSeconds: this.#leaseDurationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: decision.action === "acquire" ? decision.leaseTransitions : 0,
          };
    try {
      if (decision.action === "create") {
        await this.#call(() =>
          this.#client.createNamespacedLease({
            namespace: this.#namespace,
            body: { metadata: { name: this.#name, namespace: this.#namespace }, spec },
          }),
        );
      } else {
        // `lease` carries the resourceVersion we read: the write fails with 409 if anyone wrote since.
        const body: V1Lease = { ...lease, spec };
        await this.#call(() =>
          this.#client.replaceNamespacedLease({ name: this.#name, namespace: this.#namespace, body }),
        );
      }
    } catch (error) {
      if (!isConflict(error)) throw error;
      this.#logger.debug("another replica wrote the lease first");
      return;
    }
    if (this.#stopped) return;
    this.#renewed(startedAt, decision.action);
  }

  #renewed(at: number, action: LeaseDecision["action"]): void {
    this.#lastRenewedAt = at;
    if (this.#deadlineTimer !== undefined) this.#clock.clearTimeout(this.#deadlineTimer);
    // A watchdog rather than a check in the loop: a hung API call must not keep us leading.
    this.#deadlineTimer = this.#clock.setTimeout(
      () => this.#stepDown("could not renew the lease within the renew deadline"),
      Math.max(0, at + this.#renewDeadlineMs - this.#clock.now()),
    );
    if (this.#leading !== undefined) return;
    this.#leading = new AbortController();
    this.#logger.info({ action }, "started leading");
    try {
      this.#onStartedLeading(this.#leading.signal);
    } catch (error) {
      this.#logger.error({ error: describeError(error) }, "onStartedLeading threw");
    }
  }

  #stepDown(reason: string): void {
    if (this.#deadlineTimer !== undefined) {
      this.#clock.clearTimeout(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
    }
    const leading = this.#leading;
    if (leading === undefined) return;
    this.#leading = undefined;
    this.#logger.info(
      { reason, lastRenewedAt: new Date(this.#lastRenewedAt).toISOString() },
      "stopped leading",
    );
    leading.abort();
    try {
      this.#onStoppedLeading();
    } catch (error) {
      this.#logger.error({ error: describeError(error) }, "onStoppedLeading threw");
    }
  }

  // An API call that takes longer than the request timeout counts as failed, and
  // stop() does not wait for one. `release` runs after stop, so it opts out of the latter.
  #call<R>(request: () => Promise<R>, { abortable = true } = {}): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const signal = abortable ? this.#stopSignal.signal : undefined;
      const onAbort = () => settle(() => reject(new Error("leader elector stopped")));
      const timer = this.#clock.setTimeout(
        () => settle(() => reject(new Error(`lease request timed out after ${this.#requestTimeoutMs} ms`))),
        this.#requestTimeoutMs,
      );
      const settle = (finish: () => void) => {
        this.#clock.clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        finish();
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      request().then(
        (value) => settle(() => resolve(value)),
        (error: unknown) => settle(() => reject(error)),
      );
    });
  }
}

function isLeaseClient(client: KubeConfig | LeaseClient): client is LeaseClient {
  return typeof (client as Partial<LeaseClient>).readNamespacedLease === "function";
}
