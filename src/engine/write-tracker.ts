// Remembers Wren's own recent writes so a reconcile that runs before the informer
// has seen a write does not send it again (the cache lags the API server).
import type { KubernetesObject } from "@kubernetes/client-node";
import { contentHash } from "./hash.ts";

interface Written {
  hash: string;
  /** resourceVersion of the object before our write (what a stale cache still shows). */
  before: string | undefined;
}

export class WriteTracker {
  readonly #written = new Map<string, Written>();

  static key(obj: KubernetesObject): string {
    return `${obj.apiVersion}/${obj.kind}/${obj.metadata?.namespace}/${obj.metadata?.name}`;
  }

  /**
   * True when `desired` is exactly what we last wrote for this object and the
   * cached copy is still the version from before that write: the write stands.
   */
  pending(key: string, desired: unknown, cached: KubernetesObject | undefined): boolean {
    const written = this.#written.get(key);
    if (!written) return false;
    if (cached?.metadata?.resourceVersion !== written.before) {
      // The cache has moved on (to our write, or someone else's after it): trust the cache.
      this.#written.delete(key);
      return false;
    }
    return written.hash === contentHash(desired);
  }

  /** Records a write of `desired` made when the cache showed `cached`. */
  wrote(key: string, desired: unknown, cached: KubernetesObject | undefined): void {
    this.#written.set(key, { hash: contentHash(desired), before: cached?.metadata?.resourceVersion });
  }
}
