// Vitest global setup: brings the testbed up once per run (or reuses a running
// one, which it then leaves running) and tells test files how to reach it.
import type { TestProject } from "vitest/node";
import type { TestbedContext } from "../support/testbed.ts";
import { readState } from "../testbed/state.ts";
import { down, health, up } from "../testbed/testbed.ts";

declare module "vitest" {
  export interface ProvidedContext {
    testbed: TestbedContext;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const running = readState();
  const reused = running !== undefined && Object.values(await health(running)).every(Boolean);
  const state = await up();
  project.provide("testbed", {
    kubeconfig: state.kubeconfig,
    prometheusUrl: state.prometheus.url,
    meshsimUrl: state.meshsim.url,
  });
  return async () => {
    if (!reused) await down();
  };
}
