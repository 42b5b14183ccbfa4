// kubectl wren, the real executable as a subprocess, against rollouts the real
// controller drives on the testbed.
import { CoreV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { runCliProcess } from "../../src/cli/subprocess.ts";
import { canaryStatus, deployCanary, revision } from "../support/canary.ts";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { testbed, testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("cli");
useController(ns);

const wren = (...args: string[]) =>
  runCliProcess(["-n", ns.name, ...args], { kubeconfig: testbed().kubeconfig });

/** A Canary at Initialized, then revision 2 with `errorRate` (none when negative). */
async function deployed(name: string, interval: string, errorRate = 0): Promise<void> {
  const analysis = {
    interval,
    threshold: 2,
    maxWeight: 30,
    stepWeight: 10,
    metrics: [{ name: "request-success-rate", thresholdRange: { min: 95 }, interval: "10s" }],
  };
  await deployCanary(ns.name, name, analysis);
  if (errorRate >= 0) await apply(revision(ns.name, name, "example.com/app:2", { errorRate }, 1));
}

describe("kubectl wren", () => {
  it("promote advances exactly one step, --full skips the rest; get and status show it", async () => {
    await deployed("manual", "10m");
    await eventually("weight 10", async () =>
      expect((await canaryStatus(ns.name, "manual")).canaryWeight).toBe(10),
    );
    const promote = await wren("promote", "manual");
    expect(promote.code, promote.stderr).toBe(0);
    expect((await canaryStatus(ns.name, "manual")).canaryWeight).toBe(20);
    const get = await wren("get");
    expect(get.stdout).toMatch(/Canary\s+manual\s+Progressing\s+20%\s+2\/3/);
    const json = await wren("get", "manual", "-o", "json");
    expect(JSON.parse(json.stdout)).toBeTruthy();
    const status = await wren("status", "manual");
    expect(status.stdout).toContain("primary 80%, canary 20%");
    const full = await wren("promote", "manual", "--full");
    expect(full.code, full.stderr).toBe(0);
    const watch = await wren("watch", "manual", "--timeout", "90s");
    expect(watch.code, watch.stdout + watch.stderr).toBe(0);
    expect((await canaryStatus(ns.name, "manual")).phase).toBe("Succeeded");
  });

  it("pause holds, resume continues, abort rolls back, retry restarts", async () => {
    await deployed("steered", "10m");
    await eventually("weight 10", async () =>
      expect((await canaryStatus(ns.name, "steered")).canaryWeight).toBe(10),
    );
    expect((await wren("pause", "steered")).code).toBe(0);
    expect((await canaryStatus(ns.name, "steered")).phase).toBe("Paused");
    const held = await wren("promote", "steered");
    expect(held.code).toBe(1);
    expect(held.stdout + held.stderr).toMatch(/ignored/);
    expect((await wren("resume", "steered")).code).toBe(0);
    expect((await canaryStatus(ns.name, "steered")).phase).toBe("Progressing");
    expect((await wren("abort", "steered")).code).toBe(0);
    expect((await canaryStatus(ns.name, "steered")).phase).toBe("Failed");
    expect((await wren("retry", "steered")).code).toBe(0);
    const retried = await canaryStatus(ns.name, "steered");
    expect(retried.phase).toBe("Progressing");
    expect(retried.failedChecks).toBe(0);
  });

  it("watch exits 0 on success and non-zero on failure", async () => {
    await deployed("good", "3s");
    const good = await wren("watch", "good", "--timeout", "90s");
    expect(good.code, good.stdout + good.stderr).toBe(0);
    await deployed("bad", "3s", 0.3);
    const bad = await wren("watch", "bad", "--timeout", "90s");
    expect(bad.code).toBe(1);
    expect((await canaryStatus(ns.name, "bad")).phase).toBe("Failed");
  });

  it("tells a read-only user that RBAC forbids promote", async () => {
    const n = ns.name;
    const kc = testbedKubeConfig();
    await kc
      .makeApiClient(CoreV1Api)
      .createNamespacedServiceAccount({ namespace: n, body: { metadata: { name: "viewer" } } });
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: n,
      body: {
        metadata: { name: "wren-viewer" },
        rules: [{ apiGroups: ["wren.dev"], resources: ["canaries"], verbs: ["get", "list", "watch"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: n,
      body: {
        metadata: { name: "wren-viewer" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "wren-viewer" },
        subjects: [{ kind: "ServiceAccount", name: "viewer", namespace: n }],
      },
    });
    const token = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      name: "viewer",
      namespace: n,
      body: { spec: { expirationSeconds: 600 } },
    });
    const cluster = kc.getCurrentCluster();
    const viewerConfig = {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "testbed", cluster: { server: cluster?.server, "insecure-skip-tls-verify": true } }],
      users: [{ name: "viewer", user: { token: token.status?.token } }],
      contexts: [{ name: "viewer", context: { cluster: "testbed", user: "viewer", namespace: n } }],
      "current-context": "viewer",
    };
    const { writeFileSync, mkdtempSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const file = join(mkdtempSync(join(tmpdir(), "wren-viewer-")), "kubeconfig");
    writeFileSync(file, JSON.stringify(viewerConfig));
    await deployed("guarded", "10m", -1);
    const get = await runCliProcess(["get"], { kubeconfig: file });
    expect(get.code, get.stderr).toBe(0);
    const promote = await runCliProcess(["promote", "guarded"], { kubeconfig: file });
    expect(promote.code).not.toBe(0);
    expect(promote.stderr).toMatch(/may not patch canaries\.wren\.dev in namespace/);
  });
});
