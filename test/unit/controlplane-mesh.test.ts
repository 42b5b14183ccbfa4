// The ControlPlaneUpgrade's mesh adapters that need no cluster: label selectors,
// the PromQL of the built-in checks, reading a Deployment's pods, namespace
// observation, and one round of checks against a provider.
import type { V1Deployment, V1Namespace, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { MetricsProvider, QueryOutcome } from "../../src/engine/analysis/prometheus.ts";
import { matchesSelector, selectorString } from "../../src/engine/mesh/label-selector.ts";
import { observeNamespaces } from "../../src/engine/mesh/namespaces.ts";
import { waveQuery } from "../../src/engine/mesh/queries.ts";
import { runWaveChecks } from "../../src/engine/mesh/wave-analysis.ts";
import { rolledOut, summarise } from "../../src/engine/mesh/workloads.ts";

describe("label selectors", () => {
  const selector = {
    matchLabels: { team: "shop" },
    matchExpressions: [
      { key: "tier", operator: "In" as const, values: ["web", "api"] },
      { key: "legacy", operator: "DoesNotExist" as const },
      { key: "env", operator: "NotIn" as const, values: ["dev"] },
      { key: "owner", operator: "Exists" as const },
    ],
  };
  it("match every clause", () => {
    expect(matchesSelector(selector, { team: "shop", tier: "web", owner: "x" })).toBe(true);
    expect(matchesSelector(selector, { team: "shop", tier: "db", owner: "x" })).toBe(false);
    expect(matchesSelector(selector, { team: "shop", tier: "web", owner: "x", legacy: "1" })).toBe(false);
    expect(matchesSelector(selector, { team: "shop", tier: "web", owner: "x", env: "dev" })).toBe(false);
    expect(matchesSelector(selector, { team: "shop", tier: "web" })).toBe(false);
    expect(matchesSelector({}, {})).toBe(true);
  });
  it("spell themselves as the API's labelSelector", () => {
    expect(selectorString(selector)).toBe("team=shop,tier in (web,api),!legacy,env notin (dev),owner");
  });
});

describe("built-in wave queries", () => {
  const scope = { namespaces: ["a", "b"], revision: "1-24-0", interval: "30s" };
  it("judge the destination side of the wave's namespaces", () => {
    expect(waveQuery("request-success-rate", scope)).toBe(
      'sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace=~"a|b",response_code!~"5.*"}[30s])) / ' +
        'sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace=~"a|b"}[30s])) * 100',
    );
    expect(waveQuery("request-duration", scope)).toContain(
      'histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace=~"a|b"}[30s])) by (le))',
    );
  });
  it("judge istiod of the new revision, with no error series meaning zero only when istiod is scraped", () => {
    expect(waveQuery("istiod-xds-rejects", scope)).toBe(
      'sum(rate(pilot_total_xds_rejects{revision="1-24-0"}[30s])) or (sum(rate(pilot_xds_pushes{revision="1-24-0"}[30s])) * 0)',
    );
    expect(waveQuery("istiod-push-errors", scope)).toContain('type=~".*_(senderr|builderr)"');
    expect(waveQuery("istiod-convergence-p99", scope)).toBe(
      'histogram_quantile(0.99, sum(rate(pilot_proxy_convergence_time_bucket{revision="1-24-0"}[30s])) by (le))',
    );
  });
  it("refuse a malformed interval and an empty wave", () => {
    expect(() => waveQuery("request-duration", { ...scope, interval: "soon" })).toThrow(/not a duration/);
    expect(() => waveQuery("request-duration", { ...scope, namespaces: [] })).toThrow(/no namespaces/);
  });
});

function deployment(over: Partial<V1Deployment["status"]> = {}, generation = 2): V1Deployment {
  return {
    metadata: { name: "web", namespace: "shop", generation, labels: { istio: "gateway" } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: {
          labels: { app: "web", "istio.io/rev": "1-23-0" },
          annotations: { "kubectl.kubernetes.io/restartedAt": "2026-11-22T10:00:00.000Z" },
        },
      },
    },
    status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, ...over },
  };
}

const pod = (labels: Record<string, string>, revision?: string, deleting = false): V1Pod => ({
  metadata: {
    labels,
    annotations: revision ? { "istio.io/rev": revision } : {},
    ...(deleting ? { deletionTimestamp: new Date() } : {}),
  },
});

