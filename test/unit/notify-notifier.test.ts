// Routing (alerts[], minimum severity, the default provider), provider resolution,
// and the rule that addresses and tokens never reach a log line.
import nock from "nock";
import { pino } from "pino";
import type { Counter } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Severity } from "../../src/api/common.ts";
import { type AlertProviderLookup, kubernetesLookup, staticLookup } from "../../src/notify/lookup.ts";
import type { Notification } from "../../src/notify/message.ts";
import { type AlertRoute, Notifier } from "../../src/notify/notifier.ts";
import { notificationsFailed, notificationsSent } from "../../src/observability/metrics.ts";

let run = 0;

async function count(metric: Counter, labels: Record<string, string>): Promise<number> {
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))
    .reduce((sum, v) => sum + v.value, 0);
}

function notification(namespace: string, severity: Severity, id: string): Notification {
  return {
    id,
    severity,
    cluster: "test",
    namespace,
    kind: "Canary",
    name: "podinfo",
    reason: "Progressing",
    message: `message ${id}`,
    timestamp: "2025-03-04T10:00:00.000Z",
  };
}

/** A receiver host that records the ids it got, per path. */
function receiver(host: string) {
  const got: Record<string, string[]> = {};
  const scope = nock(`https://${host}`).persist().post(/.*/).reply(200, "ok");
  scope.on("request", (req: { url?: string; path?: string }, _i: unknown, body: string) => {
    const path = new URL(req.url ?? req.path ?? "", `https://${host}`).pathname;
    got[path] = [...(got[path] ?? []), (JSON.parse(body) as { id: string }).id];
  });
  return got;
}

/** webhook AlertProviders named after `names` in `namespace`, all posting to https://`host`/<name>. */
function providers(namespace: string, host: string, names: string[]) {
  return {
    alertProviders: Object.fromEntries(
      names.map((n) => [`${namespace}/${n}`, { type: "webhook", secretRef: { name: `${n}-secret` } }]),
    ),
    secrets: Object.fromEntries(
      names.map((n) => [`${namespace}/${n}-secret`, { address: `https://${host}/${n}` }]),
    ),
  };
}

beforeEach(() => {
  run += 1;
  nock.disableNetConnect();
});

afterEach(() => {
  nock.abortPendingRequests();
  nock.cleanAll();
  nock.enableNetConnect();
});

