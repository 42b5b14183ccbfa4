// up | down | status | env for the testbed: a real cluster, a real Prometheus, meshsim.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig, VersionApi } from "@kubernetes/client-node";
import { applyObjects, readManifests, waitForCrds } from "./apply.ts";
import { ensureBinaries } from "./binaries.ts";
import { createCluster, deleteCluster } from "./cluster.ts";
import { repoDir, stateDir, testbedDir } from "./paths.ts";
import { freePort, httpOk, isAlive, startDetached, stopProcessGroup, waitUntil } from "./processes.ts";
import { ensurePrometheus, prometheusArgs, startPrometheus, writePrometheusConfig } from "./prometheus.ts";
import { clearState, readState, type TestbedState, writeState } from "./state.ts";

/** A process's command line, or "" when it is gone. */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

function log(message: string): void {
  console.error(`testbed: ${message}`);
}

async function timed<T>(what: string, action: () => Promise<T> | T): Promise<T> {
  const started = Date.now();
  const result = await action();
  log(`${what} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return result;
}

function kubeConfig(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

async function apiserverReady(kubeconfig: string): Promise<boolean> {
  try {
    await kubeConfig(kubeconfig).makeApiClient(VersionApi).getCode();
    return true;
  } catch {
    return false;
  }
}

/** Health of each part of a running testbed. */
export async function health(state: TestbedState): Promise<Record<string, boolean>> {
  return {
    apiserver: await apiserverReady(state.kubeconfig),
    prometheus: isAlive(state.prometheus.pid) && (await httpOk(`${state.prometheus.url}/-/ready`)),
    meshsim: isAlive(state.meshsim.pid) && (await httpOk(`${state.meshsim.url}/healthz`)),
  };
}

/** The manifests every testbed gets: Istio's networking CRDs and Wren's own. */
function crdFiles(): string[] {
  const wrenCrds = join(repoDir, "crds");
  const files = [join(testbedDir, "istio-crds.yaml")];
  if (existsSync(wrenCrds)) {
    const names = readdirSync(wrenCrds).filter((f) => f.endsWith(".wren.dev.yaml"));
    for (const name of names.sort()) files.push(join(wrenCrds, name));
  }
  return files;
}

/** Installs (or updates) the CRDs and the default istiod, and waits until the API server serves the CRDs. */
export async function installCrds(kubeconfig: string): Promise<void> {
  const kc = kubeConfig(kubeconfig);
  const objects = crdFiles().flatMap(readManifests);
  await applyObjects(kc, objects);
  await waitForCrds(
    kc,
    objects.map((o) => o.metadata?.name ?? ""),
  );
  await applyObjects(kc, readManifests(join(testbedDir, "istio-control-plane.yaml")));
}

function startMeshsim(kubeconfig: string, port: number, logFile: string): number {
  return startDetached(
    process.execPath,
    [join(repoDir, "test/meshsim/main.ts"), `--kubeconfig=${kubeconfig}`, `--port=${port}`],
    logFile,
  );
}

/** Brings the testbed up, or reuses the one already running. */
export async function up(): Promise<TestbedState> {
  const existing = readState();
  if (existing) {
    const parts = await health(existing);
    if (Object.values(parts).every(Boolean)) {
      log(`reusing the running testbed (started ${existing.startedAt})`);
      await installCrds(existing.kubeconfig);
      return existing;
    }
    log(`the recorded testbed is unhealthy (${JSON.stringify(parts)}); replacing it`);
    await down();
  }
  const started = Date.now();
  mkdirSync(stateDir, { recursive: true });
  const external = process.env.WREN_TEST_KUBECONFIG;
  const kwokWorkdir = join(stateDir, "kwok");
  let kubeconfig: string;
  if (external) {
    kubeconfig = external;
    log(`using the existing cluster of WREN_TEST_KUBECONFIG=${external}`);
  } else {
    const binaries = await timed("binaries ready", () => ensureBinaries());
    kubeconfig = join(stateDir, "kubeconfig");
    const apiserverPort = await freePort();
    await timed("cluster started", () => createCluster(binaries, kwokWorkdir, kubeconfig, apiserverPort, 10));
  }
  const prometheusBinary = ensurePrometheus();
  // Record what we start as we start it, so a failure half-way can still be cleaned up by `down`.
  const state: TestbedState = {
    externalCluster: Boolean(external),
    kubeconfig,
    kwokWorkdir,
    prometheus: { url: "", port: 0, pid: 0, binary: prometheusBinary, args: [], log: "", targetsDir: "" },
    meshsim: { url: "", port: 0, pid: 0, log: "" },
    startedAt: new Date().toISOString(),
  };
  writeState(state);
  await timed("CRDs installed", () => installCrds(kubeconfig));

  const meshsimPort = await freePort();
  state.meshsim = {
    port: meshsimPort,
    url: `http://127.0.0.1:${meshsimPort}`,
    log: join(stateDir, "meshsim.log"),
    pid: 0,
  };
  state.meshsim.pid = startMeshsim(kubeconfig, meshsimPort, state.meshsim.log);
  writeState(state);
  await timed("meshsim ready", () =>
    waitUntil(`meshsim (log: ${state.meshsim.log})`, 60_000, () => httpOk(`${state.meshsim.url}/healthz`)),
  );

  const promDir = join(stateDir, "prometheus");
  rmSync(promDir, { recursive: true, force: true });
  mkdirSync(promDir, { recursive: true });
  const { configFile, targetsDir } = writePrometheusConfig(promDir, meshsimPort);
  const promPort = await freePort();
  const url = `http://127.0.0.1:${promPort}`;
  const args = prometheusArgs(configFile, join(promDir, "data"), promPort);
  state.prometheus = {
    url,
    port: promPort,
    pid: 0,
    binary: prometheusBinary,
    args,
    log: join(stateDir, "prometheus.log"),
    targetsDir,
  };
  state.prometheus.pid = await timed("Prometheus ready", () =>
    startPrometheus(prometheusBinary, args, state.prometheus.log, url),
  );
  writeState(state);
  log(`up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return state;
}

/** Stops everything `up` started and forgets it. */
export async function down(): Promise<void> {
  const state = readState();
  if (!state) {
    log("no testbed is running");
    return;
  }
  // A pid from an old state file may belong to another process by now: stop only ours.
  const ours: [number, string][] = [
    [state.meshsim.pid, "meshsim"],
    [state.prometheus.pid, "prometheus"],
  ];
  for (const [pid, name] of ours) if (pid > 0 && commandLine(pid).includes(name)) await stopProcessGroup(pid);
  if (!state.externalCluster) {
    try {
      const binaries = ensureBinaries();
      await timed("cluster deleted", () => deleteCluster(binaries, state.kwokWorkdir, state.kubeconfig));
    } catch (error) {
      log(`deleting the cluster failed: ${String(error)}`);
    }
  }
  clearState();
  log("down");
}

/** Lines a shell can eval to use the running testbed. */
export function envLines(state: TestbedState): string[] {
  return [
    `KUBECONFIG=${state.kubeconfig}`,
    `PROMETHEUS_URL=${state.prometheus.url}`,
    `MESHSIM_URL=${state.meshsim.url}`,
  ];
}

/** Stops Prometheus, keeping its data and port (tests of "Prometheus down"). */
export async function stopPrometheus(state: TestbedState): Promise<void> {
  await stopProcessGroup(state.prometheus.pid);
}

/** Starts Prometheus again on the same port with the same data. */
export async function restartPrometheus(state: TestbedState): Promise<TestbedState> {
  const pid = await startPrometheus(
    state.prometheus.binary,
    state.prometheus.args,
    state.prometheus.log,
    state.prometheus.url,
  );
  const next = { ...state, prometheus: { ...state.prometheus, pid } };
  writeState(next);
  return next;
}
