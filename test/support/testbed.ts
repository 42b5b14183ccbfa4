// How a test file reaches the testbed the global setup brought up.
import { KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";

export interface TestbedContext {
  kubeconfig: string;
  prometheusUrl: string;
  meshsimUrl: string;
}

export function testbed(): TestbedContext {
  return inject("testbed");
}

/** A KubeConfig for the testbed's admin user. */
export function testbedKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(testbed().kubeconfig);
  return kc;
}
