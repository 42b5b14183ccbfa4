// The generic webhook: the Notification as JSON, signed with HMAC-SHA256 when the
// Secret holds a signingKey (README.md documents the headers and how to verify).
import type { Notification } from "./message.ts";
import { jsonHeaders, type ProviderConfig, type ProviderFormat } from "./provider.ts";
import { signatureHeaders } from "./signature.ts";

/** The JSON body: every Notification field, plus the provider's channel and username when set. */
export function webhookPayload(n: Notification, provider: Pick<ProviderConfig, "channel" | "username">) {
  return {
    ...n,
    ...(provider.channel !== undefined ? { channel: provider.channel } : {}),
    ...(provider.username !== undefined ? { username: provider.username } : {}),
  };
}

/** Generic JSON webhook; each attempt is signed afresh, so a retry is never mistaken for a replay. */
export const webhook: ProviderFormat = {
  request(n, provider, nowMs) {
    const body = JSON.stringify(webhookPayload(n, provider));
    const headers = { ...jsonHeaders(), "x-wren-delivery": n.id };
    if (provider.signingKey !== undefined)
      Object.assign(headers, signatureHeaders(provider.signingKey, nowMs, body));
    return { url: provider.address, headers, body };
  },
};
