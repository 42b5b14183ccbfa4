import { describe, expect, it } from "vitest";
import { ControlPlane, FAULTY_FAILURE_RATE, IstiodMetrics, istiodRevision } from "../meshsim/istiod.ts";
import { ExpositionWriter } from "../meshsim/prom.ts";
import { parseExposition, select, sumOf } from "../meshsim/promtext.ts";
import { seededRandom } from "../meshsim/random.ts";
import { deploymentPods, istiod, makeView } from "../meshsim/testkit.ts";

function render(m: IstiodMetrics) {
  const w = new ExpositionWriter();
  m.render(w);
  return parseExposition(w.toString());
}

const twoRevisions = (canary: { faulty?: boolean; readyReplicas?: number } = {}) =>
  makeView({
    pods: [
      ...deploymentPods("a", "shop", 3, { revision: "stable" }),
      ...deploymentPods("b", "shop", 2, { revision: "canary" }),
      ...deploymentPods("c", "shop", 1, { revision: "canary", ready: false }),
      ...deploymentPods("d", "shop", 4, { revision: null }),
    ],
    istiods: [istiod("stable"), istiod("canary", canary)],
  });

describe("revisions", () => {
  it("reads the revision from the Deployment name or its istio.io/rev label", () => {
    expect(istiodRevision("istiod", {})).toBe("default");
    expect(istiodRevision("istiod-1-24", {})).toBe("1-24");
    expect(istiodRevision("istiod-x", { "istio.io/rev": "y" })).toBe("y");
    expect(istiodRevision("prometheus", {})).toBeUndefined();
  });

  it("counts ready injected pods per revision as connected proxies", () => {
    const plane = new ControlPlane(twoRevisions());
    expect(plane.revisions.get("stable")?.connectedProxies).toBe(3);
    expect(plane.revisions.get("canary")?.connectedProxies).toBe(2);
  });

  it("marks a revision faulty by annotation or when istiod has no ready replica", () => {
    expect(new ControlPlane(twoRevisions()).failureRate("canary")).toBe(0);
    expect(new ControlPlane(twoRevisions({ faulty: true })).failureRate("canary")).toBe(FAULTY_FAILURE_RATE);
    const down = new ControlPlane(twoRevisions({ readyReplicas: 0 }));
    expect(down.failureRate("canary")).toBe(FAULTY_FAILURE_RATE);
    expect(down.revisions.get("canary")?.connectedProxies).toBe(0);
    expect(down.failureRate("stable")).toBe(0);
    expect(down.failureRate(undefined)).toBe(0);
  });

  it("fails proxies of a revision without istiod, unless no istiod is modelled at all", () => {
    expect(new ControlPlane(twoRevisions()).failureRate("orphan")).toBe(FAULTY_FAILURE_RATE);
    expect(new ControlPlane(makeView({ pods: deploymentPods("a", "shop", 1) })).failureRate("default")).toBe(
      0,
    );
  });
});

describe("istiod metrics", () => {
  it("exports pilot_xds per revision and pushes that grow while proxies are connected", () => {
    const m = new IstiodMetrics(seededRandom(1));
    m.update(new ControlPlane(twoRevisions()));
    const first = render(m);
    expect(select(first, "pilot_xds", { revision: "stable" })[0]?.value).toBe(3);
    expect(select(first, "pilot_xds", { revision: "canary" })[0]?.value).toBe(2);
    for (const type of ["cds", "eds", "lds", "rds"]) {
      expect(sumOf(first, "pilot_xds_pushes", { revision: "stable", type })).toBe(3);
    }
    for (let i = 0; i < 100; i++) m.tick(1);
    const later = render(m);
    // 0.05 pushes per proxy per second and type, exactly.
    expect(sumOf(later, "pilot_xds_pushes", { revision: "stable", type: "eds" })).toBe(3 + 15);
    expect(sumOf(later, "pilot_total_xds_rejects")).toBe(0);
    const converged = sumOf(later, "pilot_proxy_convergence_time_count", { revision: "stable" });
    expect(converged).toBe(4 * 18);
    const buckets = select(later, "pilot_proxy_convergence_time_bucket", { revision: "stable" }).map(
      (s) => s.labels.le,
    );
    expect(buckets).toEqual(["0.1", "0.5", "1", "3", "5", "10", "20", "30", "+Inf"]);
  });

  it("counts rejects for a faulty revision and converges slowly", () => {
    const m = new IstiodMetrics(seededRandom(2));
    m.update(new ControlPlane(twoRevisions({ faulty: true })));
    for (let i = 0; i < 100; i++) m.tick(1);
    const s = render(m);
    expect(sumOf(s, "pilot_total_xds_rejects", { revision: "canary", type: "lds" })).toBe(2 + 10);
    expect(sumOf(s, "pilot_total_xds_rejects", { revision: "stable" })).toBe(0);
    const slow = (rev: string) =>
      sumOf(s, "pilot_proxy_convergence_time_sum", { revision: rev }) /
      sumOf(s, "pilot_proxy_convergence_time_count", { revision: rev });
    expect(slow("canary")).toBeGreaterThan(5);
    expect(slow("stable")).toBeLessThan(0.5);
  });

  it("stops exporting a revision whose istiod is gone, and stops pushing when no proxy is connected", () => {
    const m = new IstiodMetrics(seededRandom(3));
    m.update(new ControlPlane(twoRevisions()));
    m.update(new ControlPlane(makeView({ istiods: [istiod("canary")] })));
    const s = render(m);
    expect(select(s, "pilot_xds", { revision: "stable" })).toEqual([]);
    const pushes = sumOf(s, "pilot_xds_pushes", { revision: "canary" });
    for (let i = 0; i < 10; i++) m.tick(1);
    expect(sumOf(render(m), "pilot_xds_pushes", { revision: "canary" })).toBe(pushes);
  });
});
