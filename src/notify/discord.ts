// Discord: one webhook embed, coloured by severity.
import type { Severity } from "../api/common.ts";
import { checkText, facts, headline, type Notification, notableChecks, truncate } from "./message.ts";
import { jsonHeaders, type ProviderConfig, type ProviderFormat } from "./provider.ts";

/** Embed colours (decimal RGB, as Discord wants them) by severity. */
export const discordColour: Readonly<Record<Severity, number>> = {
  info: 0x3b82f6,
  warn: 0xf59e0b,
  error: 0xdc2626,
};

/** Discord markdown would turn a name like my_app_v2 into italics; a backslash keeps it literal. */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\*_~`|[\]])/g, "\\$1").replace(/^([#>-])/gm, "\\$1");
}

/** The webhook body (limits: title 256, description 4096, 25 fields, name 256, value 1024). */
export function discordPayload(n: Notification, provider: Pick<ProviderConfig, "username">) {
  const fields = facts(n).map((f) => ({
    name: truncate(f.label, 256),
    value: truncate(escapeMarkdown(f.value), 1024),
    inline: true,
  }));
  const checks = notableChecks(n);
  if (checks.length > 0) {
    const lines = checks.map((c) => `- ${escapeMarkdown(checkText(c))}`).join("\n");
    fields.push({ name: "Checks", value: truncate(lines, 1024), inline: false });
  }
  if (n.next !== undefined) {
    fields.push({ name: "Next", value: truncate(escapeMarkdown(n.next), 1024), inline: false });
  }
  return {
    ...(provider.username !== undefined ? { username: provider.username } : {}),
    // A rollout message must never ping @everyone or a role, whatever its text says.
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: truncate(headline(n), 256),
        description: truncate(escapeMarkdown(n.message), 4096),
        color: discordColour[n.severity],
        fields: fields.slice(0, 25),
        footer: { text: `${n.severity} · ${n.reason}` },
        timestamp: n.timestamp,
      },
    ],
  };
}

/** Discord webhook; answers 204. */
export const discord: ProviderFormat = {
  request(n, provider) {
    return {
      url: provider.address,
      headers: jsonHeaders(),
      body: JSON.stringify(discordPayload(n, provider)),
    };
  },
};
