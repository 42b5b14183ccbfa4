// The view of each rollout kind, and a generic one for kinds the CLI has no
// special knowledge of: it reads the status fields every rollout shares.
import { baseSummary, phaseOutcome } from "./base-view.ts";
import { blueGreenView } from "./bluegreen-view.ts";
import { canaryView } from "./canary-view.ts";
import { controlPlaneUpgradeView } from "./controlplane-view.ts";
import { migrationView } from "./migration-view.ts";
import { type RolloutObject, readStatus } from "./rollout.ts";
import type { RolloutKind } from "./rollout-kinds.ts";
import type { RolloutSummary, RolloutView } from "./summary.ts";

const specific: Record<string, RolloutView> = {
  Canary: canaryView,
  BlueGreen: blueGreenView,
  Migration: migrationView,
  ControlPlaneUpgrade: controlPlaneUpgradeView,
};

const genericView: RolloutView = {
  summarize: (object) => baseSummary(object.kind ?? "", object),
  targetDeployment: () => undefined,
  outcome: (object) => phaseOutcome(readStatus(object).phase),
};

/** The view for a rollout kind. */
export function viewFor(kind: RolloutKind): RolloutView {
  return specific[kind.kind] ?? genericView;
}

/** Summarises a rollout object of a kind. */
export function summarize(kind: RolloutKind, object: RolloutObject, now: Date): RolloutSummary {
  return viewFor(kind).summarize({ ...object, kind: object.kind ?? kind.kind }, now);
}
