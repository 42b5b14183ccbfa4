// meshsim on the real testbed: Deployments rolled out by kube-controller-manager
// and KWOK, traffic routed by live VirtualServices, measured in Prometheus.
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.ts";
import { apply, deployment, service, traffic, virtualService } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { queryValue } from "../support/prometheus.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("meshsim");

async function readyReplicas(name: string): Promise<number> {
  const d = await testbedKubeConfig()
    .makeApiClient(AppsV1Api)
    .readNamespacedDeployment({ name, namespace: ns.name });
  return d.status?.readyReplicas ?? 0;
}

describe("meshsim on the testbed", () => {
  it("splits traffic 90/10 by a VirtualService, as Prometheus sees it", async () => {
    const n = ns.name;
    await apply(
      deployment(n, "a", { replicas: 2 }),
      deployment(n, "b", { replicas: 1 }),
      service(n, "a", { app: "a" }),
      service(n, "b", { app: "b" }),
      virtualService(n, "web", {
        hosts: ["web"],
        http: [
          {
            route: [
              { destination: { host: "a" }, weight: 90 },
              { destination: { host: "b" }, weight: 10 },
            ],
          },
        ],
      }),
      traffic(n, "clients", [{ host: "web", rps: 100 }]),
    );
    await eventually("a and b ready through kube-controller-manager and KWOK", async () => {
      expect(await readyReplicas("a")).toBe(2);
      expect(await readyReplicas("b")).toBe(1);
    });
    const pods = await testbedKubeConfig().makeApiClient(CoreV1Api).listNamespacedPod({ namespace: n });
    expect(pods.items).toHaveLength(3);
    for (const pod of pods.items) {
      expect(pod.metadata?.ownerReferences?.[0]?.kind).toBe("ReplicaSet");
      expect(pod.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    }
    const sel = `destination_workload_namespace="${n}"`;
    const share = await eventually(
      "Prometheus to see a 10% share on b",
      async () => {
        const value = await queryValue(
          `sum(rate(istio_requests_total{${sel},destination_workload="b"}[10s])) / sum(rate(istio_requests_total{${sel}}[10s]))`,
        );
        expect(value).toBeGreaterThan(0.07);
        expect(value).toBeLessThan(0.13);
        return value;
      },
      { timeoutMs: 30_000 },
    );
    expect(share).toBeCloseTo(0.1, 1);
  });

  it("shows a 20% error annotation as an 80% success rate", async () => {
    const n = ns.name;
    await apply(
      deployment(n, "flaky", { behaviour: { errorRate: 0.2 } }),
      service(n, "flaky", { app: "flaky" }),
      traffic(n, "flaky-clients", [{ host: "flaky", rps: 200 }]),
    );
    const w = `reporter="destination",destination_workload_namespace="${n}",destination_workload="flaky"`;
    await eventually(
      "success rate 80 ± 5%",
      async () => {
        const rate = await queryValue(
          `sum(rate(istio_requests_total{${w},response_code!~"5.*"}[15s])) / sum(rate(istio_requests_total{${w}}[15s])) * 100`,
        );
        expect(rate).toBeGreaterThan(75);
        expect(rate).toBeLessThan(85);
      },
      { timeoutMs: 45_000 },
    );
  });

  it("shows a latency annotation in histogram_quantile(0.99) within 20%", async () => {
    const n = ns.name;
    await apply(
      deployment(n, "slow", { behaviour: { latencyP50Ms: 100, latencyP99Ms: 400 } }),
      service(n, "slow", { app: "slow" }),
      traffic(n, "slow-clients", [{ host: "slow", rps: 200 }]),
    );
    const w = `reporter="destination",destination_workload_namespace="${n}",destination_workload="slow"`;
    await eventually(
      "p99 400 ms ± 20%",
      async () => {
        const p99 = await queryValue(
          `histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{${w}}[15s])) by (le))`,
        );
        expect(p99).toBeGreaterThan(320);
        expect(p99).toBeLessThan(480);
      },
      { timeoutMs: 45_000 },
    );
  });
});
