// meshsim keeps up with 200 hosts at 20 requests per second each: every request
// is routed and counted (its CPU cost is measured by `npm run bench`, not here).
import { describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.ts";
import { apply, deployment, service, traffic, virtualService } from "../support/fixtures.ts";
import { useNamespace } from "../support/namespace.ts";
import { queryValue } from "../support/prometheus.ts";

const ns = useNamespace("meshsim-scale");
const hosts = 200;
const rps = 20;

describe("meshsim at scale", () => {
  it(`routes ${hosts} hosts at ${rps} rps each`, async () => {
    const n = ns.name;
    const names = Array.from({ length: hosts }, (_, i) => `host-${i}`);
    await apply(
      deployment(n, "stable", { replicas: 2 }),
      deployment(n, "next", { replicas: 1 }),
      service(n, "stable", { app: "stable" }),
      service(n, "next", { app: "next" }),
      ...names.map((h, i) =>
        virtualService(n, h, {
          hosts: [h],
          http: [
            {
              route: [
                { destination: { host: "stable" }, weight: 100 - (i % 10) },
                { destination: { host: "next" }, weight: i % 10 },
              ],
            },
          ],
        }),
      ),
      traffic(
        n,
        "clients",
        names.map((host) => ({ host, rps })),
      ),
    );
    const sel = `reporter="destination",destination_workload_namespace="${n}"`;
    await eventually(
      `${hosts * rps} rps served`,
      async () => {
        const served = await queryValue(`sum(rate(istio_requests_total{${sel}}[10s]))`);
        expect(served).toBeGreaterThan(hosts * rps * 0.95);
        expect(served).toBeLessThan(hosts * rps * 1.05);
        // weights 0..9% on "next" across hosts average 4.5%
        const next = await queryValue(
          `sum(rate(istio_requests_total{${sel},destination_workload="next"}[10s]))`,
        );
        expect(next / served).toBeGreaterThan(0.035);
        expect(next / served).toBeLessThan(0.055);
      },
      { timeoutMs: 60_000 },
    );
  });
});
