// Durations given on the command line: --timeout 10m, --wait 5s, --request-timeout 30s.
import { durationMs } from "../strategies/duration.ts";
import { CliError } from "./errors.ts";

/** Milliseconds in a flag value such as `5s`, `10m`, `1h30m` or `0` (none); throws a CliError otherwise. */
export function parseFlagDuration(flag: string, value: string): number {
  if (/^0+$/.test(value)) return 0;
  try {
    return durationMs(value);
  } catch {
    throw new CliError(`invalid ${flag} "${value}": use a duration such as 5s, 10m or 1h30m (0 for none)`);
  }
}

/** A duration in the shortest form that reads well: 500ms, 5s, 10m, 1h30m. */
export function formatDuration(ms: number): string {
  if (ms > 0 && ms < 1000) return `${ms}ms`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return [h ? `${h}h` : "", m ? `${m}m` : "", s ? `${s}s` : ""].join("") || "0s";
}
