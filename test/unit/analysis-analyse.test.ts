import { createServer } from "node:net";
import nock from "nock";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MetricCheck } from "../../src/api/common.ts";
import type { MetricTemplateSpec } from "../../src/api/metric-template.ts";
import { type AnalysisRequest, runChecks, type TemplateRef } from "../../src/engine/analysis/analyse.ts";
import {
  type MetricsProvider,
  prometheusProvider,
  type QueryOutcome,
} from "../../src/engine/analysis/prometheus.ts";
import { builtinQuery, type QueryContext } from "../../src/engine/analysis/queries.ts";

const address = "http://prometheus.test:9090";
const silent = pino({ level: "silent" });
const context: QueryContext = {
  namespace: "shop",
  target: "podinfo",
  primary: "podinfo-primary",
  service: "podinfo",
  interval: "1m",
};

const q = (metric: Parameters<typeof builtinQuery>[0], workload: string, interval = "1m") =>
  builtinQuery(metric, { namespace: "shop", workload, interval });

function vector(value: string) {
  return { status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [1, value] }] } };
}

function request(metrics: MetricCheck[], extra: Partial<AnalysisRequest> = {}): AnalysisRequest {
  return {
    metrics,
    context,
    providerFor: () => prometheusProvider({ address, logger: silent }),
    templates: () => undefined,
    ...extra,
  };
}

/** A provider answering from a table, recording every query and the most queries in flight at once. */
function fakeProvider(answers: Record<string, QueryOutcome>) {
  const queries: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const provider: MetricsProvider = {
    instantQuery(promql) {
      queries.push(promql);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // Answer on a later turn of the event loop, so that queries issued together overlap.
      return new Promise((resolve) =>
        setImmediate(() => {
          inFlight--;
          resolve(answers[promql] ?? { kind: "no-data", message: "not in the table" });
        }),
      );
    },
  };
  return { provider, queries, maxInFlight: () => maxInFlight };
}

const value = (v: number): QueryOutcome => ({ kind: "value", value: v });

beforeEach(() => {
  nock.disableNetConnect();
});

afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe("runChecks against Prometheus", () => {
  it("sends one query per metric, plus one for the primary only where compared, and judges each", async () => {
    const answers = new Map([
      [q("request-success-rate", "podinfo"), "99.2"],
      [q("request-success-rate", "podinfo-primary"), "99.9"],
      [q("request-duration", "podinfo"), "612"],
      [q("request-throughput", "podinfo"), "12.5"],
    ]);
    const sent: string[] = [];
    const unmatched: unknown[] = [];
    nock.emitter.on("no match", (req) => unmatched.push(req));
    const scope = nock(address);
    for (const [query, v] of answers) {
      scope
        .get("/api/v1/query")
        .query((params) => params.query === query)
        .reply(() => {
          sent.push(query);
          return [200, vector(v)];
        });
    }

    const results = await runChecks(
      request([
        { name: "request-success-rate", thresholdRange: { min: 99 }, maxIncreaseOverPrimary: 1 },
        { name: "request-duration", thresholdRange: { max: 500 } },
        { name: "request-throughput", thresholdRange: { min: 1 } },
      ]),
    );
    nock.emitter.removeAllListeners("no match");

    expect(scope.isDone()).toBe(true);
    expect(unmatched).toEqual([]);
    expect(sent.sort()).toEqual([...answers.keys()].sort());
    expect(results).toEqual([
      {
        name: "request-success-rate",
        verdict: "Pass",
        value: 99.2,
        primaryValue: 99.9,
        thresholdRange: { min: 99 },
        message: expect.any(String),
      },
      {
        name: "request-duration",
        verdict: "Fail",
        value: 612,
        thresholdRange: { max: 500 },
        message: "612 is above the maximum 500",
      },
      {
        name: "request-throughput",
        verdict: "Pass",
        value: 12.5,
        thresholdRange: { min: 1 },
        message: expect.any(String),
      },
    ]);
  });

  it("turns no data into Unavailable, saying no data for which metric", async () => {
    nock(address).get("/api/v1/query").query(true).reply(200, vector("NaN"));
    const [result] = await runChecks(
      request([{ name: "request-success-rate", thresholdRange: { min: 99 } }]),
    );
    expect(result).toEqual({
      name: "request-success-rate",
      verdict: "Unavailable",
      thresholdRange: { min: 99 },
      message: "no data for request-success-rate: the query returned NaN",
    });
  });

  it("turns an unreachable Prometheus into Unavailable, saying so", async () => {
    const port = await closedPort();
    nock.enableNetConnect("127.0.0.1");
    const results = await runChecks(
      request(
        [
          { name: "request-success-rate", thresholdRange: { min: 99 } },
          { name: "request-duration", thresholdRange: { max: 500 } },
        ],
        { providerFor: () => prometheusProvider({ address: `http://127.0.0.1:${port}`, logger: silent }) },
      ),
    );
    for (const result of results) {
      expect(result.verdict).toBe("Unavailable");
      expect(result.message).toContain("Prometheus unreachable: ECONNREFUSED");
    }
  });

  it("turns a rejected query into Unavailable with Prometheus's message", async () => {
    nock(address)
      .get("/api/v1/query")
      .query(true)
      .reply(422, { status: "error", errorType: "execution", error: "many-to-many matching not allowed" });
    const [result] = await runChecks(request([{ name: "request-duration", thresholdRange: { max: 500 } }]));
    expect(result?.verdict).toBe("Unavailable");
    expect(result?.message).toContain("many-to-many matching not allowed");
  });
});

