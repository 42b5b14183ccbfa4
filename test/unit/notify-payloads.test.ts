// Each provider's native payload, as the receiver gets it over HTTP (nock).
import nock from "nock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AlertProviderType } from "../../src/api/alert-provider.ts";
import { staticLookup } from "../../src/notify/lookup.ts";
import type { Notification } from "../../src/notify/message.ts";
import { Notifier } from "../../src/notify/notifier.ts";
import { verify } from "../../src/notify/signature.ts";

const rolledBack: Notification = {
  id: "0b7c2f7e-3d7a-4b8e-9d1e-2a7f6c1d9e10",
  severity: "error",
  cluster: "prod-eu-1",
  namespace: "shop",
  kind: "Canary",
  name: "podinfo",
  revision: "7f9c2d1a3b",
  phase: "Failed",
  weights: { primary: 100, canary: 0 },
  reason: "RolledBack",
  message: "rolled back revision 7f9c2d1a3b: request-success-rate failed 3 checks",
  next: "All traffic is on the primary (the previous revision). Change the Deployment to try again, or kubectl wren retry podinfo -n shop.",
  checks: [
    { name: "request-success-rate", verdict: "Fail", value: 91.23456, thresholdRange: { min: 99 } },
    { name: "request-duration", verdict: "Pass", value: 180, thresholdRange: { max: 500 } },
  ],
  timestamp: "2025-03-04T10:15:00.000Z",
};

const promoted: Notification = {
  id: "5d1e8a90-1c2b-4e3f-8a7b-6c5d4e3f2a1b",
  severity: "info",
  cluster: "prod-eu-1",
  namespace: "shop",
  kind: "Canary",
  name: "cart_v2",
  revision: "a1b2c3d4e5",
  phase: "Promoting",
  weights: { primary: 50, canary: 50 },
  reason: "Promoting",
  message: "promoted by hand: <all> checks & gates *passed*",
  manualAction: { action: "promote", requestedBy: "alice@example.com", requestedAt: "2025-03-04T10:14:00Z" },
  timestamp: "2025-03-04T10:15:00.000Z",
};

interface Captured {
  body: unknown;
  raw: string;
  headers: Record<string, string>;
}

const addresses: Record<AlertProviderType, string> = {
  slack: "https://hooks.slack.com/services/T0001/B0002/abcDEF123456secret",
  msteams:
    "https://prod-00.westeurope.logic.azure.com/workflows/0a1b2c3d/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SIGsecret123",
  discord: "https://discord.com/api/webhooks/123456789/tokenSECRET987",
  googlechat: "https://chat.googleapis.com/v1/spaces/AAAA1234/messages?key=KEYsecret1&token=TOKsecret2",
  webhook: "https://receiver.example.com/wren/hook",
};

/** Sends `n` through a provider of `type` and returns what the receiver got. */
async function deliver(
  type: AlertProviderType,
  n: Notification,
  extra: { spec?: Record<string, unknown>; secret?: Record<string, string>; reply?: [number, string] } = {},
): Promise<Captured> {
  const address = extra.secret?.address ?? addresses[type];
  const url = new URL(address);
  let captured: Captured | undefined;
  const [status, answer] = extra.reply ?? [200, "ok"];
  const scope = nock(url.origin).post(url.pathname).query(true).reply(status, answer);
  scope.on("request", (req: { headers: unknown }, _interceptor: unknown, raw: string) => {
    captured = { body: JSON.parse(raw), raw, headers: headerRecord(req.headers) };
  });
  const notifier = new Notifier({
    lookup: staticLookup({
      alertProviders: { "shop/chat": { type, secretRef: { name: "chat" }, ...extra.spec } },
      secrets: { "shop/chat": { address, ...extra.secret } },
    }),
  });
  notifier.notify(n, [{ providerRef: { name: "chat" } }]);
  await notifier.idle();
  expect(scope.isDone()).toBe(true);
  if (captured === undefined) throw new Error("nothing received");
  return captured;
}

