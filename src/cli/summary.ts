// What the CLI shows about one rollout, whatever its kind. Each kind's view
// (views.ts, canary-view.ts) turns its object into this; the table, the status
// view and the watch render only this. Pure data.
import type { LooseAction, LooseCondition, RequestedAction, RolloutObject } from "./rollout.ts";

/** The last result of one analysis metric, with its threshold in words. */
export interface MetricRow {
  name: string;
  value?: number;
  primaryValue?: number;
  /** The unit the value is shown in ("%", "ms", "/s"), empty for custom metrics. */
  unit: string;
  /** The passing range in words: ">= 99%", "<= 500ms", "<= primary +10%"; "-" when unknown. */
  threshold: string;
  /** The fixed bounds of the passing range, when it has any. */
  range?: { min?: number; max?: number };
  /** Pass, Fail or Unavailable; undefined when the metric has not been measured yet. */
  verdict?: string;
  message?: string;
  time?: string;
}

/** One rollout, as every output of the CLI sees it. */
export interface RolloutSummary {
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
  created?: string;
  generation?: number;
  observedGeneration?: number;
  phase?: string;
  /** The phase a paused rollout returns to. */
  resumePhase?: string;
  /** The Ready condition: why the rollout is in its phase. */
  ready?: LooseCondition;
  conditions: LooseCondition[];
  /** The WEIGHT column: "20%", "A/B", "mirror 50%", "wave 2"; "-" when unknown. */
  weight: string;
  /** The new version's weight in percent, when the kind shifts traffic. */
  canaryWeight?: number;
  /** The traffic split, when the kind has one. */
  weights?: { primary: number; canary: number };
  /** The current step; total is undefined when unknown. */
  step?: { index: number; total?: number };
  /** The whole plan in words: "10% → 20% → 30%", "10 iterations of A/B testing". */
  plan?: string;
  checks?: { failed: number; threshold?: number; unavailable: number };
  target?: { kind: string; name: string; revision?: string; promotedRevision?: string };
  interval?: string;
  lastStepTime?: string;
  lastTransitionTime?: string;
  waitingSince?: string;
  metrics: MetricRow[];
  lastAction?: LooseAction;
  pendingAction?: RequestedAction;
  /** One line: what happens next, and how a person can step in. */
  next?: string;
  /** The Traffic line in words, for kinds whose split is not primary/canary ("blue 90%, green 10%"). */
  traffic?: string;
  /** Further overview lines a kind adds ("Colours", "Revisions"). */
  details?: { label: string; value: string }[];
  /** Tables a kind adds below the overview: a Migration's phases, an upgrade's waves. */
  sections?: SummarySection[];
}

/** A titled table in the status view. */
export interface SummarySection {
  title: string;
  headers: string[];
  rows: string[][];
}

/** Whether a rollout has ended: what `kubectl wren watch` waits for. */
export interface Outcome {
  state: "succeeded" | "failed" | "running";
  /** Why, in words, e.g. "revision 3f2a… is not picked up yet". */
  reason: string;
}

/** How the CLI reads one rollout kind. */
export interface RolloutView {
  summarize(object: RolloutObject, now: Date): RolloutSummary;
  /** The Deployment whose pod template is the revision being released, if the kind has one. */
  targetDeployment(object: RolloutObject): string | undefined;
  /**
   * Whether the rollout has ended. `targetRevision` is the hash of the target's current pod
   * template when known, so a release the controller has not picked up yet is not mistaken
   * for the previous one having succeeded.
   */
  outcome(object: RolloutObject, targetRevision?: string): Outcome;
}

/** A number as analysis messages print it: at most six significant digits. */
export function formatNumber(n: number): string {
  return String(Number(n.toPrecision(6)));
}

/** A value with its unit: "99.5%", "120ms", "35/s", "0.4". */
export function withUnit(value: number | undefined, unit: string): string {
  return value === undefined ? "-" : `${formatNumber(value)}${unit}`;
}

/** "step 2/5", "2/?" or "-". */
export function stepText(step: RolloutSummary["step"]): string {
  if (step === undefined) return "-";
  return `${step.index}/${step.total ?? "?"}`;
}
