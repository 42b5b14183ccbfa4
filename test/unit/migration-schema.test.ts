// The Migration schema: every rule the API server cannot express, each naming its field.
import { describe, expect, it } from "vitest";
import { MigrationSpec } from "../../src/api/migration.ts";
import { disjoint, matchesOverlap, regexLiteralPrefix } from "../../src/api/migration-overlap.ts";

function phase(name: string, match: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  return {
    name,
    match,
    to: [{ service: name, port: 80 }],
    validation: { maxErrorRate: 1 },
    ...extra,
  };
}

function base(phases: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  return { host: "shop", monolith: { service: "monolith", port: 80 }, phases, ...extra };
}

/** The `spec.`-less paths of the issues, joined as the reconciler names them. */
function issues(spec: unknown): string[] {
  const parsed = MigrationSpec.safeParse(spec);
  if (parsed.success) return [];
  return parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

const orders = phase("orders", [{ uri: { prefix: "/orders" } }]);
const users = phase("users", [{ uri: { prefix: "/users" } }]);

describe("a valid Migration", () => {
  it("parses with defaults: steps, stepInterval unset, validation interval, threshold, opt-in header, rollback", () => {
    const spec = MigrationSpec.parse(base([orders, users]));
    expect(spec.optInHeader).toBe("x-migration-phase");
    expect(spec.progressDeadlineSeconds).toBe(600);
    expect(spec.phases[0]).toMatchObject({
      steps: [5, 10, 25, 50, 100],
      rollback: "phase",
      validation: {
        interval: "1m",
        threshold: 3,
        minRequests: 10,
        metricsUnavailable: { action: "hold", after: 3 },
      },
    });
  });

  it("accepts several services whose weights sum to 100", () => {
    const split = phase("orders", [{ uri: { prefix: "/orders" } }], {
      to: [
        { service: "orders-a", port: 80, weight: 70 },
        { service: "orders-b", port: 8080, weight: 30 },
      ],
    });
    expect(issues(base([split]))).toEqual([]);
  });

  it("accepts phases told apart by a header on the same uri", () => {
    const a = phase("team-a", [{ uri: { prefix: "/api" }, headers: { "x-team": { exact: "a" } } }]);
    const b = phase("team-b", [{ uri: { prefix: "/api" }, headers: { "X-Team": { exact: "b" } } }]);
    expect(issues(base([a, b]))).toEqual([]);
  });
});

describe("invalid Migrations name the field", () => {
  const cases: [string, unknown, string][] = [
    [
      "steps not increasing",
      base([phase("orders", [{ uri: { prefix: "/orders" } }], { steps: [10, 50, 25, 100] })]),
      "phases.0.steps.2: steps must be strictly increasing",
    ],
    [
      "steps not ending at 100",
      base([phase("orders", [{ uri: { prefix: "/orders" } }], { steps: [10, 50] })]),
      "phases.0.steps.1: the last step must be 100",
    ],
    [
      "identical matches in two phases",
      base([orders, phase("orders2", [{ uri: { prefix: "/orders" } }])]),
      "phases.1.match.0: overlaps phases.0.match.0 (phase orders: uri prefix /orders)",
    ],
    [
      "a uri prefix that is a prefix of another phase's",
      base([orders, phase("archive", [{ uri: { prefix: "/orders/archive" } }])]),
      "phases.1.match.0: overlaps phases.0.match.0",
    ],
    [
      "an exact uri inside another phase's prefix",
      base([orders, phase("one", [{ uri: { exact: "/orders/1" } }])]),
      "phases.1.match.0: overlaps",
    ],
    [
      "a header-only phase that overlaps a uri phase",
      base([orders, phase("beta", [{ headers: { "x-beta": { exact: "1" } } }])]),
      "phases.1.match.0: overlaps phases.0.match.0",
    ],
    [
      "duplicate phase names",
      base([orders, phase("orders", [{ uri: { prefix: "/carts" } }])]),
      "phases.1.name: phase name orders is already used by phases.0",
    ],
    [
      "weights not summing to 100",
      base([
        phase("orders", [{ uri: { prefix: "/orders" } }], {
          to: [
            { service: "a", port: 80, weight: 60 },
            { service: "b", port: 80, weight: 30 },
          ],
        }),
      ]),
      "phases.0.to: weights sum to 90; they must sum to 100",
    ],
    [
      "a missing weight among several services",
      base([
        phase("orders", [{ uri: { prefix: "/orders" } }], {
          to: [
            { service: "a", port: 80, weight: 100 },
            { service: "b", port: 80 },
          ],
        }),
      ]),
      "phases.0.to.1.weight: weight is required",
    ],
    [
      "the same service twice",
      base([
        phase("orders", [{ uri: { prefix: "/orders" } }], {
          to: [
            { service: "a", port: 80, weight: 50 },
            { service: "a", port: 80, weight: 50 },
          ],
        }),
      ]),
      "phases.0.to.1.service: a is listed twice",
    ],
    [
      "a phase moving requests to the monolith",
      base([phase("orders", [{ uri: { prefix: "/orders" } }], { to: [{ service: "monolith", port: 80 }] })]),
      "phases.0.to.0.service: monolith is the monolith",
    ],
    [
      "a match entry without a condition",
      base([phase("orders", [{}])]),
      "phases.0.match: every match entry needs a condition",
    ],
    [
      "a match on the opt-in header",
      base([phase("orders", [{ uri: { prefix: "/o" }, headers: { "X-Migration-Phase": { exact: "a" } } }])]),
      "phases.0.match.0.headers.X-Migration-Phase: X-Migration-Phase is the opt-in header",
    ],
    [
      "a validation that checks nothing",
      base([phase("orders", [{ uri: { prefix: "/orders" } }], { validation: { interval: "10s" } })]),
      "phases.0.validation.maxErrorRate: set at least one of maxErrorRate, maxP99Latency or minThroughput",
    ],
    [
      "stepInterval and stepDurations together",
      base([
        phase("orders", [{ uri: { prefix: "/orders" } }], {
          steps: [50, 100],
          stepInterval: "1m",
          stepDurations: ["1m", "2m"],
        }),
      ]),
      "phases.0.stepDurations: set stepInterval or stepDurations, not both",
    ],
    [
      "a duration per step missing",
      base([phase("orders", [{ uri: { prefix: "/orders" } }], { steps: [50, 100], stepDurations: ["1m"] })]),
      "phases.0.stepDurations: one duration per step: 2 steps, 1 durations",
    ],
    [
      "an upper-case phase name",
      base([phase("Orders", [{ uri: { prefix: "/orders" } }])]),
      "phases.0.name: must be lower-case",
    ],
  ];

  it.each(cases)("%s", (_what, spec, expected) => {
    expect(issues(spec).join("\n")).toContain(expected);
  });
});

describe("overlap", () => {
  it("reads a regex as the prefix of its leading literal characters", () => {
    expect(regexLiteralPrefix("/orders/[0-9]+")).toEqual({ literal: "/orders/", whole: false });
    expect(regexLiteralPrefix("/orders")).toEqual({ literal: "/orders", whole: true });
    expect(regexLiteralPrefix("/ordersx?")).toEqual({ literal: "/orders", whole: false });
    expect(regexLiteralPrefix("/a|/b")).toEqual({ literal: "", whole: false });
    expect(regexLiteralPrefix("\\/v1\\.json")).toEqual({ literal: "/v1.json", whole: true });
    expect(regexLiteralPrefix("(?i)/orders")).toEqual({ literal: "", whole: false });
  });

  it("tells values apart only when no value satisfies both", () => {
    expect(disjoint({ exact: "/a" }, { exact: "/b" })).toBe(true);
    expect(disjoint({ exact: "/a/1" }, { prefix: "/a" })).toBe(false);
    expect(disjoint({ prefix: "/a" }, { prefix: "/ab" })).toBe(false);
    expect(disjoint({ prefix: "/users" }, { regex: "/orders/.*" })).toBe(true);
    expect(disjoint({ prefix: "/Users" }, { prefix: "/users" })).toBe(true);
    expect(disjoint({ prefix: "/Users" }, { prefix: "/users" }, true)).toBe(false);
  });

  it("needs a condition in both entries to tell them apart", () => {
    expect(matchesOverlap({ uri: { prefix: "/a" } }, { uri: { prefix: "/b" } })).toBe(false);
    expect(matchesOverlap({ uri: { prefix: "/a" } }, { headers: { x: { exact: "1" } } })).toBe(true);
    expect(
      matchesOverlap(
        { uri: { prefix: "/a" }, headers: { x: { exact: "1" } } },
        { uri: { prefix: "/a" }, headers: { X: { exact: "2" } } },
      ),
    ).toBe(false);
    expect(
      matchesOverlap(
        { uri: { prefix: "/a" }, sourceLabels: { app: "web" } },
        { uri: { prefix: "/a" }, sourceLabels: { app: "api" } },
      ),
    ).toBe(false);
    expect(
      matchesOverlap({ queryParams: { v: { exact: "1" } } }, { queryParams: { v: { exact: "2" } } }),
    ).toBe(false);
  });
});