describe("runChecks", () => {
  it("issues every query of every check at once", async () => {
    const fake = fakeProvider({});
    await runChecks(
      request(
        [
          { name: "request-success-rate", thresholdRange: { min: 99 }, maxIncreaseOverPrimary: 1 },
          { name: "request-duration", maxIncreaseOverPrimary: 10 },
          { name: "request-throughput", thresholdRange: { min: 1 } },
        ],
        { providerFor: async () => fake.provider },
      ),
    );
    expect(fake.queries).toHaveLength(5);
    expect(fake.maxInFlight()).toBe(5);
  });

  it("uses a check's own interval over the analysis interval", async () => {
    const fake = fakeProvider({});
    await runChecks(
      request([{ name: "request-duration", interval: "5m", thresholdRange: { max: 1 } }], {
        providerFor: () => fake.provider,
      }),
    );
    expect(fake.queries).toEqual([q("request-duration", "podinfo", "5m")]);
  });

  it("never passes when the primary has no data to compare with, keeping the canary's value", async () => {
    const fake = fakeProvider({
      [q("request-duration", "podinfo")]: value(120),
      [q("request-duration", "podinfo-primary")]: {
        kind: "no-data",
        message: "the query returned an empty result",
      },
    });
    const [result] = await runChecks(
      request([{ name: "request-duration", maxIncreaseOverPrimary: 10 }], {
        providerFor: () => fake.provider,
      }),
    );
    expect(result).toEqual({
      name: "request-duration",
      verdict: "Unavailable",
      value: 120,
      message: "no data for the primary's request-duration: the query returned an empty result",
    });
  });

  it("turns a provider that throws, or cannot be built, into Unavailable", async () => {
    const throwing: MetricsProvider = {
      instantQuery: () => Promise.reject(new Error("socket hang up")),
    };
    const [thrown] = await runChecks(
      request([{ name: "request-duration", thresholdRange: { max: 1 } }], { providerFor: () => throwing }),
    );
    expect(thrown).toMatchObject({
      verdict: "Unavailable",
      message: expect.stringContaining("socket hang up"),
    });

    const [missing] = await runChecks(
      request([{ name: "request-duration", thresholdRange: { max: 1 } }], {
        providerFor: () => {
          throw new Error('Secret "prom-auth" not found');
        },
      }),
    );
    expect(missing).toMatchObject({
      verdict: "Unavailable",
      message: expect.stringContaining('Secret "prom-auth" not found'),
    });
  });

  it("returns results in the order of the checks", async () => {
    const fake = fakeProvider({
      [q("request-throughput", "podinfo")]: value(3),
      [q("request-duration", "podinfo")]: value(4),
    });
    const results = await runChecks(
      request(
        [
          { name: "request-throughput", thresholdRange: { min: 1 } },
          { name: "request-duration", thresholdRange: { max: 10 } },
        ],
        { providerFor: () => fake.provider },
      ),
    );
    expect(results.map((r) => [r.name, r.value])).toEqual([
      ["request-throughput", 3],
      ["request-duration", 4],
    ]);
  });
});

