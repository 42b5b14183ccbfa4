// Canary releases end to end: the real controller, Deployments rolled out by
// kube-controller-manager and KWOK, traffic from meshsim, verdicts from Prometheus.
import { AppsV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canaryStatus, deployCanary, revision, WeightRecorder } from "../support/canary.ts";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { queryValue } from "../support/prometheus.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("canary-release");
useController(ns);

beforeAll(async () => {});
afterAll(async () => {});

const analysis = {
  interval: "3s",
  threshold: 2,
  maxWeight: 30,
  stepWeight: 10,
  metrics: [
    { name: "request-success-rate", thresholdRange: { min: 95 }, interval: "10s" },
    { name: "request-duration", thresholdRange: { max: 500 }, interval: "10s" },
  ],
};

async function readDeployment(name: string) {
  return testbedKubeConfig().makeApiClient(AppsV1Api).readNamespacedDeployment({ name, namespace: ns.name });
}

/** Deploys a target with traffic and its Canary, and waits until it is initialised. */
async function initialised(name: string, spec: Record<string, unknown> = analysis): Promise<void> {
  await deployCanary(ns.name, name, spec, { replicas: 2, rps: 50 });
}

function image(d: Awaited<ReturnType<typeof readDeployment>>): string | undefined {
  return d.spec?.template.spec?.containers[0]?.image;
}

describe("Canary", () => {
  it("steps a healthy revision up to maxWeight and promotes it", async () => {
    const n = ns.name;
    await initialised("healthy");
    const weights = new WeightRecorder(n, "healthy");
    try {
      await apply(revision(n, "healthy", "example.com/app:2"));
      await eventually(
        "Succeeded",
        async () => expect((await canaryStatus(n, "healthy")).phase).toBe("Succeeded"),
        {
          timeoutMs: 90_000,
        },
      );
      await eventually("the VirtualService back at 100/0", () => expect(weights.weights.at(-1)).toBe(0));
      expect(weights.weights).toEqual([0, 10, 20, 30, 0]);
    } finally {
      await weights.stop();
    }
    expect(image(await readDeployment("healthy-primary"))).toBe("example.com/app:2");
    expect((await readDeployment("healthy")).spec?.replicas).toBe(0);
    const sel = `reporter="destination",destination_workload_namespace="${n}"`;
    // Prometheus saw the canary take traffic during the analysis ...
    expect(
      await queryValue(`sum(increase(istio_requests_total{${sel},destination_workload="healthy"}[2m]))`),
    ).toBeGreaterThan(0);
    // ... and now sees all of it on the primary.
    await eventually("all traffic on the primary", async () => {
      const share = await queryValue(
        `sum(rate(istio_requests_total{${sel},destination_workload="healthy-primary"}[4s])) / sum(rate(istio_requests_total{${sel},destination_workload=~"healthy|healthy-primary"}[4s]))`,
      );
      expect(share).toBe(1);
    });
  });

  it("rolls back a revision with 20% errors after `threshold` failed checks, the primary serving throughout", async () => {
    const n = ns.name;
    await initialised("faulty");
    const primary = `reporter="destination",destination_workload_namespace="${n}",destination_workload="faulty-primary"`;
    // A steady baseline first: the primary's 5 s rate has ramped up since the VirtualService appeared.
    await eventually("the primary serving its 50 rps", async () =>
      expect(await queryValue(`sum(rate(istio_requests_total{${primary}}[5s]))`)).toBeGreaterThan(40),
    );
    const weights = new WeightRecorder(n, "faulty");
    const releasedAt = Date.now();
    try {
      await apply(revision(n, "faulty", "example.com/app:2", { errorRate: 0.2 }));
      await eventually("Failed", async () => expect((await canaryStatus(n, "faulty")).phase).toBe("Failed"), {
        timeoutMs: 90_000,
      });
      await eventually("weights back at 100/0", () => expect(weights.weights.at(-1)).toBe(0));
      expect(Math.max(...weights.weights)).toBeLessThanOrEqual(20);
    } finally {
      await weights.stop();
    }
    const status = await canaryStatus(n, "faulty");
    expect(status.failedChecks).toBe(2);
    expect(status.conditions?.find((c) => c.type === "Ready")?.message).toMatch(/request-success-rate/);
    expect(image(await readDeployment("faulty-primary"))).toBe("example.com/app:1");
    expect((await readDeployment("faulty")).spec?.replicas).toBe(0);
    // The primary never stopped serving: from the release on, its lowest 5 s request rate
    // (two canary steps' worth of 10% at most taken from its 50 rps) stayed well above zero.
    const span = Math.ceil((Date.now() - releasedAt) / 1000);
    const lowest = await queryValue(
      `min_over_time(sum(rate(istio_requests_total{${primary}}[5s]))[${span}s:1s])`,
    );
    expect(lowest).toBeGreaterThan(20);
  });

  it("rolls back a revision whose p99 latency exceeds its threshold", async () => {
    const n = ns.name;
    await initialised("slow");
    await apply(revision(n, "slow", "example.com/app:2", { latencyP50Ms: 300, latencyP99Ms: 1500 }));
    await eventually("Failed", async () => expect((await canaryStatus(n, "slow")).phase).toBe("Failed"), {
      timeoutMs: 90_000,
    });
    const status = await canaryStatus(n, "slow");
    const duration = status.metrics?.find((m) => m.name === "request-duration");
    expect(duration?.verdict).toBe("Fail");
    expect(duration?.value).toBeGreaterThan(500);
    expect(image(await readDeployment("slow-primary"))).toBe("example.com/app:1");
  });

  it("restarts the analysis from 0% when a new revision arrives during it", async () => {
    const n = ns.name;
    await initialised("moving", { ...analysis, interval: "4s" });
    const weights = new WeightRecorder(n, "moving");
    try {
      await apply(revision(n, "moving", "example.com/app:2"));
      await eventually(
        "weight 20",
        async () => expect((await canaryStatus(n, "moving")).canaryWeight).toBe(20),
        {
          timeoutMs: 60_000,
          intervalMs: 200,
        },
      );
      await apply(revision(n, "moving", "example.com/app:3"));
      await eventually(
        "Succeeded",
        async () => expect((await canaryStatus(n, "moving")).phase).toBe("Succeeded"),
        {
          timeoutMs: 90_000,
        },
      );
      await eventually("back at 100/0", () => expect(weights.weights.at(-1)).toBe(0));
      // 10, 20, then back to 0 for the new revision, and all the steps again.
      const restart = weights.weights.indexOf(0, 1);
      expect(weights.weights.slice(0, restart + 1)).toEqual([0, 10, 20, 0]);
      expect(weights.weights.slice(restart)).toEqual([0, 10, 20, 30, 0]);
    } finally {
      await weights.stop();
    }
    expect(image(await readDeployment("moving-primary"))).toBe("example.com/app:3");
  });
});
