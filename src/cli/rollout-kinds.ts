// Which Wren kinds are rollouts: every kind in src/api/kinds.ts whose status has
// a phase. MetricTemplate (and AlertProvider) configure rollouts; they are not ones.
import { z } from "zod";
import { group, version } from "../api/common.ts";
import type { KindDefinition } from "../api/kind.ts";
import { kinds } from "../api/kinds.ts";
import { CliError } from "./errors.ts";

/** A rollout kind as the CLI addresses it. */
export interface RolloutKind {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  group: string;
  version: string;
  /** `plural.group`, as RBAC and `kubectl get` name it: canaries.wren.dev. */
  resource: string;
  definition: KindDefinition;
}

/** Unwraps optional, default and similar wrappers down to the object schema, if any. */
function objectShape(schema: z.ZodType): Record<string, unknown> | undefined {
  let current: z.ZodType = schema;
  for (let depth = 0; depth < 8; depth++) {
    if (current instanceof z.ZodObject) return current.shape;
    const def = (current as { _zod?: { def?: { innerType?: z.ZodType; in?: z.ZodType } } })._zod?.def;
    const inner = def?.innerType ?? def?.in;
    if (inner === undefined) return undefined;
    current = inner;
  }
  return undefined;
}

/** True when the kind's status schema has a phase: the mark of a rollout. */
export function isRolloutKind(definition: KindDefinition): boolean {
  return objectShape(definition.status)?.phase !== undefined;
}

function toRolloutKind(definition: KindDefinition): RolloutKind {
  return {
    kind: definition.kind,
    plural: definition.plural,
    singular: definition.singular,
    shortNames: definition.shortNames,
    group,
    version,
    resource: `${definition.plural}.${group}`,
    definition,
  };
}

/** The rollout kinds, in the order src/api/kinds.ts lists them. */
export const rolloutKinds: readonly RolloutKind[] = kinds.filter(isRolloutKind).map(toRolloutKind);

function names(definition: KindDefinition): string[] {
  const base = [definition.kind, definition.plural, definition.singular, ...definition.shortNames].map((n) =>
    n.toLowerCase(),
  );
  return [...base, ...base.map((n) => `${n}.${group}`)];
}

/**
 * The rollout kind a word names: Canary, canary, canaries, wc or canaries.wren.dev.
 * Throws a CliError naming the rollout kinds when it names none (or a kind that is not a rollout).
 */
export function findRolloutKind(word: string, among: readonly RolloutKind[] = rolloutKinds): RolloutKind {
  const wanted = word.toLowerCase();
  const found = among.find((k) => names(k.definition).includes(wanted));
  if (found) return found;
  const other = kinds.find((k) => names(k).includes(wanted));
  const known = among.map((k) => k.singular).join(", ");
  if (other) throw new CliError(`${other.kind} is not a rollout kind; kubectl wren works with: ${known}`);
  throw new CliError(`unknown rollout kind "${word}"; kubectl wren works with: ${known}`);
}
