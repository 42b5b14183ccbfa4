import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpsServer, type Server } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type PrometheusOptions, prometheusProvider } from "../../src/engine/analysis/prometheus.ts";
import { prometheusQueryDuration, prometheusQueryErrors } from "../../src/observability/metrics.ts";

const address = "http://prometheus.test:9090";

function vector(...values: string[]) {
  return {
    status: "success",
    data: {
      resultType: "vector",
      result: values.map((v, i) => ({ metric: { i: String(i) }, value: [1, v] })),
    },
  };
}

/** A provider whose log lines (every level) are collected in `lines`. */
function provider(options: Partial<PrometheusOptions> = {}) {
  const lines: string[] = [];
  const logger = pino({ level: "trace" }, { write: (line: string) => void lines.push(line) });
  return { lines, prometheus: prometheusProvider({ address, logger, ...options }) };
}

async function counterValue(name: string, reason: string): Promise<number> {
  const metric = await prometheusQueryErrors.get();
  return metric.values.find((v) => v.labels.provider === name && v.labels.reason === reason)?.value ?? 0;
}

beforeEach(() => {
  nock.disableNetConnect();
});

afterEach(() => {
  nock.abortPendingRequests();
  nock.cleanAll();
  nock.enableNetConnect();
});

describe("prometheusProvider.instantQuery", () => {
  it("returns the single value of an instant vector, sending the query and time", async () => {
    const scope = nock(address)
      .get("/api/v1/query")
      .query({ query: "sum(up)", time: "1700000000.500", timeout: "5000ms" })
      .reply(200, vector("99.5"));
    const { prometheus } = provider();
    expect(await prometheus.instantQuery("sum(up)", new Date(1_700_000_000_500))).toEqual({
      kind: "value",
      value: 99.5,
    });
    expect(scope.isDone()).toBe(true);
  });

  it("keeps a path prefix in the address", async () => {
    const scope = nock(address).get("/prom/api/v1/query").query(true).reply(200, vector("1"));
    const { prometheus } = provider({ address: `${address}/prom` });
    expect(await prometheus.instantQuery("up")).toEqual({ kind: "value", value: 1 });
    expect(scope.isDone()).toBe(true);
  });

  it("takes a scalar result as a value", async () => {
    nock(address)
      .get("/api/v1/query")
      .query(true)
      .reply(200, { status: "success", data: { resultType: "scalar", result: [1, "0.25"] } });
    expect(await provider().prometheus.instantQuery("scalar(x)")).toEqual({ kind: "value", value: 0.25 });
  });

  it("reports an empty vector as no data", async () => {
    nock(address).get("/api/v1/query").query(true).reply(200, vector());
    const outcome = await provider().prometheus.instantQuery("x");
    expect(outcome).toEqual({ kind: "no-data", message: expect.stringContaining("empty") });
  });

  it.each(["NaN", "+Inf", "-Inf"])(
    "reports %s (e.g. 0/0 without traffic) as no data, not a value",
    async (v) => {
      nock(address).get("/api/v1/query").query(true).reply(200, vector(v));
      const outcome = await provider().prometheus.instantQuery("a / b");
      expect(outcome).toEqual({ kind: "no-data", message: expect.stringContaining(v) });
    },
  );

  it("reports several samples as an ambiguous query", async () => {
    nock(address)
      .get("/api/v1/query")
      .query(true)
      .reply(200, vector("1", "2", "3"));
    const outcome = await provider().prometheus.instantQuery("up");
    expect(outcome).toEqual({ kind: "error", reason: "query", message: expect.stringContaining("3 series") });
  });

  it("reports a rejected query with Prometheus's own message", async () => {
    nock(address).get("/api/v1/query").query(true).reply(400, {
      status: "error",
      errorType: "bad_data",
      error: '1:5: parse error: unexpected "}"',
    });
    const name = "bad-data-test";
    const before = await counterValue(name, "query");
    const outcome = await provider({ name }).prometheus.instantQuery("sum(}");
    expect(outcome).toEqual({
      kind: "error",
      reason: "query",
      message: expect.stringContaining('1:5: parse error: unexpected "}"'),
    });
    expect(await counterValue(name, "query")).toBe(before + 1);
  });

  it("reports an HTTP failure with its status, even without a Prometheus body", async () => {
    nock(address).get("/api/v1/query").query(true).reply(503, "upstream connect error");
    const name = "http-503-test";
    const outcome = await provider({ name }).prometheus.instantQuery("up");
    expect(outcome).toEqual({ kind: "error", reason: "http", message: expect.stringContaining("HTTP 503") });
    expect(outcome.kind === "error" && outcome.message).toContain("upstream connect error");
    expect(await counterValue(name, "http")).toBe(1);
  });

  it("reports Prometheus's own evaluation timeout as a timeout", async () => {
    nock(address).get("/api/v1/query").query(true).reply(503, {
      status: "error",
      errorType: "timeout",
      error: "query timed out in expression evaluation",
    });
    const outcome = await provider().prometheus.instantQuery("up");
    expect(outcome).toMatchObject({ kind: "error", reason: "timeout" });
  });

  it("reports a 200 answer that is not Prometheus's as an HTTP error", async () => {
    nock(address).get("/api/v1/query").query(true).reply(200, "<html>login</html>");
    const outcome = await provider().prometheus.instantQuery("up");
    expect(outcome).toMatchObject({ kind: "error", reason: "http" });
  });

  it("reports a refused connection as unreachable", async () => {
    const port = await closedPort();
    nock.enableNetConnect("127.0.0.1");
    const name = "refused-test";
    const outcome = await provider({ name, address: `http://127.0.0.1:${port}` }).prometheus.instantQuery(
      "up",
    );
    expect(outcome).toEqual({
      kind: "error",
      reason: "unreachable",
      message: "Prometheus unreachable: ECONNREFUSED",
    });
    expect(await counterValue(name, "unreachable")).toBe(1);
  });

  it("gives up after the timeout", async () => {
    nock(address).get("/api/v1/query").query(true).delay(60_000).reply(200, vector("1"));
    const name = "timeout-test";
    const outcome = await provider({ name, timeoutMs: 50 }).prometheus.instantQuery("up");
    expect(outcome).toEqual({ kind: "error", reason: "timeout", message: expect.stringContaining("50ms") });
    expect(await counterValue(name, "timeout")).toBe(1);
  });

  it("records the duration of every query", async () => {
    nock(address).get("/api/v1/query").query(true).reply(200, vector("1"));
    const name = "duration-test";
    await provider({ name }).prometheus.instantQuery("up");
    const histogram = await prometheusQueryDuration.get();
    const count = histogram.values.find(
      (v) => v.labels.provider === name && v.metricName === "wren_prometheus_query_duration_seconds_count",
    );
    expect(count?.value).toBe(1);
  });

  it("sends the bearer token and custom headers, and never logs the token", async () => {
    const token = "s3cr3t-t0ken-value";
    const scope = nock(address, {
      reqheaders: { authorization: `Bearer ${token}`, "x-scope-orgid": "tenant-a" },
    })
      .get("/api/v1/query")
      .query(true)
      .reply(200, vector("1"))
      .get("/api/v1/query")
      .query(true)
      .reply(503, "down");
    const { prometheus, lines } = provider({
      bearerToken: token,
      headers: { "X-Scope-OrgID": "tenant-a", Authorization: "Bearer overridden" },
    });
    expect(await prometheus.instantQuery("up")).toEqual({ kind: "value", value: 1 });
    const failed = await prometheus.instantQuery("up");
    expect(scope.isDone()).toBe(true);
    expect(lines.length).toBeGreaterThanOrEqual(2); // both queries were logged...
    for (const line of lines) expect(line).not.toContain(token); // ...without the token
    expect(JSON.stringify(failed)).not.toContain(token);
  });

  it("sends basic auth credentials", async () => {
    const scope = nock(address)
      .get("/api/v1/query")
      .query(true)
      .basicAuth({ user: "reader", pass: "pa:ss" })
      .reply(200, vector("1"));
    const { prometheus, lines } = provider({ basicAuth: { username: "reader", password: "pa:ss" } });
    expect(await prometheus.instantQuery("up")).toEqual({ kind: "value", value: 1 });
    expect(scope.isDone()).toBe(true);
    for (const line of lines) expect(line).not.toContain(Buffer.from("reader:pa:ss").toString("base64"));
  });
});

describe("prometheusProvider over TLS", () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    // A self-signed certificate, made fresh for this run.
    const dir = mkdtempSync(join(tmpdir(), "wren-tls-"));
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"],
        ...["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")],
      ],
      { stdio: "ignore" },
    );
    const key = readFileSync(join(dir, "key.pem"));
    const cert = readFileSync(join(dir, "cert.pem"));
    rmSync(dir, { recursive: true });
    server = createHttpsServer({ key, cert }, (_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(vector("42")));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const bound = server.address();
    if (bound === null || typeof bound === "string") throw new Error("no port");
    url = `https://127.0.0.1:${bound.port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => nock.enableNetConnect("127.0.0.1"));

  it("refuses an untrusted certificate by default", async () => {
    const outcome = await provider({ address: url }).prometheus.instantQuery("up");
    expect(outcome).toMatchObject({ kind: "error", reason: "unreachable" });
    expect(outcome.kind === "error" && outcome.message).toMatch(/self.signed/i);
  });

  it("accepts it with insecureSkipVerify", async () => {
    const outcome = await provider({ address: url, insecureSkipVerify: true }).prometheus.instantQuery("up");
    expect(outcome).toEqual({ kind: "value", value: 42 });
  });
});

/** A local port nothing listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}
