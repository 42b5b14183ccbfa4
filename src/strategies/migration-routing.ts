// The routing a Migration's status implies, and how a phase's percent is split
// across its new services. Pure: the single source of truth for the VirtualService.
import type { MigrationDestination, MigrationPhaseStatus, MigrationSpec } from "../api/migration.ts";

/** The routes of one phase: its opt-in route and its match route at `percent`. */
export interface PhaseRouting {
  name: string;
  /** Percent of the phase's matched requests on its new services (the rest to the monolith). */
  percent: number;
}

/** Desired routing of a Migration: the phases that have routes, in spec order; the monolith takes the rest. */
export interface MigrationRouting {
  phases: PhaseRouting[];
}

/** A new service's share of a phase's requests, in whole percent. */
export interface ServiceShare {
  service: string;
  port: number;
  percent: number;
}

/**
 * Splits `percent` across `to` by weight in whole percents that add up to exactly
 * `percent` (largest remainder; ties go to the earlier service).
 */
export function splitPercent(percent: number, to: readonly MigrationDestination[]): ServiceShare[] {
  const weight = (d: MigrationDestination) => d.weight ?? 100 / to.length;
  const exact = to.map((d) => (percent * weight(d)) / 100);
  const shares = exact.map(Math.floor);
  let left = percent - shares.reduce((a, b) => a + b, 0);
  const order = exact
    .map((value, i) => ({ i, fraction: value - Math.floor(value) }))
    .sort((a, b) => b.fraction - a.fraction || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    shares[i] = (shares[i] ?? 0) + 1;
    left--;
  }
  return to.map((d, i) => ({ service: d.service, port: d.port, percent: shares[i] ?? 0 }));
}

/** Phases route while active (at their percent) and once completed (at 100%); the others not at all. */
export function routingFor(spec: MigrationSpec, phases: readonly MigrationPhaseStatus[]): MigrationRouting {
  const routed: PhaseRouting[] = [];
  for (const p of spec.phases) {
    const state = phases.find((s) => s.name === p.name);
    if (state === undefined) continue;
    if (state.state === "Progressing" || state.state === "Paused" || state.state === "Succeeded") {
      routed.push({ name: p.name, percent: state.state === "Succeeded" ? 100 : state.percent });
    }
  }
  return { phases: routed };
}