describe("routing", () => {
  it("sends each notification to the providers whose minimum severity it meets", async () => {
    const ns = `route-${run}`;
    const host = `r${run}.example.com`;
    const got = receiver(host);
    const notifier = new Notifier({ lookup: staticLookup(providers(ns, host, ["everything", "problems"])) });
    const alerts: AlertRoute[] = [
      { name: "all", providerRef: { name: "everything" } },
      { name: "bad-news", severity: "warn", providerRef: { name: "problems" } },
    ];
    notifier.notify(notification(ns, "info", "i1"), alerts);
    notifier.notify(notification(ns, "warn", "w1"), alerts);
    notifier.notify(notification(ns, "error", "e1"), alerts);
    await notifier.idle();
    expect(got).toEqual({ "/everything": ["i1", "w1", "e1"], "/problems": ["w1", "e1"] });
  });

  it("also sends to the controller-wide default provider, once per provider", async () => {
    const ns = `route-${run}`;
    const host = `r${run}.example.com`;
    const got = receiver(host);
    const objects = providers(ns, host, ["team", "platform"]);
    const notifier = new Notifier({
      lookup: staticLookup(objects),
      defaultProvider: { namespace: ns, name: "platform", severity: "error" },
    });
    notifier.notify(notification(ns, "warn", "w1"), [{ providerRef: { name: "team" } }]);
    notifier.notify(notification(ns, "error", "e1"), [{ providerRef: { name: "team" } }]);
    // Referenced by the rollout and as the default: still one message.
    notifier.notify(notification(ns, "error", "e2"), [{ providerRef: { name: "platform" } }]);
    notifier.notify(notification(ns, "info", "i1"), []);
    await notifier.idle();
    expect(got).toEqual({ "/team": ["w1", "e1"], "/platform": ["e1", "e2"] });
  });

  /** Provider `chat` in namespace shared-N, accepting rollouts from `allowedNamespaces`. */
  function shared(host: string, allowedNamespaces?: string[]) {
    const objects = providers(`shared-${run}`, host, ["chat"]);
    const chat = objects.alertProviders[`shared-${run}/chat`];
    return { ...objects, alertProviders: { [`shared-${run}/chat`]: { ...chat, allowedNamespaces } } };
  }

  it("resolves a providerRef in another namespace there, Secret included, when that provider allows it", async () => {
    const host = `r${run}.example.com`;
    const got = receiver(host);
    const notifier = new Notifier({ lookup: staticLookup(shared(host, ["other", `app-${run}`])) });
    notifier.notify(notification(`app-${run}`, "info", "x1"), [
      { providerRef: { name: "chat", namespace: `shared-${run}` } },
    ]);
    await notifier.idle();
    expect(got).toEqual({ "/chat": ["x1"] });
  });

  it("allowedNamespaces * accepts every namespace", async () => {
    const host = `r${run}.example.com`;
    const got = receiver(host);
    const notifier = new Notifier({ lookup: staticLookup(shared(host, ["*"])) });
    for (const ns of ["a", "b"]) {
      notifier.notify(notification(`${ns}-${run}`, "info", ns), [
        { providerRef: { name: "chat", namespace: `shared-${run}` } },
      ]);
    }
    await notifier.idle();
    expect(got).toEqual({ "/chat": ["a", "b"] });
  });

  it("refuses a rollout from a namespace the provider does not list, and says which field decides", async () => {
    const host = `r${run}.example.com`;
    const got = receiver(host);
    const lines: string[] = [];
    const notifier = new Notifier({
      lookup: staticLookup(shared(host, ["someone-else"])),
      logger: pino({ level: "info" }, { write: (line: string) => void lines.push(line) }),
    });
    const ref = { providerRef: { name: "chat", namespace: `shared-${run}` } };
    notifier.notify(notification(`app-${run}`, "error", "listed-elsewhere"), [ref]);
    const unset = new Notifier({ lookup: staticLookup(shared(host)), logger: pino({ level: "silent" }) });
    unset.notify(notification(`app-${run}`, "error", "unset"), [ref]);
    await Promise.all([notifier.idle(), unset.idle()]);
    expect(got).toEqual({});
    expect(await count(notificationsFailed, { provider: `shared-${run}/chat`, reason: "config" })).toBe(2);
    expect(lines.join("\n")).toContain(
      `AlertProvider shared-${run}/chat does not accept rollouts from namespace app-${run} (its spec.allowedNamespaces)`,
    );
  });

  it("the operator's default provider in another namespace needs no allowedNamespaces", async () => {
    const host = `r${run}.example.com`;
    const got = receiver(host);
    const notifier = new Notifier({
      lookup: staticLookup(shared(host)),
      defaultProvider: { namespace: `shared-${run}`, name: "chat" },
    });
    // Also referenced by the rollout: sent once, as the default.
    notifier.notify(notification(`app-${run}`, "info", "d1"), [
      { providerRef: { name: "chat", namespace: `shared-${run}` } },
    ]);
    await notifier.idle();
    expect(got).toEqual({ "/chat": ["d1"] });
  });

  it("keeps each provider's messages in order even when lookups answer out of order", async () => {
    const ns = `route-${run}`;
    const host = `r${run}.example.com`;
    const got = receiver(host);
    const inner = staticLookup(providers(ns, host, ["chat"]));
    let calls = 0;
    const slowFirst: AlertProviderLookup = {
      async alertProvider(namespace, name) {
        calls += 1;
        if (calls === 1) await new Promise((resolve) => setTimeout(resolve, 30));
        return inner.alertProvider(namespace, name);
      },
      secret: (namespace, name) => inner.secret(namespace, name),
    };
    const notifier = new Notifier({ lookup: slowFirst });
    for (const id of ["first", "second", "third"]) {
      notifier.notify(notification(ns, "info", id), [{ providerRef: { name: "chat" } }]);
    }
    await notifier.idle();
    expect(got["/chat"]).toEqual(["first", "second", "third"]);
  });
});

