// HMAC-SHA256 signatures of the generic webhook, and their verification (for
// receivers and tests). The timestamp is signed with the body, so a receiver that
// rejects old timestamps rejects replays: a replayed request cannot carry a new
// timestamp without a new signature, which only the key holder can make.
import { createHmac, timingSafeEqual } from "node:crypto";

export const timestampHeader = "x-wren-timestamp";
export const signatureHeader = "x-wren-signature";

/** How far a timestamp may lie from the receiver's clock, by default. */
export const defaultToleranceSeconds = 300;

/** `sha256=<hex>` of HMAC-SHA256(key, `${timestamp}.${body}`). */
export function sign(signingKey: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", signingKey).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** The headers that sign `body` at `nowMs`. */
export function signatureHeaders(signingKey: string, nowMs: number, body: string): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return { [timestampHeader]: String(timestamp), [signatureHeader]: sign(signingKey, timestamp, body) };
}

/** Why a signed request was refused. */
export type VerifyResult =
  | { ok: true; timestamp: number }
  | { ok: false; reason: "missing" | "malformed" | "bad-signature" | "stale" };

export interface VerifyOptions {
  signingKey: string;
  /** The raw body, exactly as received. */
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
  /** The receiver's clock, in milliseconds. */
  nowMs: number;
  toleranceSeconds?: number;
}

/**
 * What a receiver does: recompute the signature over the raw body, compare in
 * constant time, then refuse timestamps outside the tolerance (a replay).
 */
export function verify(options: VerifyOptions): VerifyResult {
  const { timestamp, signature } = options;
  if (timestamp === undefined || signature === undefined) return { ok: false, reason: "missing" };
  if (!/^[0-9]{1,12}$/.test(timestamp) || !/^sha256=[0-9a-f]{64}$/.test(signature)) {
    return { ok: false, reason: "malformed" };
  }
  const seconds = Number(timestamp);
  const expected = Buffer.from(sign(options.signingKey, seconds, options.body));
  if (!timingSafeEqual(expected, Buffer.from(signature))) return { ok: false, reason: "bad-signature" };
  const tolerance = options.toleranceSeconds ?? defaultToleranceSeconds;
  if (Math.abs(options.nowMs / 1000 - seconds) > tolerance) return { ok: false, reason: "stale" };
  return { ok: true, timestamp: seconds };
}
