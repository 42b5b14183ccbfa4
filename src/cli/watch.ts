// `kubectl wren watch NAME`: the status view, live, until the rollout ends.
// Polls once a second. On a terminal it redraws in place; elsewhere (CI logs,
// pipes) it prints one line per change and the full view at the end.
// Exit codes: 0 succeeded, 1 failed (or deleted), 2 timed out.
import { age } from "./age.ts";
import type { Cluster } from "./cluster.ts";
import { formatDuration } from "./duration.ts";
import { CliError } from "./errors.ts";
import type { RolloutEvent } from "./events.ts";
import { buildHistory, type Observation } from "./history.ts";
import type { CliDeps, OutputFormat } from "./io.ts";
import { printData } from "./output.ts";
import type { FoundRollout, RolloutObject } from "./rollout.ts";
import { readEvents, readTargetRevision } from "./status.ts";
import { renderStatus, type StatusReport } from "./status-view.ts";
import { type Outcome, type RolloutSummary, stepText, withUnit } from "./summary.ts";
import { truncate } from "./table.ts";
import { summarize, viewFor } from "./views.ts";

export interface WatchOptions {
  /** Give up (exit 2) after this long; 0 waits forever. */
  timeoutMs: number;
  /** Time between polls. */
  intervalMs?: number;
  output?: OutputFormat;
}

/** Exit code of a watch that timed out. */
export const timeoutExitCode = 2;
/** Consecutive failed polls tolerated (API server restarting, network blip) before giving up. */
const maxFailedPollsMs = 60_000;
/** Events are re-read when the object changes, and at least this often. */
const eventsEveryMs = 5000;

/** What counts as a change worth a line: everything a person watching would want to notice. */
export function changeKey(s: RolloutSummary): string {
  return JSON.stringify([
    s.phase,
    s.weight,
    s.step,
    s.ready?.reason,
    s.ready?.message,
    s.metrics.map((m) => m.time),
    s.lastAction?.id,
    s.pendingAction?.id,
  ]);
}

/** The line printed (without a terminal) when a rollout changes. */
export function changeLines(
  label: string,
  previous: RolloutSummary | undefined,
  s: RolloutSummary,
  at: Date,
): string[] {
  const time = at.toISOString();
  const why = s.ready === undefined ? "" : `; ${s.ready.reason}: ${s.ready.message}`;
  const lines = [
    `${time} ${label}: ${s.phase ?? "no status"}, weight ${s.weight}, step ${stepText(s.step)}${why}`,
  ];
  for (const m of s.metrics) {
    const before = previous?.metrics.find((p) => p.name === m.name);
    if (m.time === undefined || m.time === before?.time) continue;
    lines.push(
      `${time}   ${m.name} ${withUnit(m.value, m.unit)} ${m.verdict ?? "-"} (threshold ${m.threshold})`,
    );
  }
  const a = s.lastAction;
  if (a !== undefined && a.id !== previous?.lastAction?.id) {
    lines.push(
      `${time}   manual action ${a.action}${a.requestedBy ? ` by ${a.requestedBy}` : ""}: ${a.result ?? "?"}`,
    );
  }
  return lines;
}

/** One line summing up where a rollout stands. */
function standing(s: RolloutSummary): string {
  return `${s.phase ?? "no status"}, weight ${s.weight}, step ${stepText(s.step)}`;
}