describe("an unusable provider", () => {
  const cases: [string, Parameters<typeof staticLookup>[0], RegExp][] = [
    ["no AlertProvider", {}, /AlertProvider \S+\/chat not found/],
    [
      "an invalid spec",
      { alertProviders: { "NS/chat": { type: "pager", secretRef: { name: "s" } } } },
      /spec\.type/,
    ],
    [
      "no Secret",
      { alertProviders: { "NS/chat": { type: "slack", secretRef: { name: "s" } } } },
      /Secret \S+\/s \(secretRef of \S+\/chat\) not found/,
    ],
    [
      "no address in the Secret",
      {
        alertProviders: { "NS/chat": { type: "slack", secretRef: { name: "s" } } },
        secrets: { "NS/s": { token: "xoxb-123456" } },
      },
      /has no \\"address\\" key/,
    ],
    [
      "an address that is not an http(s) URL",
      {
        alertProviders: { "NS/chat": { type: "webhook", secretRef: { name: "s" } } },
        secrets: { "NS/s": { address: "ftp://files.example.com/drop-secret-path" } },
      },
      /is not an http\(s\) URL/,
    ],
    [
      "a Slack bot token without a channel",
      {
        alertProviders: { "NS/chat": { type: "slack", secretRef: { name: "s" } } },
        secrets: { "NS/s": { address: "https://slack.com/api/chat.postMessage", token: "xoxb-123456" } },
      },
      /spec\.channel is required with a Slack bot token/,
    ],
  ];

  it.each(cases)(
    "with %s is counted as a config failure, logged, and sends nothing",
    async (_, objects, why) => {
      const ns = `bad-${run}`;
      const rename = (record: Record<string, unknown> | undefined) =>
        Object.fromEntries(Object.entries(record ?? {}).map(([k, v]) => [k.replace("NS/", `${ns}/`), v]));
      const lines: string[] = [];
      const notifier = new Notifier({
        lookup: staticLookup({
          alertProviders: rename(objects.alertProviders),
          secrets: rename(objects.secrets) as Record<string, Record<string, string>>,
        }),
        logger: pino({ level: "trace" }, { write: (line: string) => void lines.push(line) }),
      });
      notifier.notify(notification(ns, "error", "x"), [{ providerRef: { name: "chat" } }]);
      await notifier.idle();
      expect(await count(notificationsFailed, { provider: `${ns}/chat`, reason: "config" })).toBe(1);
      expect(lines.join("\n"), lines.join("\n")).toMatch(why);
      expect(lines.join("\n")).not.toContain("drop-secret-path");
      expect(lines.join("\n")).not.toContain("xoxb-123456");
    },
  );

  it("a lookup that throws is a config failure, not a crash", async () => {
    const ns = `bad-${run}`;
    const notifier = new Notifier({
      lookup: {
        alertProvider: async () => {
          throw new Error("forbidden: cannot get alertproviders");
        },
        secret: async () => undefined,
      },
      logger: pino({ level: "silent" }),
    });
    notifier.notify(notification(ns, "error", "x"), [{ providerRef: { name: "chat" } }]);
    await notifier.idle();
    expect(await count(notificationsFailed, { provider: `${ns}/chat`, reason: "config" })).toBe(1);
  });
});

