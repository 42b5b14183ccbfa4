// Which rollout a command means: NAME (looked up across every rollout kind) or
// KIND/NAME, in one namespace or, with -A, in all of them.
import type { Cluster } from "./cluster.ts";
import { CliError, ForbiddenError, NotFoundError, ResourceNotServedError } from "./errors.ts";
import type { FoundRollout, RolloutObject } from "./rollout.ts";
import { findRolloutKind, type RolloutKind, rolloutKinds } from "./rollout-kinds.ts";

/** A rollout as named on the command line. */
export interface RolloutRef {
  /** Set for KIND/NAME; a bare NAME is looked up across kinds. */
  kind?: RolloutKind;
  name: string;
}

/** Parses NAME or KIND/NAME (KIND as kind, plural, singular or short name, optionally with .wren.dev). */
export function parseRef(text: string, kinds: readonly RolloutKind[] = rolloutKinds): RolloutRef {
  const parts = text.split("/");
  if (parts.length === 1 && text !== "") return { name: text };
  const [kindWord, name] = parts;
  if (parts.length !== 2 || !kindWord || !name) {
    throw new CliError(`"${text}" is neither NAME nor KIND/NAME`);
  }
  return { kind: findRolloutKind(kindWord, kinds), name };
}

function where(namespace: string | undefined): string {
  return namespace === undefined ? "in any namespace" : `in namespace "${namespace}"`;
}

/** The one rollout a reference names; a CliError when it names none or several (listing them). */
export async function resolveRollout(
  cluster: Cluster,
  ref: RolloutRef,
  namespace: string | undefined,
  kinds: readonly RolloutKind[] = rolloutKinds,
): Promise<FoundRollout> {
  const candidates = ref.kind === undefined ? kinds : [ref.kind];
  const settled = await Promise.allSettled(
    candidates.map(async (kind): Promise<FoundRollout[]> => {
      const objects: RolloutObject[] =
        namespace === undefined
          ? await cluster.list(kind, undefined, ref.name)
          : await cluster.get(kind, namespace, ref.name).then((o) => (o === undefined ? [] : [o]));
      return objects.map((object) => ({ kind, object: { ...object, kind: kind.kind } }));
    }),
  );
  const found = settled.flatMap((s) => (s.status === "fulfilled" ? s.value : []));
  if (found.length === 1 && found[0] !== undefined) return found[0];
  if (found.length > 1) {
    const names = found.map(({ kind, object }) =>
      namespace === undefined
        ? `${object.metadata?.namespace}/${kind.singular}/${ref.name}`
        : `${kind.singular}/${ref.name}`,
    );
    const kindsFound = new Set(found.map((f) => f.kind.kind));
    const hint =
      kindsFound.size > 1 ? "say which with KIND/NAME" : "pick a namespace with -n NAMESPACE instead of -A";
    throw new CliError(
      `"${ref.name}" names more than one rollout ${where(namespace)}: ${names.join(", ")}; ${hint}`,
    );
  }
  const failures = settled.flatMap((s) => (s.status === "rejected" ? [s.reason as unknown] : []));
  const real = failures.find((f) => !(f instanceof ResourceNotServedError || f instanceof ForbiddenError));
  if (real !== undefined) throw real;
  if (failures.length === candidates.length && failures[0] !== undefined) throw failures[0];
  if (candidates.length === 1 && candidates[0] !== undefined) {
    throw new NotFoundError(`${candidates[0].singular} "${ref.name}" not found ${where(namespace)}`);
  }
  // Kinds the user may not read could hold it: say so rather than claim it does not exist.
  const unreadable = candidates.filter(
    (_, i) => settled[i]?.status === "rejected" && settled[i].reason instanceof ForbiddenError,
  );
  const looked = candidates.filter((k) => !unreadable.includes(k));
  const blind =
    unreadable.length === 0 ? "" : `; RBAC forbids reading ${unreadable.map((k) => k.plural).join(", ")}`;
  throw new NotFoundError(
    `no rollout named "${ref.name}" ${where(namespace)} (looked for ${looked.map((k) => k.plural).join(", ")}${blind})`,
  );
}
