// Where the controller's credentials come from.
import { KubeConfig } from "@kubernetes/client-node";

export interface LoadKubeConfigOptions {
  /** Path to a kubeconfig file; wins over everything else. */
  kubeconfig?: string;
}

/** Loads credentials: an explicit file, else in-cluster, else KUBECONFIG or ~/.kube/config. */
export function loadKubeConfig({ kubeconfig }: LoadKubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig !== undefined && kubeconfig !== "") {
    kc.loadFromFile(kubeconfig);
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    // Inside a pod: the service account token and CA mounted by the kubelet.
    kc.loadFromCluster();
  } else {
    kc.loadFromDefault();
  }
  return kc;
}
