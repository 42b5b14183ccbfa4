// Finds the testbed's binaries: an explicit folder first (WREN_TESTBED_BIN, or
// KUBEBUILDER_ASSETS as envtest lays it out), then the version-keyed cache,
// building into the cache whatever is missing.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { binaryCacheDir, testbedDir } from "./paths.ts";

export const binaryNames = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubectl",
  "kwok",
  "kwokctl",
] as const;
export type BinaryName = (typeof binaryNames)[number];
export type Binaries = Record<BinaryName, string>;

function explicitDirs(): string[] {
  return [process.env.WREN_TESTBED_BIN, process.env.KUBEBUILDER_ASSETS].filter(
    (d): d is string => d !== undefined && d !== "",
  );
}

function locate(name: BinaryName): string | undefined {
  for (const dir of [...explicitDirs(), binaryCacheDir]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** Paths of every testbed binary, building the missing ones from Go modules (slow only the first time). */
export function ensureBinaries(): Binaries {
  const missing = binaryNames.filter((name) => locate(name) === undefined);
  if (missing.length > 0) {
    console.error(
      `testbed: building ${missing.join(", ")} into ${binaryCacheDir} (a cold build takes a while)`,
    );
    const started = Date.now();
    const result = spawnSync("bash", [join(testbedDir, "build-binaries.sh"), binaryCacheDir, ...missing], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (result.status !== 0) throw new Error(`building the testbed binaries failed (exit ${result.status})`);
    console.error(`testbed: binaries built in ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }
  const found: Partial<Binaries> = {};
  for (const name of binaryNames) {
    const path = locate(name);
    if (path === undefined) throw new Error(`testbed binary ${name} is missing after the build`);
    found[name] = path;
  }
  return found as Binaries;
}