/** nock hands fetch requests' headers over as a Headers object. */
function headerRecord(headers: unknown): Record<string, string> {
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  return Object.fromEntries(
    Object.entries(headers as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
  );
}

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe("Slack", () => {
  it("posts Block Kit to the incoming webhook", async () => {
    const got = await deliver("slack", rolledBack);
    expect(got.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(got.headers.authorization).toBeUndefined();
    expect(got.body).toMatchInlineSnapshot(`
      {
        "blocks": [
          {
            "text": {
              "emoji": true,
              "text": ":rotating_light: Canary shop/podinfo: Rolled back",
              "type": "plain_text",
            },
            "type": "header",
          },
          {
            "text": {
              "text": "rolled back revision 7f9c2d1a3b: request-success-rate failed 3 checks",
              "type": "mrkdwn",
            },
            "type": "section",
          },
          {
            "fields": [
              {
                "text": "*Cluster*
      prod-eu-1",
                "type": "mrkdwn",
              },
              {
                "text": "*Namespace*
      shop",
                "type": "mrkdwn",
              },
              {
                "text": "*Object*
      Canary/podinfo",
                "type": "mrkdwn",
              },
              {
                "text": "*Revision*
      7f9c2d1a3b",
                "type": "mrkdwn",
              },
              {
                "text": "*Phase*
      Failed",
                "type": "mrkdwn",
              },
              {
                "text": "*Weights*
      primary 100% · canary 0%",
                "type": "mrkdwn",
              },
            ],
            "type": "section",
          },
          {
            "text": {
              "text": "*Checks*
      • request-success-rate failed: 91.2346 (min 99)",
              "type": "mrkdwn",
            },
            "type": "section",
          },
          {
            "text": {
              "text": "*Next*
      All traffic is on the primary (the previous revision). Change the Deployment to try again, or kubectl wren retry podinfo -n shop.",
              "type": "mrkdwn",
            },
            "type": "section",
          },
          {
            "elements": [
              {
                "text": "error · RolledBack · 2025-03-04T10:15:00.000Z",
                "type": "mrkdwn",
              },
            ],
            "type": "context",
          },
        ],
        "text": ":rotating_light: Canary shop/podinfo: Rolled back: rolled back revision 7f9c2d1a3b: request-success-rate failed 3 checks",
      }
    `);
  });

  it("escapes mrkdwn control characters and shows the manual action", async () => {
    const got = await deliver("slack", promoted, { spec: { username: "wren-bot" } });
    expect(got.body).toMatchInlineSnapshot(`
      {
        "blocks": [
          {
            "text": {
              "emoji": true,
              "text": ":information_source: Canary shop/cart_v2: Promoting",
              "type": "plain_text",
            },
            "type": "header",
          },
          {
            "text": {
              "text": "promoted by hand: &lt;all&gt; checks &amp; gates *passed*",
              "type": "mrkdwn",
            },
            "type": "section",
          },
          {
            "fields": [
              {
                "text": "*Cluster*
      prod-eu-1",
                "type": "mrkdwn",
              },
              {
                "text": "*Namespace*
      shop",
                "type": "mrkdwn",
              },
              {
                "text": "*Object*
      Canary/cart_v2",
                "type": "mrkdwn",
              },
              {
                "text": "*Revision*
      a1b2c3d4e5",
                "type": "mrkdwn",
              },
              {
                "text": "*Phase*
      Promoting",
                "type": "mrkdwn",
              },
              {
                "text": "*Weights*
      primary 50% · canary 50%",
                "type": "mrkdwn",
              },
              {
                "text": "*Manual action*
      promote by alice@example.com at 2025-03-04T10:14:00Z",
                "type": "mrkdwn",
              },
            ],
            "type": "section",
          },
          {
            "elements": [
              {
                "text": "info · Promoting · 2025-03-04T10:15:00.000Z",
                "type": "mrkdwn",
              },
            ],
            "type": "context",
          },
        ],
        "text": ":information_source: Canary shop/cart_v2: Promoting: promoted by hand: &lt;all&gt; checks &amp; gates *passed*",
        "username": "wren-bot",
      }
    `);
  });

  it("with a bot token posts to chat.postMessage with the channel and a bearer token", async () => {
    const got = await deliver("slack", rolledBack, {
      spec: { channel: "C0123456789" },
      secret: { address: "https://slack.com/api/chat.postMessage", token: "xoxb-1-secret" },
      reply: [200, '{"ok":true,"channel":"C0123456789","ts":"1.2"}'],
    });
    expect(got.headers.authorization).toBe("Bearer xoxb-1-secret");
    expect(got.body).toMatchObject({ channel: "C0123456789", text: expect.stringContaining("Rolled back") });
  });
});

describe("Microsoft Teams", () => {
  it("posts an Adaptive Card attachment to the Workflows webhook, never a MessageCard", async () => {
    const got = await deliver("msteams", rolledBack, { reply: [202, ""] });
    expect(got.raw).not.toContain("MessageCard");
    expect(got.body).toMatchObject({
      type: "message",
      attachments: [
        { contentType: "application/vnd.microsoft.card.adaptive", content: { type: "AdaptiveCard" } },
      ],
    });
    expect(got.body).toMatchInlineSnapshot(`
      {
        "attachments": [
          {
            "content": {
              "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
              "body": [
                {
                  "color": "Attention",
                  "size": "Medium",
                  "text": "Canary shop/podinfo: Rolled back",
                  "type": "TextBlock",
                  "weight": "Bolder",
                  "wrap": true,
                },
                {
                  "text": "rolled back revision 7f9c2d1a3b: request-success-rate failed 3 checks",
                  "type": "TextBlock",
                  "wrap": true,
                },
                {
                  "facts": [
                    {
                      "title": "Cluster",
                      "value": "prod-eu-1",
                    },
                    {
                      "title": "Namespace",
                      "value": "shop",
                    },
                    {
                      "title": "Object",
                      "value": "Canary/podinfo",
                    },
                    {
                      "title": "Revision",
                      "value": "7f9c2d1a3b",
                    },
                    {
                      "title": "Phase",
                      "value": "Failed",
                    },
                    {
                      "title": "Weights",
                      "value": "primary 100% · canary 0%",
                    },
                  ],
                  "type": "FactSet",
                },
                {
                  "spacing": "Medium",
                  "text": "Checks",
                  "type": "TextBlock",
                  "weight": "Bolder",
                  "wrap": true,
                },
                {
                  "color": "Attention",
                  "spacing": "None",
                  "text": "- request-success-rate failed: 91.2346 (min 99)",
                  "type": "TextBlock",
                  "wrap": true,
                },
                {
                  "spacing": "Medium",
                  "text": "Next: All traffic is on the primary (the previous revision). Change the Deployment to try again, or kubectl wren retry podinfo -n shop.",
                  "type": "TextBlock",
                  "wrap": true,
                },
                {
                  "isSubtle": true,
                  "size": "Small",
                  "text": "error · RolledBack · 2025-03-04T10:15:00.000Z",
                  "type": "TextBlock",
                  "wrap": true,
                },
              ],
              "msteams": {
                "width": "Full",
              },
              "type": "AdaptiveCard",
              "version": "1.4",
            },
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
          },
        ],
        "type": "message",
      }
    `);
  });
});

describe("Discord", () => {
  it("posts one embed and allows no mentions", async () => {
    const got = await deliver("discord", rolledBack, { spec: { username: "wren" }, reply: [204, ""] });
    expect(got.body).toMatchInlineSnapshot(`
      {
        "allowed_mentions": {
          "parse": [],
        },
        "embeds": [
          {
            "color": 14427686,
            "description": "rolled back revision 7f9c2d1a3b: request-success-rate failed 3 checks",
            "fields": [
              {
                "inline": true,
                "name": "Cluster",
                "value": "prod-eu-1",
              },
              {
                "inline": true,
                "name": "Namespace",
                "value": "shop",
              },
              {
                "inline": true,
                "name": "Object",
                "value": "Canary/podinfo",
              },
              {
                "inline": true,
                "name": "Revision",
                "value": "7f9c2d1a3b",
              },
              {
                "inline": true,
                "name": "Phase",
                "value": "Failed",
              },
              {
                "inline": true,
                "name": "Weights",
                "value": "primary 100% · canary 0%",
              },
              {
                "inline": false,
                "name": "Checks",
                "value": "- request-success-rate failed: 91.2346 (min 99)",
              },
              {
                "inline": false,
                "name": "Next",
                "value": "All traffic is on the primary (the previous revision). Change the Deployment to try again, or kubectl wren retry podinfo -n shop.",
              },
            ],
            "footer": {
              "text": "error · RolledBack",
            },
            "timestamp": "2025-03-04T10:15:00.000Z",
            "title": "Canary shop/podinfo: Rolled back",
          },
        ],
        "username": "wren",
      }
    `);
  });

  it("colours the embed by severity", async () => {
    const colours: Record<string, unknown> = {};
    for (const severity of ["info", "warn", "error"] as const) {
      const got = await deliver("discord", { ...rolledBack, severity }, { reply: [204, ""] });
      colours[severity] = (got.body as { embeds: { color: unknown }[] }).embeds[0]?.color;
    }
    expect(colours).toEqual({ info: 0x3b82f6, warn: 0xf59e0b, error: 0xdc2626 });
  });

  it("keeps markdown in names literal", async () => {
    const got = await deliver("discord", promoted, { reply: [204, ""] });
    const embed = (
      got.body as { embeds: { description: string; fields: { name: string; value: string }[] }[] }
    ).embeds[0];
    expect(embed?.description).toBe("promoted by hand: <all> checks & gates \\*passed\\*");
    expect(embed?.fields.find((f) => f.name === "Object")?.value).toBe("Canary/cart\\_v2");
  });
});

describe("Google Chat", () => {
  it("posts cardsV2 to the space webhook", async () => {
    const got = await deliver("googlechat", rolledBack);
    expect(got.body).toMatchInlineSnapshot(`
      {
        "cardsV2": [
          {
            "card": {
              "header": {
                "subtitle": "prod-eu-1 · error · 2025-03-04T10:15:00.000Z",
                "title": "Canary shop/podinfo: Rolled back",
              },
              "sections": [
                {
                  "widgets": [
                    {
                      "textParagraph": {
                        "text": "<font color="#dc2626"><b>ERROR</b></font> rolled back revision 7f9c2d1a3b: request-success-rate failed 3 checks",
                      },
                    },
                  ],
                },
                {
                  "header": "Details",
                  "widgets": [
                    {
                      "decoratedText": {
                        "text": "prod-eu-1",
                        "topLabel": "Cluster",
                      },
                    },
                    {
                      "decoratedText": {
                        "text": "shop",
                        "topLabel": "Namespace",
                      },
                    },
                    {
                      "decoratedText": {
                        "text": "Canary/podinfo",
                        "topLabel": "Object",
                      },
                    },
                    {
                      "decoratedText": {
                        "text": "7f9c2d1a3b",
                        "topLabel": "Revision",
                      },
                    },
                    {
                      "decoratedText": {
                        "text": "Failed",
                        "topLabel": "Phase",
                      },
                    },
                    {
                      "decoratedText": {
                        "text": "primary 100% · canary 0%",
                        "topLabel": "Weights",
                      },
                    },
                  ],
                },
                {
                  "header": "Checks",
                  "widgets": [
                    {
                      "textParagraph": {
                        "text": "request-success-rate failed: 91.2346 (min 99)",
                      },
                    },
                  ],
                },
                {
                  "header": "Next",
                  "widgets": [
                    {
                      "textParagraph": {
                        "text": "All traffic is on the primary (the previous revision). Change the Deployment to try again, or kubectl wren retry podinfo -n shop.",
                      },
                    },
                  ],
                },
              ],
            },
            "cardId": "wren-0b7c2f7e-3d7a-4b8e-9d1e-2a7f6c1d9e10",
          },
        ],
        "fallbackText": "Canary shop/podinfo: Rolled back: rolled back revision 7f9c2d1a3b: request-success-rate failed 3 checks",
      }
    `);
  });

  it("escapes HTML in text widgets", async () => {
    const got = await deliver("googlechat", promoted);
    const card = (
      got.body as { cardsV2: { card: { sections: { widgets: { textParagraph?: { text: string } }[] }[] } }[] }
    ).cardsV2[0]?.card;
    const paragraph = card?.sections[0]?.widgets[0]?.textParagraph?.text;
    expect(paragraph).toContain("promoted by hand: &lt;all&gt; checks &amp; gates *passed*");
    expect(paragraph).not.toContain("<all>");
  });
});

describe("generic webhook", () => {
  it("posts the Notification as JSON, signed over the timestamp and body", async () => {
    const got = await deliver("webhook", rolledBack, {
      spec: { channel: "releases" },
      secret: { signingKey: "s3cr3t-signing-key" },
    });
    expect(got.body).toMatchInlineSnapshot(`
      {
        "channel": "releases",
        "checks": [
          {
            "name": "request-success-rate",
            "thresholdRange": {
              "min": 99,
            },
            "value": 91.23456,
            "verdict": "Fail",
          },
          {
            "name": "request-duration",
            "thresholdRange": {
              "max": 500,
            },
            "value": 180,
            "verdict": "Pass",
          },
        ],
        "cluster": "prod-eu-1",
        "id": "0b7c2f7e-3d7a-4b8e-9d1e-2a7f6c1d9e10",
        "kind": "Canary",
        "message": "rolled back revision 7f9c2d1a3b: request-success-rate failed 3 checks",
        "name": "podinfo",
        "namespace": "shop",
        "next": "All traffic is on the primary (the previous revision). Change the Deployment to try again, or kubectl wren retry podinfo -n shop.",
        "phase": "Failed",
        "reason": "RolledBack",
        "revision": "7f9c2d1a3b",
        "severity": "error",
        "timestamp": "2025-03-04T10:15:00.000Z",
        "weights": {
          "canary": 0,
          "primary": 100,
        },
      }
    `);
    expect(got.headers["x-wren-delivery"]).toBe(rolledBack.id);
    expect(got.headers["x-wren-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    const result = verify({
      signingKey: "s3cr3t-signing-key",
      body: got.raw,
      timestamp: got.headers["x-wren-timestamp"],
      signature: got.headers["x-wren-signature"],
      nowMs: Date.now(),
    });
    expect(result.ok).toBe(true);
  });

  it("sends no signature headers without a signingKey", async () => {
    const got = await deliver("webhook", rolledBack);
    expect(got.headers["x-wren-signature"]).toBeUndefined();
    expect(got.headers["x-wren-timestamp"]).toBeUndefined();
  });
});
