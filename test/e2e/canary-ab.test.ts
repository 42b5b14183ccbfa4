// A/B testing: during the iterations only requests with the matching header reach
// the canary, as Prometheus sees it through meshsim.
import { describe, expect, it } from "vitest";
import { canary, canaryStatus, revision } from "../support/canary.ts";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply, deployment, traffic } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { queryValue } from "../support/prometheus.ts";

const ns = useNamespace("canary-ab");
useController(ns);

describe("A/B testing", () => {
  it("sends only header-matching requests to the canary during the iterations, then promotes", async () => {
    const n = ns.name;
    await apply(
      deployment(n, "shop", { replicas: 2 }),
      traffic(n, "shop-clients", [
        {
          host: "shop",
          rps: 60,
          requests: [
            { weight: 3, headers: { "x-canary": "insider" }, source: "insider" },
            { weight: 7, source: "public" },
          ],
        },
      ] as never),
    );
    await apply(
      canary(n, "shop", {
        interval: "4s",
        threshold: 2,
        iterations: 4,
        match: [{ headers: { "x-canary": { exact: "insider" } } }],
        metrics: [{ name: "request-success-rate", thresholdRange: { min: 95 }, interval: "10s" }],
      }),
    );
    await eventually(
      "Initialized",
      async () => expect((await canaryStatus(n, "shop")).phase).toBe("Initialized"),
      {
        timeoutMs: 60_000,
      },
    );
    await apply(revision(n, "shop", "example.com/shop:2"));
    const canaryFrom = (source: string) =>
      `sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="${n}",destination_workload="shop",source_workload="${source}"}[1m])) or vector(0)`;
    await eventually(
      "insiders reach the canary",
      async () => expect(await queryValue(canaryFrom("insider"))).toBeGreaterThan(20),
      {
        timeoutMs: 60_000,
      },
    );
    const during = await canaryStatus(n, "shop");
    expect(during.phase).toBe("Progressing");
    expect(during.canaryWeight).toBe(0);
    expect(await queryValue(canaryFrom("public"))).toBe(0);
    await eventually(
      "Succeeded",
      async () => expect((await canaryStatus(n, "shop")).phase).toBe("Succeeded"),
      {
        timeoutMs: 90_000,
      },
    );
    expect((await canaryStatus(n, "shop")).iterations).toBe(4);
    expect(await queryValue(canaryFrom("public"))).toBe(0);
  });
});
