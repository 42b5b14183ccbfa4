// Connecting the way kubectl does: --kubeconfig, else $KUBECONFIG, else
// ~/.kube/config, else the in-cluster service account; --context picks the
// context, -n the namespace (else the context's, else "default").

import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { type Cluster, HttpCluster } from "./cluster.ts";
import { CliError } from "./errors.ts";

export interface ConnectOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  /** 0 waits forever. */
  requestTimeoutMs: number;
}

/** Loads the kubeconfig and returns the Cluster it points at. Loads client-node lazily (it is slow to import). */
export async function connect(options: ConnectOptions): Promise<Cluster> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const { loadKubeConfig } = await import("../kube/client.ts");
  let kc: InstanceType<typeof KubeConfig>;
  try {
    if (options.kubeconfig !== undefined && options.kubeconfig !== "") {
      kc = loadKubeConfig({ kubeconfig: options.kubeconfig });
    } else {
      // Unlike the controller (loadKubeConfig prefers in-cluster credentials), a person's
      // $KUBECONFIG wins, as in kubectl.
      if (!process.env.KUBECONFIG && !existsSync(join(homedir(), ".kube", "config"))) {
        if (!process.env.KUBERNETES_SERVICE_HOST) {
          throw new CliError("no kubeconfig: set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config");
        }
      }
      kc = new KubeConfig();
      kc.loadFromDefault();
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    const file = options.kubeconfig ?? process.env.KUBECONFIG ?? "~/.kube/config";
    throw new CliError(`cannot load kubeconfig ${file}: ${error instanceof Error ? error.message : error}`);
  }
  if (options.context !== undefined) {
    const names = kc.getContexts().map((c) => c.name);
    if (!names.includes(options.context)) {
      throw new CliError(
        `context "${options.context}" not found in the kubeconfig (contexts: ${names.join(", ") || "none"})`,
      );
    }
    kc.setCurrentContext(options.context);
  }
  const context = kc.getCurrentContext();
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new CliError(
      `the kubeconfig has no cluster for context "${context}"; choose one with --context or --kubeconfig`,
    );
  }
  const namespace = options.namespace || kc.getContextObject(context)?.namespace || "default";
  return new HttpCluster(
    kc,
    { server: cluster.server, context, namespace, user: kc.getCurrentUser()?.name },
    options.requestTimeoutMs,
  );
}