describe("shutdown", () => {
  it("is not held up by a lookup that never answers", async () => {
    const notifier = new Notifier({
      lookup: { alertProvider: () => new Promise(() => {}), secret: () => new Promise(() => {}) },
      logger: pino({ level: "silent" }),
    });
    notifier.notify(notification(`hung-${run}`, "error", "x"), [{ providerRef: { name: "chat" } }]);
    const started = performance.now();
    await notifier.shutdown(50);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe("Slack Web API answers", () => {
  function slackNotifier(ns: string) {
    return new Notifier({
      lookup: staticLookup({
        alertProviders: { [`${ns}/slack`]: { type: "slack", channel: "C1", secretRef: { name: "s" } } },
        secrets: {
          [`${ns}/s`]: { address: `https://slack-${run}.example.com/api/chat.postMessage`, token: "xoxb-9" },
        },
      }),
      logger: pino({ level: "silent" }),
      random: () => 0,
      delivery: { baseDelayMs: 1 },
    });
  }

  it("counts ok:false as refused and does not retry it", async () => {
    const ns = `slack-${run}`;
    const scope = nock(`https://slack-${run}.example.com`)
      .post("/api/chat.postMessage")
      .reply(200, { ok: false, error: "channel_not_found" });
    const notifier = slackNotifier(ns);
    notifier.notify(notification(ns, "error", "x"), [{ providerRef: { name: "slack" } }]);
    await notifier.idle();
    expect(scope.isDone()).toBe(true);
    expect(await count(notificationsFailed, { provider: `${ns}/slack`, reason: "rejected" })).toBe(1);
  });

  it("retries ok:false ratelimited", async () => {
    const ns = `slack-${run}`;
    const scope = nock(`https://slack-${run}.example.com`)
      .post("/api/chat.postMessage")
      .reply(200, { ok: false, error: "ratelimited" })
      .post("/api/chat.postMessage")
      .reply(200, { ok: true });
    const notifier = slackNotifier(ns);
    notifier.notify(notification(ns, "error", "x"), [{ providerRef: { name: "slack" } }]);
    await notifier.idle();
    expect(scope.isDone()).toBe(true);
    expect(await count(notificationsSent, { provider: `${ns}/slack` })).toBe(1);
  });
});

describe("kubernetesLookup", () => {
  it("reads the AlertProvider's spec and decodes the Secret's base64 data", async () => {
    const asked: string[] = [];
    const lookup = kubernetesLookup({
      readAlertProvider: async (namespace, name) => {
        asked.push(`alertprovider ${namespace}/${name}`);
        return { spec: { type: "discord" } };
      },
      readSecretData: async (namespace, name) => {
        asked.push(`secret ${namespace}/${name}`);
        return name === "s"
          ? { address: Buffer.from("https://discord.com/api/webhooks/1/t\n").toString("base64") }
          : undefined;
      },
    });
    expect(await lookup.alertProvider("shop", "chat")).toEqual({ type: "discord" });
    expect(await lookup.secret("shop", "s")).toEqual({ address: "https://discord.com/api/webhooks/1/t\n" });
    expect(await lookup.secret("shop", "missing")).toBeUndefined();
    expect(asked).toEqual(["alertprovider shop/chat", "secret shop/s", "secret shop/missing"]);
  });
});

describe("secrets in logs", () => {
  it("never logs an address, token or signing key, at any level, whatever fails", async () => {
    const ns = `secret-${run}`;
    const slackAddress = "https://hooks.slack.com/services/T0SECRET1/B0SECRET2/xyzSECRETslack0000";
    const botToken = "xoxb-1111-2222-SECRETtoken";
    const webhookAddress = `https://hook-${run}.example.com/in/SECRETpath42?code=SECRETquery99`;
    const signingKey = "SECRETsigningKey-77";
    const chatAddress = `https://chat-${run}.example.com/v1/spaces/SPACE123/messages?key=KEYsecret55&token=TOKsecret66`;
    const discordAddress = `https://discord-${run}.example.com/api/webhooks/998877/DISCORDsecret44`;
    const teamsAddress = `https://teams-${run}.example.com/workflows/WF1/triggers/manual/paths/invoke?sig=SIGsecret33`;
    const secrets = [
      slackAddress,
      botToken,
      webhookAddress,
      signingKey,
      chatAddress,
      discordAddress,
      teamsAddress,
      "T0SECRET1",
      "xyzSECRETslack0000",
      "SECRETpath42",
      "SECRETquery99",
      "KEYsecret55",
      "TOKsecret66",
      "DISCORDsecret44",
      "SIGsecret33",
      encodeURIComponent(webhookAddress),
    ];

    // Every way a provider can fail, with answers and errors that quote the secrets back.
    nock("https://hooks.slack.com")
      .post("/services/T0SECRET1/B0SECRET2/xyzSECRETslack0000")
      .reply(404, `no_service: ${slackAddress}`);
    nock(`https://slack-api-${run}.example.com`)
      .post("/api/chat.postMessage")
      .reply(200, { ok: false, error: `invalid_auth for ${botToken}` });
    nock(`https://hook-${run}.example.com`)
      .post("/in/SECRETpath42")
      .query(true)
      .reply(500, `upstream ${webhookAddress} failed; key ${signingKey}`)
      .post("/in/SECRETpath42")
      .query(true)
      .replyWithError(
        Object.assign(new Error(`connect ECONNRESET ${encodeURIComponent(webhookAddress)}`), {
          code: "ECONNRESET",
        }),
      );
    nock(`https://chat-${run}.example.com`)
      .post("/v1/spaces/SPACE123/messages")
      .query(true)
      .reply(400, `bad request for key=KEYsecret55&token=TOKsecret66`);
    nock(`https://discord-${run}.example.com`)
      .post("/api/webhooks/998877/DISCORDsecret44")
      .times(2)
      .replyWithError(new Error(`getaddrinfo ENOTFOUND discord-${run}.example.com (${discordAddress})`));
    nock(`https://teams-${run}.example.com`)
      .post("/workflows/WF1/triggers/manual/paths/invoke")
      .query(true)
      .reply(302, "", { location: `${teamsAddress}&redirected=1` });

    const spec = (type: string, extra: Record<string, unknown> = {}) => ({
      type,
      secretRef: { name: type },
      ...extra,
    });
    const lines: string[] = [];
    const notifier = new Notifier({
      lookup: staticLookup({
        alertProviders: {
          [`${ns}/slack`]: spec("slack"),
          [`${ns}/slackbot`]: spec("slackbot", {
            type: "slack",
            channel: "C1",
            secretRef: { name: "slackbot" },
          }),
          [`${ns}/webhook`]: spec("webhook"),
          [`${ns}/googlechat`]: spec("googlechat"),
          [`${ns}/discord`]: spec("discord"),
          [`${ns}/msteams`]: spec("msteams"),
          [`${ns}/broken`]: spec("webhook", { secretRef: { name: "broken" } }),
        },
        secrets: {
          [`${ns}/slack`]: { address: slackAddress },
          [`${ns}/slackbot`]: {
            address: `https://slack-api-${run}.example.com/api/chat.postMessage`,
            token: botToken,
          },
          [`${ns}/webhook`]: { address: webhookAddress, signingKey },
          [`${ns}/googlechat`]: { address: chatAddress },
          [`${ns}/discord`]: { address: discordAddress },
          [`${ns}/msteams`]: { address: teamsAddress },
          [`${ns}/broken`]: { address: `not a url ${signingKey}` },
        },
      }),
      logger: pino({ level: "trace" }, { write: (line: string) => void lines.push(line) }),
      random: () => 0,
      delivery: { maxAttempts: 2, baseDelayMs: 1 },
    });
    const alerts = ["slack", "slackbot", "webhook", "googlechat", "discord", "msteams", "broken"].map(
      (name) => ({
        providerRef: { name },
      }),
    );
    notifier.notify(notification(ns, "error", "leak-test"), alerts);
    await notifier.idle();

    const log = lines.join("\n");
    // The failures were logged (so this test would see a leak), each naming its provider.
    for (const name of ["slack", "slackbot", "webhook", "googlechat", "discord", "msteams", "broken"]) {
      expect(log).toContain(`"provider":"${ns}/${name}"`);
    }
    expect(log).toContain("[redacted]");
    expect(log).toContain("HTTP 404");
    expect(log).toContain("redirects are not followed");
    expect(lines.filter((l) => l.includes("giving up") || l.includes("provider unusable"))).toHaveLength(7);
    for (const secret of secrets) expect(log, `a log line contains ${secret}`).not.toContain(secret);
  });
});
