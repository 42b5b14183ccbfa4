// `kubectl wren get [NAME|KIND/NAME]`: a table of rollouts of every kind.
import type { Cluster } from "./cluster.ts";
import { ForbiddenError, ResourceNotServedError } from "./errors.ts";
import type { CliDeps, OutputFormat } from "./io.ts";
import { list, printData } from "./output.ts";
import { parseRef, resolveRollout } from "./resolve.ts";
import type { FoundRollout } from "./rollout.ts";
import { type RolloutKind, rolloutKinds } from "./rollout-kinds.ts";
import { renderRolloutTable } from "./rollout-table.ts";
import { summarize } from "./views.ts";

export interface GetOptions {
  /** NAME or KIND/NAME; every rollout when undefined. */
  ref?: string;
  /** undefined: all namespaces (-A). */
  namespace: string | undefined;
  output?: OutputFormat;
}

/**
 * Every rollout of every kind the cluster serves, in a namespace or all of them.
 * A kind the user may not list is skipped with a warning: RBAC on one kind only
 * must not hide the others.
 */
export async function listRollouts(
  cluster: Cluster,
  namespace: string | undefined,
  kinds: readonly RolloutKind[] = rolloutKinds,
  warn: (message: string) => void = () => {},
): Promise<FoundRollout[]> {
  const settled = await Promise.allSettled(
    kinds.map(async (kind) =>
      (await cluster.list(kind, namespace)).map((object) => ({
        kind,
        object: { ...object, kind: kind.kind },
      })),
    ),
  );
  const failures = settled.flatMap((s) => (s.status === "rejected" ? [s.reason as unknown] : []));
  const skippable = (f: unknown) => f instanceof ResourceNotServedError || f instanceof ForbiddenError;
  const real = failures.find((f) => !skippable(f));
  if (real !== undefined) throw real;
  // No rollout kind readable at all is worth saying; a kind not installed yet is not.
  if (failures.length === kinds.length && failures[0] !== undefined) throw failures[0];
  for (const f of failures) if (f instanceof ForbiddenError) warn(`${f.message}; listing the other kinds`);
  return settled.flatMap((s) => (s.status === "fulfilled" ? s.value : []));
}

/** Runs `get`; returns the exit code. */
export async function runGet(deps: CliDeps, cluster: Cluster, options: GetOptions): Promise<number> {
  const found =
    options.ref === undefined
      ? await listRollouts(cluster, options.namespace, rolloutKinds, (m) =>
          deps.stderr.write(`warning: ${m}\n`),
        )
      : [await resolveRollout(cluster, parseRef(options.ref), options.namespace)];
  if (options.output === "json" || options.output === "yaml") {
    const objects = found.map((f) => f.object);
    printData(deps.stdout, options.ref === undefined ? list(objects) : objects[0], options.output);
    return 0;
  }
  if (found.length === 0) {
    const where =
      options.namespace === undefined ? "in any namespace" : `in namespace "${options.namespace}"`;
    deps.stderr.write(`No rollouts found ${where}.\n`);
    return 0;
  }
  const now = deps.now();
  deps.stdout.write(
    renderRolloutTable(
      found.map((f) => summarize(f.kind, f.object, now)),
      { now, allNamespaces: options.namespace === undefined, wide: options.output === "wide" },
    ),
  );
  return 0;
}
