import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiException } from "@kubernetes/client-node";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadKubeConfig } from "../../src/kube/client.ts";
import { isConflict, isGone, isNotFound, statusCode } from "../../src/kube/errors.ts";

function kubeconfigFile(server: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "wren-kube-")), "config");
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "${server}" } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`,
  );
  return file;
}

describe("loadKubeConfig", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("prefers an explicit file, even in a cluster", () => {
    vi.stubEnv("KUBERNETES_SERVICE_HOST", "10.0.0.1");
    vi.stubEnv("KUBERNETES_SERVICE_PORT", "443");
    const kc = loadKubeConfig({ kubeconfig: kubeconfigFile("https://explicit:6443") });
    expect(kc.getCurrentCluster()?.server).toBe("https://explicit:6443");
  });

  it("uses the in-cluster service account when running in a pod", () => {
    vi.stubEnv("KUBERNETES_SERVICE_HOST", "10.0.0.1");
    vi.stubEnv("KUBERNETES_SERVICE_PORT", "443");
    vi.stubEnv("KUBECONFIG", kubeconfigFile("https://from-env:6443"));
    expect(loadKubeConfig().getCurrentCluster()?.server).toBe("https://10.0.0.1:443");
  });

  it("falls back to KUBECONFIG outside a cluster", () => {
    vi.stubEnv("KUBERNETES_SERVICE_HOST", "");
    vi.stubEnv("KUBECONFIG", kubeconfigFile("https://from-env:6443"));
    expect(loadKubeConfig().getCurrentCluster()?.server).toBe("https://from-env:6443");
  });
});

describe("API error helpers", () => {
  it("classify ApiException codes and watch errors", () => {
    expect(isConflict(new ApiException(409, "", {}, {}))).toBe(true);
    expect(isNotFound(new ApiException(404, "", {}, {}))).toBe(true);
    expect(isGone(Object.assign(new Error("Gone"), { statusCode: 410 }))).toBe(true);
    expect(isConflict(new ApiException(404, "", {}, {}))).toBe(false);
    expect(statusCode(new Error("ECONNREFUSED"))).toBeUndefined();
    expect(statusCode("nope")).toBeUndefined();
  });
});
