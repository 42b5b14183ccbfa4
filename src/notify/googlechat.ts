// Google Chat: a cardsV2 message posted to a space's incoming webhook.
import type { Severity } from "../api/common.ts";
import { checkText, facts, headline, type Notification, notableChecks } from "./message.ts";
import { jsonHeaders, type ProviderFormat } from "./provider.ts";

/** Google Chat text widgets read a small HTML subset; names must not become markup. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const colour: Readonly<Record<Severity, string>> = { info: "#3b82f6", warn: "#f59e0b", error: "#dc2626" };

/** The cardsV2 message for `n`. */
export function googlechatPayload(n: Notification) {
  const sections: unknown[] = [
    {
      widgets: [
        {
          textParagraph: {
            text: `<font color="${colour[n.severity]}"><b>${escapeHtml(n.severity.toUpperCase())}</b></font> ${escapeHtml(n.message)}`,
          },
        },
      ],
    },
    {
      header: "Details",
      widgets: facts(n).map((f) => ({ decoratedText: { topLabel: f.label, text: escapeHtml(f.value) } })),
    },
  ];
  const checks = notableChecks(n);
  if (checks.length > 0) {
    sections.push({
      header: "Checks",
      widgets: checks.map((c) => ({ textParagraph: { text: escapeHtml(checkText(c)) } })),
    });
  }
  if (n.next !== undefined) {
    sections.push({ header: "Next", widgets: [{ textParagraph: { text: escapeHtml(n.next) } }] });
  }
  return {
    fallbackText: `${headline(n)}: ${n.message}`,
    cardsV2: [
      {
        cardId: `wren-${n.id}`,
        card: {
          header: {
            title: headline(n),
            subtitle: `${n.cluster} · ${n.severity} · ${n.timestamp}`,
          },
          sections,
        },
      },
    ],
  };
}

/** Google Chat space webhook (https://chat.googleapis.com/v1/spaces/.../messages?key=...&token=...). */
export const googlechat: ProviderFormat = {
  request(n, provider) {
    return { url: provider.address, headers: jsonHeaders(), body: JSON.stringify(googlechatPayload(n)) };
  },
};
