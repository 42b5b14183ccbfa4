// What commands need from the outside world besides the API server: output
// streams, the clock, sleeping, ids. Injected, so tests run commands with a
// fixed clock and captured output.
import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import type { Cluster } from "./cluster.ts";
import type { ConnectOptions } from "./connect.ts";

/** Where a command writes: stdout or stderr, or a buffer in tests. */
export interface Output {
  write(text: string): void;
  /** True on a terminal: watch redraws in place instead of printing a line per change. */
  readonly isTTY?: boolean;
  /** Terminal width, when known. */
  readonly columns?: number;
  /** Terminal height, when known. */
  readonly rows?: number;
}

export interface CliDeps {
  stdout: Output;
  stderr: Output;
  now(): Date;
  sleep(ms: number): Promise<void>;
  /** A fresh id for a manual action. */
  randomId(): string;
  connect(options: ConnectOptions): Promise<Cluster>;
}

/** -o: json, yaml or wide (extra columns, every Event). */
export type OutputFormat = "json" | "yaml" | "wide";

function processOutput(stream: NodeJS.WriteStream): Output {
  return {
    write: (text) => {
      stream.write(text);
    },
    get isTTY() {
      return stream.isTTY === true;
    },
    get columns() {
      return stream.columns;
    },
    get rows() {
      return stream.rows;
    },
  };
}

/** The real world: process streams, the system clock, the real API server. */
export function processDeps(): CliDeps {
  return {
    stdout: processOutput(process.stdout),
    stderr: processOutput(process.stderr),
    now: () => new Date(),
    sleep: (ms) => delay(ms),
    randomId: () => randomUUID(),
    connect: async (options) => (await import("./connect.ts")).connect(options),
  };
}
