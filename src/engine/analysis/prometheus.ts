// The Prometheus provider: runs one instant query and says plainly what came back.
//
// Why node:http(s) and not prometheus-query's PrometheusDriver: the driver hides the
// detail this adapter exists to report. A non-JSON error body (a 503 from a proxy or
// load balancer in front of Prometheus) becomes "unexpected client error" without the
// HTTP status; in our tests a client-side timeout surfaced the same way instead of as
// a timeout; it offers no TLS option for insecureSkipVerify; and the errors it throws
// carry the whole axios request config, Authorization header included, one careless
// log line away from leaking the token. Global fetch would need undici's Agent for
// insecureSkipVerify, which is not a dependency of ours; node:https takes
// rejectUnauthorized directly.
import http from "node:http";
import https from "node:https";
import { type Logger, logger as rootLogger } from "../../observability/logger.ts";
import { prometheusQueryDuration, prometheusQueryErrors } from "../../observability/metrics.ts";

/** Why a query produced no answer at all. */
export type QueryErrorReason = "unreachable" | "http" | "query" | "timeout";

/** What one instant query produced: a single finite value, no data, or an error. */
export type QueryOutcome =
  | { kind: "value"; value: number }
  | { kind: "no-data"; message: string }
  | { kind: "error"; reason: QueryErrorReason; message: string };

/** Anything that answers instant queries; the analysis engine depends on this, not on HTTP. */
export interface MetricsProvider {
  instantQuery(promql: string, time?: Date): Promise<QueryOutcome>;
}

export interface PrometheusOptions {
  /** Base address, e.g. http://prometheus.istio-system:9090; /api/v1/query is appended. */
  address: string;
  /** Extra headers sent with every query. */
  headers?: Readonly<Record<string, string>>;
  /** Sent as `Authorization: Bearer <token>`. Read from a Secret by the caller; never logged. */
  bearerToken?: string;
  /** Basic auth. Read from a Secret by the caller; never logged. */
  basicAuth?: { username: string; password: string };
  insecureSkipVerify?: boolean;
  /** Longest a query may take, answer included. Default 5000. */
  timeoutMs?: number;
  /** Name in metric labels and log lines (never the address). Default "prometheus". */
  name?: string;
  logger?: Logger;
}

const defaultTimeoutMs = 5000;
/** A single-value answer is tiny; anything this large is an unaggregated query. */
const maxAnswerBytes = 1024 * 1024;

interface HttpAnswer {
  status: number;
  statusMessage: string;
  body: string;
}

class AnswerTooLarge extends Error {}

/** A provider that sends instant queries to Prometheus's HTTP API. */
export function prometheusProvider(options: PrometheusOptions): MetricsProvider {
  const name = options.name ?? "prometheus";
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const log = (options.logger ?? rootLogger).child({ provider: name });
  const endpoint = new URL(
    "api/v1/query",
    options.address.endsWith("/") ? options.address : `${options.address}/`,
  );
  const headers = requestHeaders(options);

  return {
    async instantQuery(promql, time) {
      const url = new URL(endpoint);
      url.searchParams.set("query", promql);
      if (time !== undefined) url.searchParams.set("time", (time.getTime() / 1000).toFixed(3));
      url.searchParams.set("timeout", `${timeoutMs}ms`);

      const started = performance.now();
      const outcome = await send(url, headers, options.insecureSkipVerify ?? false, timeoutMs);
      const seconds = (performance.now() - started) / 1000;
      prometheusQueryDuration.observe({ provider: name }, seconds);
      if (outcome.kind !== "value") {
        prometheusQueryErrors.inc({
          provider: name,
          reason: outcome.kind === "error" ? outcome.reason : "no-data",
        });
      }
      const fields = { query: promql, outcome, durationSeconds: seconds };
      if (outcome.kind === "error") log.warn(fields, "prometheus query failed");
      else log.debug(fields, "prometheus query");
      return outcome;
    },
  };
}

function requestHeaders(options: PrometheusOptions): Record<string, string> {
  const headers: Record<string, string> = { accept: "application/json" };
  const auth =
    options.bearerToken !== undefined
      ? `Bearer ${options.bearerToken}`
      : options.basicAuth !== undefined
        ? `Basic ${Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString("base64")}`
        : undefined;
  for (const [key, value] of Object.entries(options.headers ?? {})) {
    // Credentials from the Secret win over a custom header of the same name (any case).
    if (auth !== undefined && key.toLowerCase() === "authorization") continue;
    headers[key] = value;
  }
  if (auth !== undefined) headers.authorization = auth;
  return headers;
}

