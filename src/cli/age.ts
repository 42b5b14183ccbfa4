// Ages as `kubectl get` prints them (k8s.io/apimachinery duration.HumanDuration).

/** A kubectl-style age for a duration in milliseconds: 5s, 3m10s, 2h, 4d5h, 3y. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  // Clocks disagree by a second or so; anything further in the future is invalid.
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return withRest(minutes, "m", seconds % 60, "s");
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return withRest(hours, "h", minutes % 60, "m");
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return withRest(days, "d", hours % 24, "h");
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return withRest(years, "y", days % 365, "d");
  return `${years}y`;
}

function withRest(amount: number, unit: string, rest: number, restUnit: string): string {
  return rest === 0 ? `${amount}${unit}` : `${amount}${unit}${rest}${restUnit}`;
}

/** The age of a timestamp at `now`, or "-" when the timestamp is missing or unreadable. */
export function age(timestamp: string | undefined, now: Date): string {
  if (timestamp === undefined) return "-";
  const time = Date.parse(timestamp);
  if (Number.isNaN(time)) return "-";
  return humanDuration(now.getTime() - time);
}