describe("a Deployment and its pods", () => {
  it("counts only its own live pods and reads their sidecar revision", () => {
    const w = summarise(
      deployment(),
      [
        pod({ app: "web" }, "1-24-0"),
        pod({ app: "web" }),
        pod({ app: "web" }, "1-23-0", true),
        pod({ app: "other" }, "1-23-0"),
      ],
      { matchLabels: { istio: "gateway" } },
    );
    expect(w).toEqual({
      namespace: "shop",
      name: "web",
      gateway: true,
      injectable: true,
      restartedAt: "2026-11-22T10:00:00.000Z",
      revisionLabel: "1-23-0",
      rolledOut: true,
      podRevisions: ["1-24-0", ""],
    });
  });
  it("is rolled out only when the latest template is everywhere and ready", () => {
    expect(rolledOut(deployment())).toBe(true);
    expect(rolledOut(deployment({ observedGeneration: 1 }))).toBe(false);
    expect(rolledOut(deployment({ updatedReplicas: 1 }))).toBe(false);
    expect(rolledOut(deployment({ replicas: 3 }))).toBe(false);
    expect(rolledOut(deployment({ readyReplicas: 1 }))).toBe(false);
  });
  it("knows a pod template that opts out of injection", () => {
    const d = deployment();
    const labels = d.spec?.template.metadata?.labels ?? {};
    labels["sidecar.istio.io/inject"] = "false";
    expect(summarise(d, []).injectable).toBe(false);
  });
});

describe("namespaces", () => {
  const ns = (name: string, labels: Record<string, string>, deleting = false): V1Namespace => ({
    metadata: { name, labels, ...(deleting ? { deletionTimestamp: new Date() } : {}) },
  });
  it("are observed when the selector matches them or a wave moved them, deleted ones left out", () => {
    const seen = observeNamespaces(
      [
        ns("a", { team: "shop", "istio.io/rev": "1-23-0" }),
        ns("b", { team: "other", "istio.io/rev": "1-24-0" }),
        ns("c", { team: "other" }),
        ns("d", { team: "shop", "istio-injection": "enabled" }, true),
        ns("e", { team: "shop", "wren.dev/control-plane-upgrade": "skip" }),
      ],
      { matchLabels: { team: "shop" } },
      new Set(["b"]),
    );
    expect(seen).toEqual([
      { name: "a", selected: true, injection: undefined, revision: "1-23-0", optOut: undefined },
      { name: "b", selected: false, injection: undefined, revision: "1-24-0", optOut: undefined },
      { name: "e", selected: true, injection: undefined, revision: undefined, optOut: "skip" },
    ]);
  });
});

describe("a round of wave checks", () => {
  const provider = (answers: Record<string, QueryOutcome>): MetricsProvider & { asked: string[] } => {
    const asked: string[] = [];
    return {
      asked,
      async instantQuery(q) {
        asked.push(q);
        const key = Object.keys(answers).find((k) => q.includes(k));
        return key ? (answers[key] as QueryOutcome) : { kind: "no-data", message: "empty" };
      },
    };
  };
  const request = (p: MetricsProvider) => ({
    checks: [
      { name: "request-success-rate", thresholdRange: { min: 99 } },
      { name: "istiod-xds-rejects", thresholdRange: { max: 0 } },
      { name: "gw", templateRef: { name: "t" }, thresholdRange: { max: 1 }, interval: "5s" },
    ],
    namespaces: ["a", "b"],
    from: "1-23-0",
    to: "1-24-0",
    interval: "30s",
    namespace: "ops",
    providerFor: () => p,
    templates: () => ({
      provider: { type: "prometheus" as const, address: "http://x", insecureSkipVerify: false },
      query:
        'sum(rate(x{namespace=~"{{ namespace }}",rev="{{ target }}",old="{{ primary }}"}[{{ interval }}]))',
    }),
  });

  it("judges each value, and renders templates with the wave's namespaces and revisions", async () => {
    const p = provider({
      istio_requests_total: { kind: "value", value: 50 },
      pilot_total_xds_rejects: { kind: "value", value: 0 },
      "x{": { kind: "value", value: 0.5 },
    });
    const results = await runWaveChecks(request(p));
    expect(results.map((r) => [r.name, r.verdict, r.value])).toEqual([
      ["request-success-rate", "Fail", 50],
      ["istiod-xds-rejects", "Pass", 0],
      ["gw", "Pass", 0.5],
    ]);
    expect(p.asked[2]).toBe('sum(rate(x{namespace=~"a|b",rev="1-24-0",old="1-23-0"}[5s]))');
  });

  it("reports no data and an unreachable provider as Unavailable, never Pass", async () => {
    const p = provider({
      istio_requests_total: {
        kind: "error",
        reason: "unreachable",
        message: "Prometheus unreachable: ECONNREFUSED",
      },
    });
    const results = await runWaveChecks(request(p));
    expect(results.map((r) => r.verdict)).toEqual(["Unavailable", "Unavailable", "Unavailable"]);
    expect(results[0]?.message).toMatch(/ECONNREFUSED/);
    expect(results[1]?.message).toMatch(/no data/);
  });
});
