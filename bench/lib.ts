// What the benchmarks share: the running testbed, the controller as a process,
// and reading a process's CPU and memory from /proc.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { freePort } from "../test/testbed/processes.ts";
import type { TestbedState } from "../test/testbed/state.ts";
import { up } from "../test/testbed/testbed.ts";

export async function testbed(): Promise<{ state: TestbedState; kc: KubeConfig }> {
  const state = await up();
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  return { state, kc };
}

export async function freshNamespace(kc: KubeConfig, name: string): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  await api.deleteNamespace({ name }).catch(() => undefined);
  await until(`namespace ${name} gone`, 120_000, async () => {
    try {
      await api.readNamespace({ name });
      return false;
    } catch {
      return true;
    }
  });
  await api.createNamespace({ body: { metadata: { name, labels: { "istio-injection": "enabled" } } } });
}

export async function until(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface ControllerProcess {
  child: ChildProcess;
  metricsUrl: string;
  stop(): Promise<void>;
}

/** Starts node src/main.ts for one namespace, logging at warn (logging every decision is its own benchmark). */
export async function startController(
  state: TestbedState,
  namespace: string,
  workers = 4,
): Promise<ControllerProcess> {
  const port = await freePort();
  const log = createWriteStream(join(tmpdir(), `wren-bench-${namespace}.log`));
  // WREN_CONTROLLER_NODE_FLAGS, e.g. --max-old-space-size=128, as a container's command line would set.
  const nodeFlags = (process.env.WREN_CONTROLLER_NODE_FLAGS ?? "").split(" ").filter(Boolean);
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      // WREN_BENCH_CONTROLLER=dist measures the compiled build the image runs (npm run build first).
      join(
        import.meta.dirname,
        process.env.WREN_BENCH_CONTROLLER === "dist" ? "../dist/main.js" : "../src/main.ts",
      ),
      `--kubeconfig=${state.kubeconfig}`,
      `--namespace=${namespace}`,
      `--lease-namespace=${namespace}`,
      `--metrics-address=127.0.0.1:${port}`,
      `--prometheus-url=${state.prometheus.url}`,
      `--workers=${workers}`,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WREN_LOG_LEVEL: process.env.WREN_LOG_LEVEL ?? "warn" },
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const metricsUrl = `http://127.0.0.1:${port}`;
  await until("controller ready", 30_000, async () => (await fetch(`${metricsUrl}/readyz`)).ok);
  return {
    child,
    metricsUrl,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident memory of a process, in MB. */
export function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return Number(line?.[1] ?? 0) / 1024;
}

/** Sum of a counter (all label sets) in a Prometheus text exposition. */
export async function counterTotal(metricsUrl: string, name: string, labelFilter = ""): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => l.includes(labelFilter))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

export function customObjects(kc: KubeConfig): CustomObjectsApi {
  return kc.makeApiClient(CustomObjectsApi);
}
