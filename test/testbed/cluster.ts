// The testbed's Kubernetes: a kwokctl cluster on the binary runtime, built from
// our own binaries, with KWOK nodes so Deployments really roll out.
import { delimiter, dirname, join } from "node:path";
import type { Binaries } from "./binaries.ts";
import { clusterName, versions } from "./paths.ts";
import { run } from "./processes.ts";

/** Environment for kwokctl: its work dir under our state dir, and kubectl on PATH (kwokctl calls it). */
export function kwokctlEnv(binaries: Binaries, kwokWorkdir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KWOK_WORKDIR: kwokWorkdir,
    KWOK_KUBE_VERSION: versions.K8S_VERSION,
    PATH: [dirname(binaries.kubectl), process.env.PATH ?? ""].join(delimiter),
  };
}

/** Creates and starts the cluster; writes its admin kubeconfig to kubeconfigFile. */
export function createCluster(
  binaries: Binaries,
  kwokWorkdir: string,
  kubeconfigFile: string,
  apiserverPort: number,
  nodes: number,
): void {
  const env = kwokctlEnv(binaries, kwokWorkdir);
  run(
    binaries.kwokctl,
    [
      "create",
      "cluster",
      `--name=${clusterName}`,
      "--runtime=binary",
      `--kube-apiserver-port=${apiserverPort}`,
      "--kube-authorization=true",
      "--kube-admission=true",
      `--kubeconfig=${kubeconfigFile}`,
      `--etcd-binary=${binaries.etcd}`,
      `--kube-apiserver-binary=${binaries["kube-apiserver"]}`,
      `--kube-controller-manager-binary=${binaries["kube-controller-manager"]}`,
      `--kube-scheduler-binary=${binaries["kube-scheduler"]}`,
      `--kwok-controller-binary=${binaries.kwok}`,
      "--disable-qps-limits",
      // The default /24 holds 254 Services; a benchmark of 200 Canaries makes 600.
      "--extra-args=kube-apiserver=service-cluster-ip-range=10.0.0.0/16",
      "--wait=3m",
    ],
    env,
  );
  run(binaries.kwokctl, ["scale", "node", `--name=${clusterName}`, `--replicas=${nodes}`], env);
}

/** Stops and deletes the cluster and everything kwokctl started for it. */
export function deleteCluster(binaries: Binaries, kwokWorkdir: string, kubeconfigFile: string): void {
  run(
    binaries.kwokctl,
    ["delete", "cluster", `--name=${clusterName}`, `--kubeconfig=${kubeconfigFile}`],
    kwokctlEnv(binaries, kwokWorkdir),
  );
}

/** kubectl against the testbed. */
export function kubectl(binaries: Binaries, kubeconfigFile: string, args: string[]): string {
  return run(binaries.kubectl, [`--kubeconfig=${kubeconfigFile}`, ...args]);
}

/** Folder of the kwokctl cluster's own files (component logs, pki). */
export function clusterDir(kwokWorkdir: string): string {
  return join(kwokWorkdir, "clusters", clusterName);
}
