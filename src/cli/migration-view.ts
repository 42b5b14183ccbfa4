// How the CLI reads a Migration: one row per phase (state, percent of its
// matched requests on the new services, last validation), the current phase in
// the WEIGHT column.
import { baseSummary, phaseOutcome } from "./base-view.ts";
import { type RolloutObject, readStatus } from "./rollout.ts";
import { formatNumber, type RolloutSummary, type RolloutView } from "./summary.ts";

interface LoosePhase {
  name?: unknown;
  state?: unknown;
  percent?: unknown;
  failedChecks?: unknown;
  message?: unknown;
  lastValidation?: { verdict?: unknown; errorRate?: unknown; p99Latency?: unknown; throughput?: unknown };
}

function text(v: unknown): string {
  return typeof v === "string" ? v : "-";
}

function value(v: unknown, unit: string): string {
  return typeof v === "number" ? `${formatNumber(v)}${unit}` : "-";
}

function phasesOf(object: RolloutObject): LoosePhase[] {
  const phases = (object.status as { phases?: unknown } | undefined)?.phases;
  return Array.isArray(phases) ? (phases as LoosePhase[]) : [];
}

function specPhaseCount(object: RolloutObject): number | undefined {
  const phases = (object.spec as { phases?: unknown } | undefined)?.phases;
  return Array.isArray(phases) ? phases.length : undefined;
}

function next(summary: RolloutSummary, current: string | undefined): string {
  if (summary.phase === undefined)
    return "no status yet: the Wren controller has not reconciled this Migration (is it running?)";
  if (summary.generation !== undefined && (summary.observedGeneration ?? 0) < summary.generation)
    return `the controller has not yet acted on generation ${summary.generation} of this Migration's spec`;
  if (summary.ready?.reason === "InvalidSpec")
    return `nothing moves until this is fixed: ${summary.ready.message}`;
  const phase = current === undefined ? "the current phase" : `phase ${current}`;
  switch (summary.phase) {
    case "Progressing":
      return `moving ${phase}; kubectl wren promote takes its next step now, abort sends its requests back to the monolith, pause holds`;
    case "Paused":
      return `${phase} is paused; kubectl wren resume continues, abort sends its requests back to the monolith`;
    case "Succeeded":
      return "every phase is migrated; the monolith serves only what no phase matches";
    case "Failed":
      return `${phase} was rolled back; kubectl wren retry runs it again`;
    default:
      return `phase ${summary.phase}`;
  }
}

function summarize(object: RolloutObject): RolloutSummary {
  const summary = baseSummary("Migration", object);
  const current = (object.status as { currentPhase?: unknown } | undefined)?.currentPhase;
  const currentName = typeof current === "string" ? current : undefined;
  const phases = phasesOf(object);
  const index = phases.findIndex((p) => p.name === currentName);
  if (currentName !== undefined && summary.canaryWeight !== undefined) {
    summary.weight = `${currentName} ${summary.canaryWeight}%`;
  }
  const total = specPhaseCount(object) ?? phases.length;
  if (index >= 0) summary.step = { index: index + 1, total };
  else if (summary.phase === "Succeeded") summary.step = { index: total, total };
  summary.plan = phases.map((p) => text(p.name)).join(" → ") || undefined;
  if (phases.length > 0) {
    summary.sections = [
      {
        title: "Phases",
        headers: ["PHASE", "STATE", "PERCENT", "ERRORS", "P99", "THROUGHPUT", "VALIDATION", "MESSAGE"],
        rows: phases.map((p) => [
          text(p.name),
          text(p.state),
          value(p.percent, "%"),
          value(p.lastValidation?.errorRate, "%"),
          value(p.lastValidation?.p99Latency, "ms"),
          value(p.lastValidation?.throughput, "/s"),
          text(p.lastValidation?.verdict),
          typeof p.message === "string" ? p.message : "",
        ]),
      },
    ];
  }
  summary.next = next(summary, currentName);
  return summary;
}

/** The Migration view. */
export const migrationView: RolloutView = {
  summarize,
  targetDeployment: () => undefined,
  outcome: (object) => {
    const status = readStatus(object);
    const generation = object.metadata?.generation;
    if (
      generation !== undefined &&
      status.phase !== undefined &&
      (status.observedGeneration ?? 0) < generation
    ) {
      return { state: "running", reason: `the controller has not yet acted on generation ${generation}` };
    }
    const base = phaseOutcome(status.phase);
    const ready = status.conditions?.find((c) => c.type === "Ready")?.message;
    return base.state === "running" || ready === undefined ? base : { ...base, reason: ready };
  },
};
