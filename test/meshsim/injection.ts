// Sidecar injection by revision, as istiod's webhook decides it.
//
// Real Istio injects at admission (a mutating webhook). meshsim cannot sit in the
// API server's admission chain, so it patches the pod's annotations right after
// the pod appears. The window is short and the pod is not Ready yet on KWOK, so
// nothing observes the un-injected pod. A pod already carrying the status
// annotation keeps it, as a real pod keeps its proxy until it is recreated: moving
// a namespace to a new revision only affects pods created after the change.

import type { ClusterView, Labels, NamespaceInfo, PodInfo } from "./model.ts";

export const REV_LABEL = "istio.io/rev";
export const INJECTION_LABEL = "istio-injection";
export const POD_INJECT_LABEL = "sidecar.istio.io/inject";
export const REV_ANNOTATION = "istio.io/rev";
export const STATUS_ANNOTATION = "sidecar.istio.io/status";
export const DEFAULT_REVISION = "default";

/** Namespaces istiod's webhook never injects into. */
const EXCLUDED_NAMESPACES = new Set(["kube-system", "kube-public", "kube-node-lease", "istio-system"]);

/**
 * The revision a new pod would be injected with, or undefined for none.
 * Precedence as in Istio: the pod opting out, then the namespace's
 * `istio-injection` label (which wins over `istio.io/rev`), then the namespace's
 * `istio.io/rev`, then the pod's own `istio.io/rev` label.
 */
export function desiredRevision(
  namespace: NamespaceInfo | undefined,
  pod: { readonly namespace: string; readonly labels: Labels; readonly annotations: Labels },
): string | undefined {
  if (EXCLUDED_NAMESPACES.has(pod.namespace)) return undefined;
  if ((pod.labels[POD_INJECT_LABEL] ?? pod.annotations[POD_INJECT_LABEL]) === "false") return undefined;
  const nsLabels = namespace?.labels ?? {};
  const injection = nsLabels[INJECTION_LABEL];
  if (injection === "disabled") return undefined;
  if (injection === "enabled") return DEFAULT_REVISION;
  const nsRev = nsLabels[REV_LABEL];
  if (nsRev) return nsRev;
  return pod.labels[REV_LABEL] || undefined;
}

/** The revision of the pod's sidecar, or undefined when it has none. */
export function sidecarRevision(annotations: Labels): string | undefined {
  const status = annotations[STATUS_ANNOTATION];
  if (status === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(status);
    if (parsed && typeof parsed === "object" && "revision" in parsed && typeof parsed.revision === "string") {
      return parsed.revision;
    }
  } catch {
    // Not JSON: still injected, fall back to the rev annotation.
  }
  return annotations[REV_ANNOTATION] ?? DEFAULT_REVISION;
}

/** The annotations the webhook would have added. */
export function injectionAnnotations(revision: string): Record<string, string> {
  return {
    [REV_ANNOTATION]: revision,
    [STATUS_ANNOTATION]: JSON.stringify({
      initContainers: ["istio-init"],
      containers: ["istio-proxy"],
      revision,
    }),
  };
}

/** Pods that need patching now, with the revision to give them. */
export function pendingInjections(view: ClusterView): Array<{ pod: PodInfo; revision: string }> {
  const out: Array<{ pod: PodInfo; revision: string }> = [];
  for (const pod of view.pods) {
    if (pod.deleting || pod.annotations[STATUS_ANNOTATION] !== undefined) continue;
    const revision = desiredRevision(view.namespaces.get(pod.namespace), pod);
    if (revision) out.push({ pod, revision });
  }
  return out;
}

export type PodPatcher = (
  namespace: string,
  name: string,
  annotations: Record<string, string>,
) => Promise<void>;

export interface InjectionResult {
  readonly namespace: string;
  readonly name: string;
  readonly revision: string;
  readonly error?: unknown;
}

/**
 * Level-triggered: call `reconcile` with every new view (and now and then); it
 * patches what is pending, never the same pod twice at once, and retries failures
 * after a pause. The view may lag the patch, so a patched pod is not re-patched for
 * `settleMs`.
 */
export class Injector {
  private readonly patch: PodPatcher;
  private readonly onResult: (r: InjectionResult) => void;
  private readonly now: () => number;
  private readonly settleMs: number;
  private readonly inFlight = new Set<string>();
  private readonly holdUntil = new Map<string, number>();

  constructor(
    patch: PodPatcher,
    options: { onResult?: (r: InjectionResult) => void; now?: () => number; settleMs?: number } = {},
  ) {
    this.patch = patch;
    this.onResult = options.onResult ?? (() => {});
    this.now = options.now ?? Date.now;
    this.settleMs = options.settleMs ?? 5000;
  }

  /** Starts the patches that are due; resolves when they have all finished. */
  reconcile(view: ClusterView): Promise<void> {
    const now = this.now();
    for (const [key, until] of this.holdUntil) if (until <= now) this.holdUntil.delete(key);
    const started: Promise<void>[] = [];
    for (const { pod, revision } of pendingInjections(view)) {
      const key = `${pod.namespace}/${pod.name}/${pod.creationTimestamp ?? ""}`;
      if (this.inFlight.has(key) || this.holdUntil.has(key)) continue;
      this.inFlight.add(key);
      started.push(
        this.patch(pod.namespace, pod.name, injectionAnnotations(revision)).then(
          () => this.finish(key, { namespace: pod.namespace, name: pod.name, revision }),
          (error: unknown) => this.finish(key, { namespace: pod.namespace, name: pod.name, revision, error }),
        ),
      );
    }
    return Promise.all(started).then(() => undefined);
  }

  private finish(key: string, result: InjectionResult): void {
    this.inFlight.delete(key);
    this.holdUntil.set(key, this.now() + this.settleMs);
    this.onResult(result);
  }
}
