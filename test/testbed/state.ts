// The running testbed's state file: the only record of what `up` started.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { stateFile } from "./paths.ts";

export interface TestbedState {
  /** True when the cluster is an existing one (WREN_TEST_KUBECONFIG) that we must not delete. */
  externalCluster: boolean;
  kubeconfig: string;
  kwokWorkdir: string;
  prometheus: {
    url: string;
    port: number;
    pid: number;
    binary: string;
    args: string[];
    log: string;
    targetsDir: string;
  };
  meshsim: { url: string; port: number; pid: number; log: string };
  startedAt: string;
}

export function readState(): TestbedState | undefined {
  if (!existsSync(stateFile)) return undefined;
  return JSON.parse(readFileSync(stateFile, "utf8")) as TestbedState;
}

export function writeState(state: TestbedState): void {
  mkdirSync(dirname(stateFile), { recursive: true });
  writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);
}

export function clearState(): void {
  rmSync(stateFile, { force: true });
}
