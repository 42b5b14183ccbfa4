// promote, promote --full, abort, pause, resume, retry: the manual-action
// contract of src/engine/manual-actions.ts. The CLI sets the annotation with a
// fresh id; the controller consumes it once and records it in status.lastAction.
import { actionAnnotation } from "../engine/manual-actions.ts";
import type { ManualActionName } from "../strategies/decision.ts";
import type { Cluster } from "./cluster.ts";
import { formatDuration } from "./duration.ts";
import { CliError } from "./errors.ts";
import type { CliDeps, OutputFormat } from "./io.ts";
import { printData } from "./output.ts";
import { type FoundRollout, pendingAction, type RequestedAction, readStatus } from "./rollout.ts";
import { stepText } from "./summary.ts";
import { summarize } from "./views.ts";

export interface ActionOptions {
  /** How long to wait for the controller to consume the action; 0 does not wait. */
  waitMs: number;
  /** How often to look; 250ms unless a test says otherwise. */
  pollMs?: number;
  output?: OutputFormat;
}

/** The JSON the annotation holds. */
export function actionRequest(
  id: string,
  action: ManualActionName,
  requestedBy: string,
  requestedAt: Date,
): RequestedAction {
  return { id, action, requestedBy, requestedAt: requestedAt.toISOString() };
}

/** Who asks: the user the API server knows us as, else the kubeconfig's user name. */
async function requester(cluster: Cluster): Promise<string> {
  return (await cluster.whoAmI()) ?? cluster.info.user ?? "unknown";
}

/** Requests a manual action and waits for the controller to consume it; returns the exit code. */
export async function runAction(
  deps: CliDeps,
  cluster: Cluster,
  found: FoundRollout,
  action: ManualActionName,
  options: ActionOptions,
): Promise<number> {
  const { kind, object } = found;
  const namespace = object.metadata?.namespace ?? "";
  const name = object.metadata?.name ?? "";
  const label = `${kind.singular} ${namespace}/${name}`;
  const request = actionRequest(deps.randomId(), action, await requester(cluster), deps.now());
  const earlier = pendingAction(object);
  await cluster.annotate(kind, namespace, name, { [actionAnnotation]: JSON.stringify(request) });
  const machine = options.output === "json" || options.output === "yaml" ? options.output : undefined;
  if (earlier !== undefined) {
    deps.stderr.write(
      `note: this replaces ${earlier.action}${earlier.requestedBy ? ` by ${earlier.requestedBy}` : ""} (id ${earlier.id}), which no controller had consumed\n`,
    );
  }
  if (machine === undefined) deps.stdout.write(`${label}: ${action} requested (id ${request.id})\n`);
  if (options.waitMs <= 0) {
    if (machine !== undefined) printData(deps.stdout, { ...request, consumed: false }, machine);
    return 0;
  }

  const deadline = deps.now().getTime() + options.waitMs;
  for (;;) {
    await deps.sleep(options.pollMs ?? 250);
    const current = await cluster.get(kind, namespace, name);
    if (current === undefined)
      throw new CliError(`${kind.singular} "${name}" was deleted in namespace "${namespace}"`);
    const last = readStatus(current).lastAction;
    if (last?.id === request.id) {
      const result = last.result ?? "";
      const ignored = result.startsWith("ignored");
      if (machine !== undefined) {
        printData(deps.stdout, { ...request, ...last, consumed: true }, machine);
      } else {
        const s = summarize(kind, current, deps.now());
        const now = `now ${s.phase ?? "?"}, weight ${s.weight}, step ${stepText(s.step)}`;
        const line = ignored
          ? `the controller ${result.replace(/^ignored/, "ignored it")}`
          : `${result}; ${now}`;
        (ignored ? deps.stderr : deps.stdout).write(`${label}: ${line}\n`);
      }
      return ignored ? 1 : 0;
    }
    if (deps.now().getTime() >= deadline) break;
  }
  if (machine !== undefined) printData(deps.stdout, { ...request, consumed: false }, machine);
  throw new CliError(
    `the action was recorded but no controller consumed it within ${formatDuration(options.waitMs)} — is the Wren controller running?`,
  );
}
