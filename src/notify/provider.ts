// What a provider format is: a resolved AlertProvider in, one HTTP request out.
import type { AlertProviderType } from "../api/alert-provider.ts";
import type { Notification } from "./message.ts";

/** An AlertProvider with its Secret read: everything needed to post. Holds secrets; never log it. */
export interface ProviderConfig {
  /** `namespace/name` of the AlertProvider: the `provider` label of metrics and log lines. */
  key: string;
  type: AlertProviderType;
  /** Where messages are POSTed (Secret key `address`). Secret. */
  address: string;
  /** Slack bot token (Secret key `token`). Secret. */
  token?: string;
  /** HMAC key of the generic webhook (Secret key `signingKey`). Secret. */
  signingKey?: string;
  channel?: string;
  username?: string;
  /** Longest one attempt may take. */
  timeoutMs: number;
  /** Most messages in any 60 seconds. */
  rateLimit: number;
}

/** One HTTP POST, ready to send. */
export interface OutboundRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** How a provider judged a 2xx answer: some APIs answer 200 and say no in the body. */
export type Acceptance = { ok: true } | { ok: false; retryable: boolean; detail: string };

/** One chat tool's native format. */
export interface ProviderFormat {
  /** The request that posts `n`. `nowMs` is the time of this attempt (used by signatures). */
  request(n: Notification, provider: ProviderConfig, nowMs: number): OutboundRequest;
  /** Judges the body of a 2xx answer; absent means every 2xx is a delivery. */
  accept?(body: string): Acceptance;
}

/** Headers every provider request carries. */
export function jsonHeaders(): Record<string, string> {
  return { "content-type": "application/json; charset=utf-8", "user-agent": "wren" };
}
