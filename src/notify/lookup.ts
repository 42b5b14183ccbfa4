// How the notifier reads AlertProviders and their Secrets: an interface, so the
// notifier needs no Kubernetes client, and a small adapter for the controller.

/** Reads what routing needs. Implementations should read from informer caches, not the API. */
export interface AlertProviderLookup {
  /** The AlertProvider's spec as stored (not yet validated), or undefined when there is none. */
  alertProvider(namespace: string, name: string): Promise<unknown>;
  /** The Secret's values, decoded, or undefined when there is none. */
  secret(namespace: string, name: string): Promise<Readonly<Record<string, string>> | undefined>;
}

/** The two reads the controller provides, in the shapes the Kubernetes API serves. */
export interface KubernetesReads {
  /** The AlertProvider object (only `spec` is read), or undefined. */
  readAlertProvider(namespace: string, name: string): Promise<{ spec?: unknown } | undefined>;
  /** A Secret's `data`: base64-encoded values, as the API serves them; undefined when there is no Secret. */
  readSecretData(namespace: string, name: string): Promise<Readonly<Record<string, string>> | undefined>;
}

/** Adapts Kubernetes reads to the lookup, decoding the Secret's base64 values. */
export function kubernetesLookup(reads: KubernetesReads): AlertProviderLookup {
  return {
    async alertProvider(namespace, name) {
      return (await reads.readAlertProvider(namespace, name))?.spec;
    },
    async secret(namespace, name) {
      const data = await reads.readSecretData(namespace, name);
      if (data === undefined) return undefined;
      return Object.fromEntries(
        Object.entries(data).map(([key, value]) => [key, Buffer.from(value, "base64").toString("utf8")]),
      );
    },
  };
}

/** A lookup over fixed objects, keyed `namespace/name`: for tests and the e2e receivers. */
export function staticLookup(objects: {
  alertProviders?: Readonly<Record<string, unknown>>;
  secrets?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}): AlertProviderLookup {
  return {
    alertProvider: async (namespace, name) => objects.alertProviders?.[`${namespace}/${name}`],
    secret: async (namespace, name) => objects.secrets?.[`${namespace}/${name}`],
  };
}
