// Metrics providers for MetricTemplates: the template's address and headers, and
// credentials read from the Secret it names. Secrets never reach a log line.
import type { KubeConfig } from "@kubernetes/client-node";
import type { MetricTemplateSpec } from "../api/metric-template.ts";
import { kubeRequest } from "../kube/request.ts";
import type { Logger } from "../observability/logger.ts";
import { type MetricsProvider, prometheusProvider } from "./analysis/prometheus.ts";

interface SecretData {
  data?: Record<string, string>;
}

function decode(data: Record<string, string> | undefined, key: string): string | undefined {
  const value = data?.[key];
  return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");
}

/** Returns a function giving the provider of a template, reading its Secret on each call. */
export function templateProviders(
  kc: KubeConfig,
  logger: Logger,
): (namespace: string, template: MetricTemplateSpec) => Promise<MetricsProvider> {
  return async (namespace, template) => {
    const p = template.provider;
    let bearerToken: string | undefined;
    let basicAuth: { username: string; password: string } | undefined;
    if (p.secretRef) {
      const secret = await kubeRequest<SecretData>(kc, {
        method: "GET",
        path: `/api/v1/namespaces/${namespace}/secrets/${p.secretRef.name}`,
      });
      bearerToken = decode(secret.data, "token");
      const username = decode(secret.data, "username");
      const password = decode(secret.data, "password");
      if (username !== undefined && password !== undefined) basicAuth = { username, password };
    }
    return prometheusProvider({
      address: p.address,
      headers: p.headers,
      bearerToken,
      basicAuth,
      insecureSkipVerify: p.insecureSkipVerify,
      name: `template:${namespace}`,
      logger,
    });
  };
}
