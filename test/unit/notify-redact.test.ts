import { describe, expect, it } from "vitest";
import { redactor, secretsOf } from "../../src/notify/redact.ts";

describe("redactor(secretsOf(provider))", () => {
  const address = "https://hooks.example.com/services/T0AB12/B0CD34/Xy9SecretPart?token=q1w2e3r4";
  const redact = redactor(secretsOf({ address, token: "xoxb-42-token", signingKey: "k3y-value" }));

  it("hides the address whole, in parts, and URL-encoded", () => {
    expect(redact(`POST ${address} failed`)).toBe("POST [redacted] failed");
    expect(redact(`url=${encodeURIComponent(address)}`)).toBe("url=[redacted]");
    expect(redact("ENOTFOUND hooks.example.com")).toBe("ENOTFOUND [redacted]");
    expect(redact("no such hook Xy9SecretPart")).toBe("no such hook [redacted]");
    expect(redact("bad token=q1w2e3r4")).toBe("bad token=[redacted]");
  });

  it("hides the token and the signing key", () => {
    expect(redact("invalid_auth xoxb-42-token / k3y-value")).toBe("invalid_auth [redacted] / [redacted]");
  });

  it("keeps plain words of the path readable", () => {
    expect(redact("services are down")).toBe("services are down");
  });
});
