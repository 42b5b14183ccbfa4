// Slack: Block Kit, through an incoming webhook or, with a bot token, chat.postMessage.
import type { Severity } from "../api/common.ts";
import { checkText, facts, headline, type Notification, notableChecks, truncate } from "./message.ts";
import { type Acceptance, jsonHeaders, type ProviderConfig, type ProviderFormat } from "./provider.ts";

const icon: Readonly<Record<Severity, string>> = {
  info: ":information_source:",
  warn: ":warning:",
  error: ":rotating_light:",
};

/** Slack mrkdwn treats &, < and > as control characters (links, mentions). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The Block Kit message for `n` (limits: header 150, section 3000, 10 fields of 2000). */
export function slackPayload(n: Notification, provider: Pick<ProviderConfig, "channel" | "username">) {
  const title = `${icon[n.severity]} ${headline(n)}`;
  const blocks: unknown[] = [
    { type: "header", text: { type: "plain_text", text: truncate(title, 150), emoji: true } },
    { type: "section", text: { type: "mrkdwn", text: truncate(escapeMrkdwn(n.message), 3000) } },
    {
      type: "section",
      fields: facts(n)
        .slice(0, 10)
        .map((f) => ({ type: "mrkdwn", text: truncate(`*${f.label}*\n${escapeMrkdwn(f.value)}`, 2000) })),
    },
  ];
  const checks = notableChecks(n);
  if (checks.length > 0) {
    const lines = checks.map((c) => `• ${escapeMrkdwn(checkText(c))}`).join("\n");
    blocks.push({ type: "section", text: { type: "mrkdwn", text: truncate(`*Checks*\n${lines}`, 3000) } });
  }
  if (n.next !== undefined) {
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: truncate(`*Next*\n${escapeMrkdwn(n.next)}`, 3000) },
    });
  }
  blocks.push({
    type: "context",
    elements: [{ type: "mrkdwn", text: `${n.severity} · ${escapeMrkdwn(n.reason)} · ${n.timestamp}` }],
  });
  return {
    ...(provider.channel !== undefined ? { channel: provider.channel } : {}),
    ...(provider.username !== undefined ? { username: provider.username } : {}),
    // Notifications and screen readers show `text`; the blocks are the message.
    text: truncate(escapeMrkdwn(`${title}: ${n.message}`), 3000),
    blocks,
  };
}

/** chat.postMessage answers 200 with `ok: false` when it refuses a message. */
function acceptWebApi(body: string): Acceptance {
  let answer: { ok?: unknown; error?: unknown } | undefined;
  try {
    answer = JSON.parse(body) as { ok?: unknown; error?: unknown };
  } catch {
    return { ok: false, retryable: false, detail: "Slack answered with something other than JSON" };
  }
  if (answer?.ok === true) return { ok: true };
  const error = typeof answer?.error === "string" ? answer.error : "unknown error";
  return {
    ok: false,
    retryable: error === "ratelimited" || error === "service_unavailable",
    detail: `Slack: ${error}`,
  };
}

/** Slack: an incoming webhook, or chat.postMessage at `address` when a bot token is set. */
export const slack: ProviderFormat = {
  request(n, provider) {
    const headers = jsonHeaders();
    if (provider.token !== undefined) headers.authorization = `Bearer ${provider.token}`;
    return { url: provider.address, headers, body: JSON.stringify(slackPayload(n, provider)) };
  },
  accept(body) {
    // Incoming webhooks answer a plain "ok"; only the Web API answers JSON.
    return body.trimStart().startsWith("{") ? acceptWebApi(body) : { ok: true };
  },
};
