// Structured logs: one JSON line per decision, with object, phase, weights and reason.
import { type Logger, pino } from "pino";

/** The process-wide logger. Level from WREN_LOG_LEVEL (default info). Secrets are redacted by key. */
export const logger: Logger = pino({
  level: process.env.WREN_LOG_LEVEL ?? "info",
  base: { component: "wren" },
  redact: {
    paths: ["*.token", "*.address", "*.url", "*.password", "*.authorization", "*.headers.authorization"],
    censor: "[redacted]",
  },
});

export type { Logger };
