// Turns a metric value into a verdict. Pure.
//
// Rules:
// - thresholdRange is inclusive: min <= value <= max passes.
// - maxIncreaseOverPrimary (pct) fails when value > primaryValue * (1 + pct/100): lower is
//   better (latency, error counts, ...), so the new version may be at most pct percent worse.
// - Except for a check named request-success-rate, where higher is better and the value is
//   already a percentage: it fails when value < primaryValue - pct, i.e. when the new version's
//   success rate is more than pct percentage points below the stable version's. (Points, not a
//   relative change: "99.9% vs 99.5%" reads as 0.4 points, whatever the primary's rate.)
// - A missing value, or a missing primary value when maxIncreaseOverPrimary is set, is
//   Unavailable, never Pass. Both criteria must hold for Pass.
import type { MetricCheck } from "../../api/common.ts";
import type { CheckResult } from "../../strategies/decision.ts";

/** The check whose primary comparison is "must not drop by more than pct points". */
const successRate = "request-success-rate";

/** Judges one metric value (and the primary's, when compared) against the check's criteria. */
export function judge(check: MetricCheck, value: number | undefined, primaryValue?: number): CheckResult {
  const result: CheckResult = { name: check.name, verdict: "Unavailable" };
  if (check.thresholdRange !== undefined) result.thresholdRange = { ...check.thresholdRange };
  const known = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);
  if (known(value)) result.value = value;
  if (known(primaryValue)) result.primaryValue = primaryValue;

  if (!known(value)) return { ...result, message: `no value for ${check.name}` };
  const pct = check.maxIncreaseOverPrimary;
  if (pct !== undefined && !known(primaryValue)) {
    return {
      ...result,
      message: `no value for the primary's ${check.name}, which maxIncreaseOverPrimary compares with`,
    };
  }

  // Pass and Fail messages start with the value, not the check's name: the result carries
  // the name, and readers (status, the canary strategy's messages) put it in front.
  const failures: string[] = [];
  const passes: string[] = [];
  const { min, max } = check.thresholdRange ?? {};
  if (min !== undefined) {
    if (value < min) failures.push(`${fmt(value)} is below the minimum ${fmt(min)}`);
    else passes.push(`min ${fmt(min)}`);
  }
  if (max !== undefined) {
    if (value > max) failures.push(`${fmt(value)} is above the maximum ${fmt(max)}`);
    else passes.push(`max ${fmt(max)}`);
  }
  if (pct !== undefined && known(primaryValue)) {
    const primary = `the primary's ${fmt(primaryValue)}`;
    if (check.name === successRate) {
      const limit = primaryValue - pct;
      const points = pct === 1 ? "percentage point" : "percentage points";
      if (value < limit) failures.push(`${fmt(value)} is more than ${fmt(pct)} ${points} below ${primary}`);
      else passes.push(`${primary} allows down to ${fmt(limit)}`);
    } else {
      // A primary of 0 allows no increase at all.
      const limit = primaryValue + (primaryValue * pct) / 100;
      if (value > limit) failures.push(`${fmt(value)} is more than ${fmt(pct)}% above ${primary}`);
      else passes.push(`${primary} allows up to ${fmt(limit)}`);
    }
  }

  if (failures.length > 0) return { ...result, verdict: "Fail", message: failures.join("; ") };
  return { ...result, verdict: "Pass", message: `${fmt(value)} passed (${passes.join("; ")})` };
}

function fmt(n: number): string {
  return String(Number(n.toPrecision(6)));
}
