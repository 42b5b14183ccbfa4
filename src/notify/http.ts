// One delivery attempt over HTTP, and what its answer means for retrying.
import type { Acceptance, OutboundRequest } from "./provider.ts";

/** Why an attempt did not deliver: the provider refused (rejected), erred (http), or was not reached. */
export type FailureReason = "rejected" | "http" | "unreachable" | "timeout";

/** The result of one attempt. `detail` is already redacted. */
export type AttemptOutcome =
  | { ok: true; status: number }
  | { ok: false; retryable: boolean; reason: FailureReason; detail: string; retryAfterMs?: number };

export interface PostOptions {
  signal: AbortSignal;
  /** Time of the attempt; Retry-After dates are measured from it. */
  nowMs: number;
  /** Judges a 2xx body (Slack's Web API says no with 200). */
  accept?: (body: string) => Acceptance;
  /** Removes secrets from any text that ends up in `detail`. */
  redact: (text: string) => string;
}

/** Longest excerpt of an answer kept for the log. */
const excerptLength = 200;

/**
 * Milliseconds a `Retry-After` header asks us to wait: delta-seconds (`120`,
 * Discord sends `1.5`) or an HTTP date. Undefined when absent or unreadable.
 */
export function retryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^[0-9]+(\.[0-9]+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** POSTs `request` and classifies the outcome; never throws. */
export async function post(request: OutboundRequest, options: PostOptions): Promise<AttemptOutcome> {
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      signal: options.signal,
      // A redirect would carry the message somewhere the Secret did not name.
      redirect: "manual",
    });
  } catch (error) {
    if (options.signal.aborted) return { ok: false, retryable: true, reason: "timeout", detail: "timed out" };
    return { ok: false, retryable: true, reason: "unreachable", detail: options.redact(networkError(error)) };
  }
  const body = await response.text().catch(() => "");
  const excerpt = options.redact(body.slice(0, excerptLength).replace(/\s+/g, " ").trim());
  const status = response.status;
  const said = excerpt === "" ? `HTTP ${status}` : `HTTP ${status}: ${excerpt}`;
  if (status >= 200 && status < 300) {
    const accepted = options.accept?.(body) ?? { ok: true };
    if (accepted.ok) return { ok: true, status };
    return {
      ok: false,
      retryable: accepted.retryable,
      reason: "rejected",
      detail: options.redact(accepted.detail),
    };
  }
  if (status === 429 || status === 408 || status >= 500) {
    const wait = retryAfterMs(response.headers.get("retry-after"), options.nowMs);
    return {
      ok: false,
      retryable: true,
      reason: "http",
      detail: said,
      ...(wait !== undefined ? { retryAfterMs: wait } : {}),
    };
  }
  if (status >= 300 && status < 400) {
    return {
      ok: false,
      retryable: false,
      reason: "rejected",
      detail: `HTTP ${status}: redirects are not followed`,
    };
  }
  return { ok: false, retryable: false, reason: "rejected", detail: said };
}

/** "ECONNREFUSED: connect ECONNREFUSED 10.0.0.1:443" from fetch's wrapped error. */
function networkError(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as NodeJS.ErrnoException).code;
  const message = cause.message.slice(0, excerptLength);
  if (code === undefined || message.includes(code)) return message;
  return `${code}: ${message}`;
}
