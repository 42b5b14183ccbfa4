// The real controller as a subprocess, scoped to one test namespace, so tests can
// kill it (SIGKILL included) and start it again.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll } from "vitest";
import { freePort } from "../testbed/processes.ts";
import { eventually } from "./eventually.ts";
import { testbed } from "./testbed.ts";

const mainTs = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

export interface RunningController {
  identity: string;
  metricsUrl: string;
  logFile: string;
  process: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface ControllerOptions {
  namespace: string;
  /** Run as someone else than the testbed's admin (e.g. the deploy/ ServiceAccount). */
  kubeconfig?: string;
  /** Where the Lease lives; the test namespace by default. */
  leaseNamespace?: string;
  identity?: string;
  prometheusUrl?: string;
  leaderElect?: boolean;
}

/** Starts the controller (node src/main.ts) watching only `namespace`, with its Lease there too. */
export async function startController(options: ControllerOptions): Promise<RunningController> {
  const port = await freePort();
  const identity = options.identity ?? `wren-${port}`;
  const logDir = join(tmpdir(), "wren-test-logs");
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${options.namespace}-${identity}.log`);
  const child = spawn(
    process.execPath,
    [
      mainTs,
      `--kubeconfig=${options.kubeconfig ?? testbed().kubeconfig}`,
      `--namespace=${options.namespace}`,
      `--lease-namespace=${options.leaseNamespace ?? options.namespace}`,
      `--identity=${identity}`,
      `--leader-elect=${options.leaderElect ?? true}`,
      `--metrics-address=127.0.0.1:${port}`,
      `--prometheus-url=${options.prometheusUrl ?? testbed().prometheusUrl}`,
      "--workers=2",
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WREN_LOG_LEVEL: "debug" } },
  );
  const log = createWriteStream(logFile);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const metricsUrl = `http://127.0.0.1:${port}`;
  await eventually(
    `controller ${identity} ready (log: ${logFile})`,
    async () => {
      if (child.exitCode !== null)
        throw new Error(`controller exited with ${child.exitCode}; see ${logFile}`);
      const response = await fetch(`${metricsUrl}/readyz`);
      if (!response.ok) throw new Error(`readyz ${response.status}`);
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  return {
    identity,
    metricsUrl,
    logFile,
    process: child,
    exited,
    async kill(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/**
 * A controller for the calling test file's namespace: started in beforeAll,
 * stopped in afterAll. `.current` is the running process.
 */
export function useController(
  ns: { name: string },
  options: Omit<ControllerOptions, "namespace"> = {},
): { current: RunningController | undefined } {
  const handle: { current: RunningController | undefined } = { current: undefined };
  beforeAll(async () => {
    handle.current = await startController({ namespace: ns.name, ...options });
  });
  afterAll(async () => {
    await handle.current?.kill();
  });
  return handle;
}
