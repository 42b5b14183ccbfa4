// Writes a kind's adapters make, each sent once: an owned object is applied only
// when the live copy differs, and neither an apply nor a patch is repeated while
// the informer cache still shows the object from before it (the cache lags).
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { isSubset, mergePatch, serverSideApply } from "../kube/apply.ts";
import { WriteTracker } from "./write-tracker.ts";

export interface TrackedWrites {
  /**
   * Server-side applies an object Wren owns when `live` differs from it. `exactSpec`
   * (Istio objects, which the API server does not default) also catches fields Wren
   * no longer sets, such as a route that has ended.
   */
  applyIfChanged<T extends KubernetesObject & { spec?: unknown }>(
    desired: T,
    live: (KubernetesObject & { spec?: unknown }) | undefined,
    exactSpec?: boolean,
  ): Promise<void>;
  /** A merge patch of part of an object, sent once until the cache shows a newer version. */
  patchOnce(target: KubernetesObject, patch: Record<string, unknown>): Promise<void>;
}

export function trackedWrites(kc: KubeConfig): TrackedWrites {
  const writes = new WriteTracker();
  return {
    async applyIfChanged(desired, live, exactSpec = false) {
      if (live && isSubset(desired, live) && (!exactSpec || isSubset(live.spec, desired.spec))) return;
      const key = WriteTracker.key(desired);
      if (writes.pending(key, desired, live)) return;
      await serverSideApply(kc, desired);
      writes.wrote(key, desired, live);
    },
    async patchOnce(target, patch) {
      const key = WriteTracker.key(target);
      if (writes.pending(key, patch, target)) return;
      await mergePatch(kc, target, patch);
      writes.wrote(key, patch, target);
    },
  };
}
