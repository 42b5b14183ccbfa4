// `kubectl wren status NAME`: reads what the status view needs (the rollout,
// its Events, its target's revision) and prints the view.

import type { V1Deployment } from "@kubernetes/client-node";
import { templateHash } from "../engine/workload/deployments.ts";
import type { Cluster } from "./cluster.ts";
import { CliError, ForbiddenError } from "./errors.ts";
import { normaliseEvents, type RolloutEvent } from "./events.ts";
import { buildHistory, type Observation } from "./history.ts";
import type { CliDeps, OutputFormat } from "./io.ts";
import { printData } from "./output.ts";
import type { FoundRollout, RolloutObject } from "./rollout.ts";
import { renderStatus, type StatusReport, statusData } from "./status-view.ts";
import { summarize, viewFor } from "./views.ts";

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The Events about a rollout, or a note saying why they could not be read. */
export async function readEvents(
  cluster: Cluster,
  found: FoundRollout,
): Promise<{ events: RolloutEvent[]; note?: string }> {
  const meta = found.object.metadata ?? {};
  try {
    const items = await cluster.events(meta.namespace ?? "", {
      kind: found.kind.kind,
      name: meta.name ?? "",
      uid: meta.uid,
    });
    return { events: normaliseEvents(items) };
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    return { events: [], note: `Events are not shown: ${describe(error)}` };
  }
}

/**
 * The hash of the pod template of the Deployment a rollout releases, computed as the
 * controller does; undefined (with a note) when it cannot be read.
 */
export async function readTargetRevision(
  cluster: Cluster,
  found: FoundRollout,
  object: RolloutObject = found.object,
): Promise<{ revision?: string; note?: string; uncertain?: boolean }> {
  const name = viewFor(found.kind).targetDeployment(object);
  if (name === undefined) return {};
  try {
    const deployment = await cluster.deployment(object.metadata?.namespace ?? "", name);
    if (deployment === undefined) return { note: `Deployment ${name} not found` };
    return { revision: templateHash(deployment as V1Deployment) };
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    return {
      note: `cannot tell whether Deployment ${name} has a newer revision than the one shown: ${describe(error)}`,
      // RBAC will say no again; anything else (network, timeout) may pass.
      uncertain: !(error instanceof ForbiddenError),
    };
  }
}

/** Reads everything the status view shows about one rollout. */
export async function loadReport(
  cluster: Cluster,
  found: FoundRollout,
  now: Date,
  observations?: Observation[],
): Promise<StatusReport> {
  const { events, note } = await readEvents(cluster, found);
  const summary = summarize(found.kind, found.object, now);
  const seen = observations ?? [{ at: now.toISOString(), summary }];
  return {
    summary,
    events,
    history: buildHistory(events, seen, note === undefined, found.kind.kind),
    ...(note === undefined ? {} : { notes: [note] }),
  };
}

/** Runs `status`; returns the exit code. */
export async function runStatus(
  deps: CliDeps,
  cluster: Cluster,
  found: FoundRollout,
  options: { output?: OutputFormat },
): Promise<number> {
  const now = deps.now();
  const report = await loadReport(cluster, found, now);
  if (options.output === "json" || options.output === "yaml") {
    printData(deps.stdout, statusData(report), options.output);
  } else {
    deps.stdout.write(renderStatus(report, { now, wide: options.output === "wide" }));
  }
  return 0;
}
