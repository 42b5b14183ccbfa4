// How the CLI reads a ControlPlaneUpgrade: revisions, one row per wave
// (namespaces moved, state, checks), the share of namespaces moved as WEIGHT.
import { baseSummary, phaseOutcome } from "./base-view.ts";
import { type RolloutObject, readStatus } from "./rollout.ts";
import type { RolloutSummary, RolloutView } from "./summary.ts";

interface LooseWave {
  index?: unknown;
  percent?: unknown;
  namespaces?: unknown;
  gateways?: unknown;
  state?: unknown;
  message?: unknown;
}

interface LooseUpgradeStatus {
  from?: unknown;
  to?: unknown;
  currentWave?: unknown;
  waves?: unknown;
  selectedNamespaces?: unknown;
  skippedNamespaces?: unknown;
}

function text(v: unknown): string {
  return typeof v === "string" || typeof v === "number" ? String(v) : "-";
}

function listText(v: unknown, limit = 4): string {
  if (!Array.isArray(v)) return "-";
  const names = v.map((n) =>
    typeof n === "string"
      ? n
      : `${text((n as { namespace?: unknown }).namespace)}/${text((n as { name?: unknown }).name)}`,
  );
  return names.length <= limit
    ? names.join(", ")
    : `${names.slice(0, limit).join(", ")} +${names.length - limit}`;
}

function specRevisions(object: RolloutObject): { from?: string; to?: string; waves?: number } {
  const spec = (object.spec ?? {}) as { from?: unknown; to?: unknown; waves?: unknown };
  return {
    from: typeof spec.from === "string" ? spec.from : undefined,
    to: typeof spec.to === "string" ? spec.to : undefined,
    waves: Array.isArray(spec.waves) ? spec.waves.length : undefined,
  };
}

function next(summary: RolloutSummary, to: string): string {
  if (summary.phase === undefined)
    return "no status yet: the Wren controller has not reconciled this upgrade (is it running?)";
  if (summary.ready?.reason === "InvalidSpec")
    return `nothing moves until this is fixed: ${summary.ready.message}`;
  switch (summary.phase) {
    case "WaitingForControlPlane":
      return `waiting for istiod-${to} to be ready; nothing is relabelled until it is`;
    case "WaitingPromotion":
      return "the next wave waits at its manual gate: kubectl wren promote starts it, abort rolls back the moved namespaces";
    case "Progressing":
      return "moving a wave; kubectl wren abort moves every moved namespace back, pause holds between steps";
    case "Paused":
      return "paused; kubectl wren resume continues, abort rolls back";
    case "RollingBack":
      return "moving every moved namespace back and restarting its workloads";
    case "Finalising":
      return "every wave is done; moving the revision tag";
    case "Succeeded":
      return `every selected namespace runs on ${to}`;
    case "Failed":
      return "rolled back; kubectl wren retry starts the upgrade again";
    default:
      return `phase ${summary.phase}`;
  }
}

function summarize(object: RolloutObject): RolloutSummary {
  const summary = baseSummary("ControlPlaneUpgrade", object);
  const status = (object.status ?? {}) as LooseUpgradeStatus;
  const fromSpec = specRevisions(object);
  const from = typeof status.from === "string" ? status.from : fromSpec.from;
  const to = typeof status.to === "string" ? status.to : fromSpec.to;
  const waves = Array.isArray(status.waves) ? (status.waves as LooseWave[]) : [];
  const current = typeof status.currentWave === "number" ? status.currentWave : undefined;
  if (current !== undefined) {
    summary.weight = `wave ${current + 1}${summary.canaryWeight === undefined ? "" : ` (${summary.canaryWeight}%)`}`;
    summary.step = { index: current + 1, total: fromSpec.waves };
  }
  const details = [{ label: "Revisions", value: `${from ?? "?"} → ${to ?? "?"}` }];
  if (typeof status.selectedNamespaces === "number") {
    const skipped =
      typeof status.skippedNamespaces === "number" ? `, ${status.skippedNamespaces} left alone` : "";
    details.push({ label: "Namespaces", value: `${status.selectedNamespaces} selected${skipped}` });
  }
  summary.details = details;
  if (waves.length > 0) {
    summary.sections = [
      {
        title: "Waves",
        headers: ["WAVE", "PERCENT", "MOVED", "STATE", "MESSAGE"],
        rows: waves.map((w) => [
          typeof w.index === "number" ? String(w.index + 1) : "-",
          `${text(w.percent)}%`,
          Array.isArray(w.gateways) && w.gateways.length > 0
            ? `gateways ${listText(w.gateways)}`
            : listText(w.namespaces),
          text(w.state),
          typeof w.message === "string" ? w.message : "",
        ]),
      },
    ];
  }
  summary.next = next(summary, to ?? "?");
  return summary;
}

/** The ControlPlaneUpgrade view. */
export const controlPlaneUpgradeView: RolloutView = {
  summarize,
  targetDeployment: () => undefined,
  outcome: (object) => {
    const status = readStatus(object);
    const base = phaseOutcome(status.phase);
    const ready = status.conditions?.find((c) => c.type === "Ready")?.message;
    return base.state === "running" || ready === undefined ? base : { ...base, reason: ready };
  },
};
