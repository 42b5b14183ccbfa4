// The generic webhook's signature: a receiver following src/notify/README.md accepts
// what Wren sends and can tell a tampered or replayed request from a fresh one.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import nock from "nock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { staticLookup } from "../../src/notify/lookup.ts";
import type { Notification } from "../../src/notify/message.ts";
import { Notifier } from "../../src/notify/notifier.ts";
import { sign, signatureHeaders, verify } from "../../src/notify/signature.ts";

type VerifyWren = (
  headers: Record<string, string | undefined>,
  rawBody: string,
  signingKey: string,
  nowSeconds?: number,
) => string;

const key = "whsec-5f2b8c1e9a7d";
const readme = readFileSync(new URL("../../src/notify/README.md", import.meta.url), "utf8");
let dir: string;
let verifyWren: VerifyWren;

beforeAll(async () => {
  // The documented recipe, exactly as a receiver would copy it from the README.
  const snippet = /```js\n(\/\/ wren-verify\.mjs\n[\s\S]*?)```/.exec(readme)?.[1];
  if (snippet === undefined) throw new Error("README.md lost its wren-verify.mjs snippet");
  dir = mkdtempSync(join(tmpdir(), "wren-verify-"));
  const file = join(dir, "wren-verify.mjs");
  writeFileSync(file, snippet);
  ({ verifyWren } = (await import(pathToFileURL(file).href)) as { verifyWren: VerifyWren });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const notification: Notification = {
  id: "2f0c1a9e-7b6d-4c5e-8f9a-0b1c2d3e4f5a",
  severity: "warn",
  cluster: "staging",
  namespace: "shop",
  kind: "Canary",
  name: "podinfo",
  reason: "WaitingPromotion",
  message: "analysis passed at 50%; waiting for a person",
  timestamp: "2025-03-04T10:15:00.000Z",
};

describe("the README's verification recipe", () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
    vi.useRealTimers();
  });

  /** Delivers `notification` to a signed webhook at fake time `nowMs`; returns what the receiver got. */
  async function receive(nowMs: number) {
    vi.useFakeTimers({ toFake: ["Date"], now: nowMs });
    let got: { headers: Record<string, string>; raw: string } | undefined;
    const scope = nock("https://receiver.example.com").post("/hook").reply(204);
    scope.on("request", (req: { headers: Headers }, _i: unknown, raw: string) => {
      got = { headers: Object.fromEntries(req.headers.entries()), raw };
    });
    const notifier = new Notifier({
      lookup: staticLookup({
        alertProviders: { "shop/hook": { type: "webhook", secretRef: { name: "hook" } } },
        secrets: { "shop/hook": { address: "https://receiver.example.com/hook", signingKey: key } },
      }),
    });
    notifier.notify(notification, [{ providerRef: { name: "hook" } }]);
    await notifier.idle();
    expect(scope.isDone()).toBe(true);
    if (got === undefined) throw new Error("nothing received");
    return got;
  }

  it("accepts what Wren sends, signed at the time of sending", async () => {
    const sentAt = Date.parse("2025-03-04T10:15:07Z");
    const got = await receive(sentAt);
    expect(got.headers["x-wren-timestamp"]).toBe(String(sentAt / 1000));
    expect(verifyWren(got.headers, got.raw, key, sentAt / 1000 + 2)).toBe("ok");
  });

  it("refuses a replay of the same request ten minutes later", async () => {
    const sentAt = Date.parse("2025-03-04T10:15:07Z");
    const got = await receive(sentAt);
    expect(verifyWren(got.headers, got.raw, key, sentAt / 1000 + 600)).toBe("stale timestamp (replay?)");
  });

  it("refuses a replay with a new timestamp but the old signature, and a tampered body", async () => {
    const sentAt = Date.parse("2025-03-04T10:15:07Z");
    const got = await receive(sentAt);
    const now = sentAt / 1000 + 600;
    const refreshed = { ...got.headers, "x-wren-timestamp": String(now) };
    expect(verifyWren(refreshed, got.raw, key, now)).toBe("bad signature");
    const tampered = got.raw.replace('"warn"', '"info"');
    expect(tampered).not.toBe(got.raw);
    expect(verifyWren(got.headers, tampered, key, sentAt / 1000)).toBe("bad signature");
    expect(verifyWren(got.headers, got.raw, "another-key", sentAt / 1000)).toBe("bad signature");
  });

  it("refuses a request without signature headers", () => {
    expect(verifyWren({}, "{}", key)).toBe("missing or malformed headers");
  });
});

describe("sign and verify", () => {
  const body = '{"id":"x"}';

  it("signs HMAC-SHA256 over timestamp, a dot and the body; hex, prefixed sha256=", () => {
    // Known answer computed independently: printf '1700000000.{"id":"x"}' | openssl dgst -sha256 -hmac whsec-5f2b8c1e9a7d
    expect(sign(key, 1_700_000_000, body)).toBe(
      "sha256=96faff9e468760702a50648a5eece595e35ac581c1bcc9ef08416b97d2ebae8f",
    );
    expect(signatureHeaders(key, 1_700_000_000_999, body)).toEqual({
      "x-wren-timestamp": "1700000000",
      "x-wren-signature": sign(key, 1_700_000_000, body),
    });
  });

  it("tells a fresh request from a stale one and a forged one", () => {
    const timestamp = "1700000000";
    const signature = sign(key, 1_700_000_000, body);
    const at = (seconds: number) =>
      verify({ signingKey: key, body, timestamp, signature, nowMs: seconds * 1000 });
    expect(at(1_700_000_100)).toEqual({ ok: true, timestamp: 1_700_000_000 });
    expect(at(1_700_000_301)).toEqual({ ok: false, reason: "stale" });
    expect(at(1_699_999_699)).toEqual({ ok: false, reason: "stale" });
    expect(
      verify({ signingKey: key, body: `${body} `, timestamp, signature, nowMs: 1_700_000_000_000 }),
    ).toEqual({
      ok: false,
      reason: "bad-signature",
    });
    expect(verify({ signingKey: key, body, timestamp: "soon", signature, nowMs: 0 })).toEqual({
      ok: false,
      reason: "malformed",
    });
    expect(verify({ signingKey: key, body, timestamp: undefined, signature, nowMs: 0 })).toEqual({
      ok: false,
      reason: "missing",
    });
  });
});
