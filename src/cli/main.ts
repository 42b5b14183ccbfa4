#!/usr/bin/env node
// kubectl-wren: the executable. kubectl runs it as `kubectl wren ...` when it is on PATH.
import { runCli } from "./program.ts";

// `kubectl wren get | head -1` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}

const code = await runCli(process.argv.slice(2));
// Let stdout and stderr drain before exiting: a pipe to a slow reader must get everything.
await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
await new Promise<void>((resolve) => process.stderr.write("", () => resolve()));
process.exit(code);
