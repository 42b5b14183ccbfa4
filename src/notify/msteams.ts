// Microsoft Teams: an Adaptive Card posted to a Teams Workflows webhook. The Office 365
// connector MessageCard format is retired; Workflows only render Adaptive Cards.
import type { Severity } from "../api/common.ts";
import { checkText, facts, headline, type Notification, notableChecks } from "./message.ts";
import { jsonHeaders, type ProviderFormat } from "./provider.ts";

/** Adaptive Card text colours by severity. */
const colour: Readonly<Record<Severity, string>> = { info: "Accent", warn: "Warning", error: "Attention" };

/** The Workflows message: one attachment holding an Adaptive Card 1.4. */
export function msteamsPayload(n: Notification) {
  const body: unknown[] = [
    {
      type: "TextBlock",
      text: headline(n),
      size: "Medium",
      weight: "Bolder",
      color: colour[n.severity],
      wrap: true,
    },
    { type: "TextBlock", text: n.message, wrap: true },
    { type: "FactSet", facts: facts(n).map((f) => ({ title: f.label, value: f.value })) },
  ];
  const checks = notableChecks(n);
  if (checks.length > 0) {
    body.push({ type: "TextBlock", text: "Checks", weight: "Bolder", wrap: true, spacing: "Medium" });
    for (const c of checks) {
      body.push({
        type: "TextBlock",
        text: `- ${checkText(c)}`,
        color: c.verdict === "Pass" ? "Default" : "Attention",
        wrap: true,
        spacing: "None",
      });
    }
  }
  if (n.next !== undefined) {
    body.push({ type: "TextBlock", text: `Next: ${n.next}`, wrap: true, spacing: "Medium" });
  }
  body.push({
    type: "TextBlock",
    text: `${n.severity} · ${n.reason} · ${n.timestamp}`,
    isSubtle: true,
    size: "Small",
    wrap: true,
  });
  return {
    type: "message",
    attachments: [
      {
        contentType: "application/vnd.microsoft.card.adaptive",
        contentUrl: null,
        content: {
          $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
          type: "AdaptiveCard",
          version: "1.4",
          msteams: { width: "Full" },
          body,
        },
      },
    ],
  };
}

/** Teams Workflows webhook ("Post to a channel when a webhook request is received"); answers 202. */
export const msteams: ProviderFormat = {
  request(n, provider) {
    return { url: provider.address, headers: jsonHeaders(), body: JSON.stringify(msteamsPayload(n)) };
  },
};
