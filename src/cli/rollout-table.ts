// The `kubectl wren get` table. Pure.
import { age } from "./age.ts";
import { type RolloutSummary, stepText } from "./summary.ts";
import { renderTable } from "./table.ts";

export interface RolloutTableOptions {
  now: Date;
  /** -A: a NAMESPACE column first. */
  allNamespaces?: boolean;
  /** -o wide: failed checks, target and the Ready reason too. */
  wide?: boolean;
}

/** Sorts by namespace, kind and name, like kubectl. */
export function sortSummaries(summaries: RolloutSummary[]): RolloutSummary[] {
  return [...summaries].sort(
    (a, b) =>
      a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name),
  );
}

/** Renders rollouts as a kubectl-style table. */
export function renderRolloutTable(summaries: RolloutSummary[], options: RolloutTableOptions): string {
  const headers = [
    ...(options.allNamespaces ? ["NAMESPACE"] : []),
    "KIND",
    "NAME",
    "PHASE",
    "WEIGHT",
    "STEP",
    "AGE",
    ...(options.wide ? ["FAILED", "TARGET", "REASON"] : []),
  ];
  const rows = sortSummaries(summaries).map((s) => [
    ...(options.allNamespaces ? [s.namespace] : []),
    s.kind,
    s.name,
    s.phase ?? "-",
    s.weight,
    stepText(s.step),
    age(s.created, options.now),
    ...(options.wide
      ? [
          s.checks === undefined
            ? "-"
            : `${s.checks.failed}${s.checks.threshold === undefined ? "" : `/${s.checks.threshold}`}`,
          s.target === undefined ? "-" : s.target.name,
          s.ready?.reason || "-",
        ]
      : []),
  ]);
  return `${renderTable(headers, rows)}\n`;
}
