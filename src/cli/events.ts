// Kubernetes Events about a rollout, in the shape the status view and the history read.

/** A core/v1 Event as JSON (the fields the CLI reads). */
export interface KubeEventJson {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string } | null;
  metadata?: { name?: string; creationTimestamp?: string };
}

/** One Event about a rollout: what happened, how often, first and last time (ISO). */
export interface RolloutEvent {
  type: string;
  reason: string;
  message: string;
  count: number;
  first: string;
  last: string;
}

function time(...candidates: (string | null | undefined)[]): string | undefined {
  return candidates.find((c): c is string => typeof c === "string" && !Number.isNaN(Date.parse(c)));
}

/** Normalises Events (core fields or events.k8s.io series) and sorts them oldest first. */
export function normaliseEvents(items: KubeEventJson[]): RolloutEvent[] {
  const events: RolloutEvent[] = [];
  for (const e of items) {
    const first = time(e.firstTimestamp, e.eventTime, e.metadata?.creationTimestamp);
    const last = time(e.series?.lastObservedTime, e.lastTimestamp, first);
    if (first === undefined || last === undefined) continue;
    events.push({
      type: e.type ?? "Normal",
      reason: e.reason ?? "",
      message: e.message ?? "",
      count: Math.max(e.series?.count ?? e.count ?? 1, 1),
      first,
      last,
    });
  }
  return events.sort((a, b) => Date.parse(a.last) - Date.parse(b.last));
}
