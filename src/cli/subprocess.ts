// Running the real executable as a child process, the way kubectl runs a plugin:
// for end-to-end tests (`node src/cli/main.ts --kubeconfig ... get`).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Absolute path of the executable (the package.json bin entry). */
export const cliEntry = fileURLToPath(new URL("./main.ts", import.meta.url));

export interface CliProcessOptions {
  /** Passed as --kubeconfig before the arguments. */
  kubeconfig?: string;
  /** Extra environment; the child inherits the rest. */
  env?: Record<string, string | undefined>;
  /** Kill the child after this long (default 120s). */
  timeoutMs?: number;
}

export interface CliProcessResult {
  /** Exit code; null when the child was killed (timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `kubectl-wren <args>` with the current Node and resolves when it exits. */
export function runCliProcess(args: string[], options: CliProcessOptions = {}): Promise<CliProcessResult> {
  const argv = [
    cliEntry,
    ...(options.kubeconfig === undefined ? [] : ["--kubeconfig", options.kubeconfig]),
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