async function send(
  url: URL,
  headers: Record<string, string>,
  insecureSkipVerify: boolean,
  timeoutMs: number,
): Promise<QueryOutcome> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    return interpret(await get(url, headers, insecureSkipVerify, abort.signal));
  } catch (error) {
    if (abort.signal.aborted) {
      return { kind: "error", reason: "timeout", message: `Prometheus did not answer within ${timeoutMs}ms` };
    }
    if (error instanceof AnswerTooLarge) {
      return { kind: "error", reason: "query", message: error.message };
    }
    return {
      kind: "error",
      reason: "unreachable",
      message: `Prometheus unreachable: ${networkError(error)}`,
    };
  } finally {
    clearTimeout(timer);
  }
}

function get(
  url: URL,
  headers: Record<string, string>,
  insecureSkipVerify: boolean,
  signal: AbortSignal,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === "https:" ? https : http;
    const tls = url.protocol === "https:" ? { rejectUnauthorized: !insecureSkipVerify } : {};
    const request = client.request(url, { method: "GET", headers, signal, ...tls }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxAnswerBytes) {
          reject(
            new AnswerTooLarge("Prometheus answered with more than 1 MiB; aggregate the query to one value"),
          );
          request.destroy();
          return;
        }
        chunks.push(chunk);
      });
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          statusMessage: response.statusMessage ?? "",
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      response.on("error", reject);
      // Destroyed mid-answer (timeout, size limit): settle even if no error reaches us.
      response.on("close", () => {
        if (!response.complete) reject(new Error("connection closed before the answer was complete"));
      });
    });
    request.on("error", reject);
    request.end();
  });
}

function networkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === undefined) return error.message;
  return error.message.includes(code) ? code : `${code} (${error.message})`;
}

/** The shape of every Prometheus API answer. */
interface ApiAnswer {
  status?: unknown;
  errorType?: unknown;
  error?: unknown;
  data?: { resultType?: unknown; result?: unknown };
}

function interpret(answer: HttpAnswer): QueryOutcome {
  let body: ApiAnswer | undefined;
  try {
    const parsed: unknown = JSON.parse(answer.body);
    if (typeof parsed === "object" && parsed !== null) body = parsed as ApiAnswer;
  } catch {
    body = undefined;
  }

  if (answer.status < 200 || answer.status > 299) {
    if (body?.status === "error") {
      const errorType = String(body.errorType ?? "unknown");
      const error = String(body.error ?? "");
      // bad_data: the query does not parse; execution: it failed to evaluate.
      if (errorType === "bad_data" || errorType === "execution") {
        return {
          kind: "error",
          reason: "query",
          message: `Prometheus rejected the query (${errorType}): ${error}`,
        };
      }
      if (errorType === "timeout") {
        return {
          kind: "error",
          reason: "timeout",
          message: `Prometheus timed out evaluating the query: ${error}`,
        };
      }
      return {
        kind: "error",
        reason: "http",
        message: `Prometheus answered HTTP ${answer.status} (${errorType}): ${error}`,
      };
    }
    return {
      kind: "error",
      reason: "http",
      message: `Prometheus answered HTTP ${answer.status}: ${snippet(answer.body) || answer.statusMessage}`,
    };
  }

  if (body?.status !== "success" || body.data === undefined) {
    return {
      kind: "error",
      reason: "http",
      message: `not a Prometheus answer (HTTP ${answer.status}): ${snippet(answer.body)}`,
    };
  }
  const { resultType, result } = body.data;
  if (resultType === "scalar" && Array.isArray(result)) return sample(result[1]);
  if (resultType === "vector" && Array.isArray(result)) {
    if (result.length === 0) return { kind: "no-data", message: "the query returned an empty result" };
    if (result.length > 1) {
      return {
        kind: "error",
        reason: "query",
        message: `the query returned ${result.length} series where one value was expected; aggregate it, e.g. with sum()`,
      };
    }
    const only: unknown = result[0];
    const value = typeof only === "object" && only !== null ? (only as { value?: unknown }).value : undefined;
    return sample(Array.isArray(value) ? value[1] : undefined);
  }
  return {
    kind: "error",
    reason: "query",
    message: `the query returned a ${String(resultType)}; an instant vector or scalar was expected`,
  };
}

/** A sample value as Prometheus encodes it: a string, with NaN and ±Inf spelled out. */
function sample(raw: unknown): QueryOutcome {
  if (raw === "NaN" || raw === "+Inf" || raw === "-Inf") {
    return { kind: "no-data", message: `the query returned ${raw}` };
  }
  const value = typeof raw === "string" ? Number(raw) : Number.NaN;
  if (raw === "" || !Number.isFinite(value)) {
    return {
      kind: "error",
      reason: "http",
      message: `Prometheus sent a malformed sample value ${JSON.stringify(raw)}`,
    };
  }
  return { kind: "value", value };
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat;
}