describe("runChecks with MetricTemplates", () => {
  const template: MetricTemplateSpec = {
    provider: {
      type: "prometheus",
      address: "http://mimir.monitoring:8080/prometheus",
      insecureSkipVerify: false,
    },
    query:
      'sum(rate(http_errors{namespace="{{ namespace }}",app="{{ target }}",route="{{ variables.route }}"}[{{ interval }}]))',
  };

  it("renders the template for the canary and, with target = primary, for the primary, on the template's provider", async () => {
    const canaryQuery = 'sum(rate(http_errors{namespace="shop",app="podinfo",route="/orders"}[1m]))';
    const primaryQuery = 'sum(rate(http_errors{namespace="shop",app="podinfo-primary",route="/orders"}[1m]))';
    const fake = fakeProvider({ [canaryQuery]: value(3), [primaryQuery]: value(2) });
    const lookedUp: TemplateRef[] = [];
    const providers: (TemplateRef | undefined)[] = [];
    const [result] = await runChecks(
      request(
        [
          {
            name: "error-rate",
            templateRef: { name: "errors" },
            templateVariables: { route: "/orders" },
            thresholdRange: { max: 5 },
            maxIncreaseOverPrimary: 100,
          },
        ],
        {
          templates: (ref) => {
            lookedUp.push(ref);
            return template;
          },
          providerFor: (ref) => {
            providers.push(ref);
            return fake.provider;
          },
        },
      ),
    );
    expect(lookedUp).toEqual([{ namespace: "shop", name: "errors" }]);
    expect(providers).toEqual([{ namespace: "shop", name: "errors" }]);
    expect(fake.queries.sort()).toEqual([canaryQuery, primaryQuery].sort());
    expect(result).toMatchObject({ name: "error-rate", verdict: "Pass", value: 3, primaryValue: 2 });
  });

  it("looks a template up in the namespace its reference names", async () => {
    const lookedUp: TemplateRef[] = [];
    await runChecks(
      request(
        [
          {
            name: "x",
            templateRef: { name: "errors", namespace: "wren-system" },
            thresholdRange: { max: 1 },
          },
        ],
        {
          templates: (ref) => {
            lookedUp.push(ref);
            return undefined;
          },
        },
      ),
    );
    expect(lookedUp).toEqual([{ namespace: "wren-system", name: "errors" }]);
  });

  it("is Unavailable, sending nothing, when the template is missing or a variable unknown", async () => {
    const fake = fakeProvider({});
    const results = await runChecks(
      request(
        [
          { name: "missing", templateRef: { name: "nope" }, thresholdRange: { max: 1 } },
          { name: "no-route", templateRef: { name: "errors" }, thresholdRange: { max: 1 } },
        ],
        {
          templates: (ref) => (ref.name === "errors" ? template : undefined),
          providerFor: () => fake.provider,
        },
      ),
    );
    expect(results).toEqual([
      {
        name: "missing",
        verdict: "Unavailable",
        thresholdRange: { max: 1 },
        message: "MetricTemplate shop/nope not found",
      },
      {
        name: "no-route",
        verdict: "Unavailable",
        thresholdRange: { max: 1 },
        message: expect.stringContaining(
          'MetricTemplate shop/errors: unknown template variable "variables.route"',
        ),
      },
    ]);
    expect(fake.queries).toEqual([]);
  });
});

/** A local port nothing listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const bound = server.address();
  if (bound === null || typeof bound === "string") throw new Error("no port");
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return bound.port;
}