/** Runs `watch`; returns the exit code. */
export async function runWatch(
  deps: CliDeps,
  cluster: Cluster,
  found: FoundRollout,
  options: WatchOptions,
): Promise<number> {
  const { kind } = found;
  const namespace = found.object.metadata?.namespace ?? "";
  const name = found.object.metadata?.name ?? "";
  const label = `${kind.singular} ${namespace}/${name}`;
  const view = viewFor(kind);
  const machine = options.output === "json" || options.output === "yaml" ? options.output : undefined;
  const tty = deps.stdout.isTTY === true && machine === undefined;
  const interval = options.intervalMs ?? 1000;
  const started = deps.now();

  const observations: Observation[] = [];
  let object: RolloutObject = found.object;
  let previous: RolloutSummary | undefined;
  let events: RolloutEvent[] = [];
  let eventsNote: string | undefined;
  let eventsReadAt = Number.NEGATIVE_INFINITY;
  let eventsVersion: string | undefined;
  let failingSince: number | undefined;
  let pollNote: string | undefined;

  for (let first = true; ; first = false) {
    const now = deps.now();
    if (!first) {
      let current: RolloutObject | undefined;
      try {
        current = await cluster.get(kind, namespace, name);
        failingSince = undefined;
        pollNote = undefined;
      } catch (error) {
        if (!(error instanceof CliError)) throw error;
        failingSince ??= now.getTime();
        if (now.getTime() - failingSince > maxFailedPollsMs) throw error;
        const since = age(new Date(failingSince).toISOString(), now);
        pollNote = `${error.message} (retrying; showing what was read ${since} ago)`;
        current = object;
      }
      if (current === undefined) throw new CliError(`${label} was deleted`);
      object = current;
    }
    const version = object.metadata?.resourceVersion;
    if (version !== eventsVersion || now.getTime() - eventsReadAt >= eventsEveryMs) {
      ({ events, note: eventsNote } = await readEvents(cluster, { kind, object }));
      eventsReadAt = now.getTime();
      eventsVersion = version;
    }
    const target = await readTargetRevision(cluster, found, object);
    const summary = summarize(kind, object, now);
    const judged = view.outcome(object, target.revision);
    // Never end on a guess: when the target could not be read for a passing reason, look again.
    const outcome: Outcome =
      judged.state !== "running" && target.uncertain
        ? { state: "running", reason: "cannot read the target right now" }
        : judged;
    const changed = previous === undefined || changeKey(previous) !== changeKey(summary);
    if (changed) {
      observations.push({ at: now.toISOString(), summary });
      if (observations.length > 1000) observations.shift();
    }
    const notes = [eventsNote, target.note, pollNote].filter((n): n is string => n !== undefined);
    const report: StatusReport = {
      summary,
      events,
      history: buildHistory(events, observations, eventsNote === undefined, summary.kind),
      outcome,
      ...(notes.length === 0 ? {} : { notes }),
    };

    if (tty) {
      const elapsed = formatDuration(Math.floor((now.getTime() - started.getTime()) / 1000) * 1000);
      const limit = options.timeoutMs > 0 ? `, timeout ${formatDuration(options.timeoutMs)}` : "";
      const header = `kubectl wren watch ${kind.singular}/${name} -n ${namespace}: every ${formatDuration(interval)}, ${elapsed} elapsed${limit} (Ctrl-C stops)`;
      const frame = `${header}\n\n${renderStatus(report, { now, eventLimit: 5 })}`;
      const columns = deps.stdout.columns ?? 0;
      // A frame taller or wider than the terminal would scroll, and redrawing in place would smear.
      const rows = deps.stdout.rows ?? 0;
      const all = frame.split("\n").map((l) => (columns > 0 ? truncate(l, columns) : l));
      const lines = rows > 1 && all.length > rows - 1 ? all.slice(0, rows - 1) : all;
      deps.stdout.write(`\x1b[H${lines.map((l) => `${l}\x1b[K`).join("\n")}\x1b[J`);
    } else if (changed) {
      if (machine !== undefined) {
        const data = { time: now.toISOString(), ...summary, outcome };
        if (machine === "json") deps.stdout.write(`${JSON.stringify(data)}\n`);
        else {
          deps.stdout.write("---\n");
          printData(deps.stdout, data, "yaml");
        }
      } else {
        deps.stdout.write(`${changeLines(label, previous, summary, now).join("\n")}\n`);
      }
    }
    previous = summary;

    if (outcome.state !== "running") {
      if (!tty && machine === undefined) deps.stdout.write(`\n${renderStatus(report, { now })}`);
      if (machine === undefined) {
        const line = `${label} ${outcome.state}: ${outcome.reason}\n`;
        if (tty) deps.stdout.write("\n");
        (outcome.state === "succeeded" ? deps.stdout : deps.stderr).write(line);
      }
      return outcome.state === "succeeded" ? 0 : 1;
    }
    if (options.timeoutMs > 0 && now.getTime() - started.getTime() >= options.timeoutMs) {
      if (tty) deps.stdout.write("\n");
      if (!tty && machine === undefined) deps.stdout.write(`\n${renderStatus(report, { now })}`);
      deps.stderr.write(
        `timed out after ${formatDuration(options.timeoutMs)} waiting for ${label}: ${standing(summary)} (${outcome.reason})\n`,
      );
      return timeoutExitCode;
    }
    await deps.sleep(interval);
  }
}
