// One rollout kind's loop: the informer of its objects, its own work queue and
// its reconciler, plus the other objects whose changes wake it. Every kind gets
// its own queue so `ns/name` keys of different kinds never collide.
import type { KubernetesObject } from "@kubernetes/client-node";
import { type Informer, objectKey } from "../kube/informer.ts";
import { WorkQueue } from "../kube/workqueue.ts";
import type { Logger } from "../observability/logger.ts";
import type { ReconcilerDeps } from "./reconciler.ts";

/** Anything that reconciles one key (a Reconciler of any kind). */
export interface KeyReconciler {
  reconcile(key: string): Promise<void>;
}

/** The rollout objects a change to another object concerns. */
export type Wakes<T> = (changed: T) => Iterable<KubernetesObject>;

export class RolloutLoop {
  readonly kind: string;
  readonly informer: Informer<KubernetesObject>;
  readonly queue: WorkQueue;
  #reconciler: KeyReconciler | undefined;
  #started = false;

  constructor(kind: string, informer: Informer<KubernetesObject>, logger: Logger) {
    this.kind = kind;
    this.informer = informer;
    this.queue = new WorkQueue({ logger: logger.child({ subsystem: "workqueue", kind }) });
    const enqueue = (obj: KubernetesObject) => this.queue.add(objectKey(obj));
    informer.on("add", enqueue);
    informer.on("update", enqueue);
  }

  /** What the reconciler needs from this loop: its cache and its queue. */
  deps(shared: Omit<ReconcilerDeps, "informer" | "queue">): ReconcilerDeps {
    return { ...shared, informer: this.informer, queue: this.queue };
  }

  /** The reconciler that processes this loop's keys. */
  use(reconciler: KeyReconciler): this {
    this.#reconciler = reconciler;
    return this;
  }

  /** Re-queues the rollout objects `wakes` names whenever `informer` sees a change. */
  wakeOn<T extends KubernetesObject>(informer: Informer<T>, wakes: Wakes<T>): this {
    const handler = (changed: T) => {
      for (const obj of wakes(changed)) this.queue.add(objectKey(obj));
    };
    informer.on("add", handler);
    informer.on("update", handler);
    informer.on("delete", handler);
    return this;
  }

  /** Queues every object once and starts `workers` workers (on the leader only). */
  startWorkers(workers: number): void {
    const reconciler = this.#reconciler;
    if (this.#started || !reconciler) return;
    this.#started = true;
    for (const obj of this.informer.list()) this.queue.add(objectKey(obj));
    this.queue.run(workers, (key) => reconciler.reconcile(key));
  }

  async stop(): Promise<void> {
    await this.queue.shutdown();
  }
}
