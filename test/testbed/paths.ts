// Where the testbed keeps its binaries and its running state.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const testbedDir = fileURLToPath(new URL(".", import.meta.url));
export const repoDir = fileURLToPath(new URL("../../", import.meta.url));

/** Pinned versions, read from versions.env so the shell build script and this code agree. */
export const versions: { K8S_VERSION: string; ETCD_VERSION: string; KWOK_VERSION: string } = (() => {
  const text = readFileSync(join(testbedDir, "versions.env"), "utf8");
  const entries = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split("=", 2) as [string, string]);
  const found = Object.fromEntries(entries);
  for (const key of ["K8S_VERSION", "ETCD_VERSION", "KWOK_VERSION"]) {
    if (!found[key]) throw new Error(`versions.env lacks ${key}`);
  }
  return found as { K8S_VERSION: string; ETCD_VERSION: string; KWOK_VERSION: string };
})();

const cacheRoot = process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache");

/** Binary cache folder, keyed by every pinned version. */
export const binaryCacheDir = join(
  cacheRoot,
  "wren",
  "testbed",
  `k8s-${versions.K8S_VERSION}_etcd-${versions.ETCD_VERSION}_kwok-${versions.KWOK_VERSION}`,
);

/** Running state (pids, ports, kubeconfig, Prometheus data) of the one testbed on this machine. */
export const stateDir = process.env.WREN_TESTBED_HOME ?? join(cacheRoot, "wren", "testbed", "run");
export const stateFile = join(stateDir, "state.json");

/** Name of the kwokctl cluster. */
export const clusterName = "wren-testbed";
