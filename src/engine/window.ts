// Rollout windows: cron schedules (node-cron) in a time zone, evaluated per minute.
import { createTask, type ScheduledTask } from "node-cron";
import type { TimeWindow } from "../api/common.ts";

const compiled = new Map<string, ScheduledTask>();

function task(schedule: string, timeZone: string): ScheduledTask {
  const key = `${timeZone}\u0000${schedule}`;
  let t = compiled.get(key);
  if (!t) {
    // Never started: used only to match dates and find the next run.
    t = createTask(schedule, () => undefined, { timezone: timeZone, name: `wren-window ${key}` });
    compiled.set(key, t);
  }
  return t;
}

/** Whether a rollout may advance at `now`: true without a window, else when any schedule matches the minute. */
export function windowOpen(window: TimeWindow | undefined, now: Date): boolean {
  if (!window) return true;
  const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  return window.schedules.some((s) => task(s, window.timeZone).match(minute));
}
