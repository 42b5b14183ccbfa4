// How a workload answers, read from its pods' annotations (set on the Deployment's
// pod template, so a "bad release" ships its badness with its image change and
// pods of the old and new ReplicaSet behave differently during a rollout).
// Pure: sampling takes uniforms from the caller.

import type { Labels } from "./model.ts";
import { normalCdf, normalQuantile } from "./random.ts";

export const ERROR_RATE_ANNOTATION = "meshsim.wren.dev/error-rate";
export const ERROR_CODE_ANNOTATION = "meshsim.wren.dev/error-code";
export const LATENCY_P50_ANNOTATION = "meshsim.wren.dev/latency-p50-ms";
export const LATENCY_P99_ANNOTATION = "meshsim.wren.dev/latency-p99-ms";

export const DEFAULT_P50_MS = 20;
export const DEFAULT_P99_MS = 60;
export const DEFAULT_ERROR_CODE = 500;

const Z99 = normalQuantile(0.99);

export interface Behaviour {
  /** Fraction of requests answered with `errorCode`, [0, 1]. */
  readonly errorRate: number;
  readonly errorCode: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Log-normal parameters: ln(latency) ~ N(mu, sigma^2). */
  readonly mu: number;
  readonly sigma: number;
}

function numberAnnotation(annotations: Labels, key: string, min: number, max: number): number | undefined {
  const raw = annotations[key];
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw);
  return Number.isFinite(value) && value >= min && value <= max ? value : undefined;
}

/** Invalid or missing values fall back to the defaults (a healthy, fast workload). */
export function behaviourFromAnnotations(annotations: Labels): Behaviour {
  const errorRate = numberAnnotation(annotations, ERROR_RATE_ANNOTATION, 0, 1) ?? 0;
  const code = numberAnnotation(annotations, ERROR_CODE_ANNOTATION, 100, 599);
  const p50Given = numberAnnotation(annotations, LATENCY_P50_ANNOTATION, Number.MIN_VALUE, 3_600_000);
  const p99Given = numberAnnotation(annotations, LATENCY_P99_ANNOTATION, Number.MIN_VALUE, 3_600_000);
  // Only p99 given: keep the default median unless that would exceed p99.
  const p50Ms = p50Given ?? (p99Given !== undefined ? Math.min(DEFAULT_P50_MS, p99Given) : DEFAULT_P50_MS);
  // Only p50 given: keep the default tail ratio (p99 = 3 x p50).
  const p99Ms = Math.max(p50Ms, p99Given ?? (p50Given !== undefined ? 3 * p50Ms : DEFAULT_P99_MS));
  return latencyBehaviour(
    p50Ms,
    p99Ms,
    errorRate,
    code === undefined ? DEFAULT_ERROR_CODE : Math.round(code),
  );
}

export function latencyBehaviour(p50Ms: number, p99Ms: number, errorRate = 0, errorCode = 500): Behaviour {
  return {
    errorRate,
    errorCode,
    p50Ms,
    p99Ms,
    mu: Math.log(p50Ms),
    sigma: Math.max(0, Math.log(p99Ms / p50Ms) / Z99),
  };
}

/** Pods whose behaviour annotations are equal behave alike; used to group endpoints. */
export function behaviourKey(annotations: Labels): string {
  return [ERROR_RATE_ANNOTATION, ERROR_CODE_ANNOTATION, LATENCY_P50_ANNOTATION, LATENCY_P99_ANNOTATION]
    .map((k) => annotations[k] ?? "")
    .join("|");
}

/** Latency for uniform u in (0, 1): inverse-CDF sampling of the log-normal. */
export function sampleLatencyMs(b: Behaviour, u: number): number {
  if (b.sigma === 0) return b.p50Ms;
  // Keep u away from 0 so a 0 from the generator does not give a 0 ms latency.
  return Math.exp(b.mu + b.sigma * normalQuantile(Math.max(u, 1e-12)));
}

export function latencyCdf(b: Behaviour, ms: number): number {
  if (ms <= 0) return 0;
  if (b.sigma === 0) return ms >= b.p50Ms ? 1 : 0;
  return normalCdf((Math.log(ms) - b.mu) / b.sigma);
}

export function latencyQuantile(b: Behaviour, q: number): number {
  return Math.exp(b.mu + b.sigma * normalQuantile(q));
}
