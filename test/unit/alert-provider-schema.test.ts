import { describe, expect, it } from "vitest";
import { AlertProviderSpec, alertProviderKind } from "../../src/api/alert-provider.ts";
import { toCustomResourceDefinition } from "../../src/api/crd.ts";
import { kinds } from "../../src/api/kinds.ts";

function issues(spec: unknown): string[] {
  const result = AlertProviderSpec.safeParse(spec);
  if (result.success) return [];
  return result.error.issues.map((i) => i.path.join("."));
}

describe("AlertProviderSpec", () => {
  it("accepts a minimal provider and fills in the defaults", () => {
    expect(AlertProviderSpec.parse({ type: "slack", secretRef: { name: "s" } })).toEqual({
      type: "slack",
      secretRef: { name: "s" },
      timeout: "10s",
      rateLimit: 30,
    });
  });

  it("accepts every type and the optional fields", () => {
    for (const type of ["slack", "msteams", "discord", "googlechat", "webhook"]) {
      expect(
        issues({
          type,
          secretRef: { name: "s" },
          channel: "#releases",
          username: "wren",
          timeout: "5s",
          rateLimit: 10,
        }),
      ).toEqual([]);
    }
  });

  it("names the field that is wrong", () => {
    expect(issues({ type: "pagerduty", secretRef: { name: "s" } })).toEqual(["type"]);
    expect(issues({ type: "slack" })).toEqual(["secretRef"]);
    expect(issues({ type: "slack", secretRef: { name: "" } })).toEqual(["secretRef.name"]);
    expect(issues({ type: "slack", secretRef: { name: "s" }, timeout: "10 seconds" })).toEqual(["timeout"]);
    expect(issues({ type: "slack", secretRef: { name: "s" }, rateLimit: 0 })).toEqual(["rateLimit"]);
    expect(issues({ type: "slack", secretRef: { name: "s" }, rateLimit: 1.5 })).toEqual(["rateLimit"]);
    expect(issues({ type: "discord", secretRef: { name: "s" }, username: "x".repeat(81) })).toEqual([
      "username",
    ]);
    expect(issues({ type: "slack", secretRef: { name: "s" }, allowedNamespaces: ["Team_A"] })).toEqual([
      "allowedNamespaces.0",
    ]);
    expect(issues({ type: "slack", secretRef: { name: "s" }, allowedNamespaces: ["team-a", "*"] })).toEqual(
      [],
    );
  });

  it("has no field for the address or token: they live in the Secret", () => {
    const parsed = AlertProviderSpec.parse({
      type: "webhook",
      secretRef: { name: "s" },
      address: "https://leak.example.com",
    });
    expect(parsed).not.toHaveProperty("address");
  });
});

describe("the AlertProvider kind", () => {
  it("is served, in the wren category, with the short name wap", () => {
    expect(kinds).toContain(alertProviderKind);
    expect(alertProviderKind).toMatchObject({
      kind: "AlertProvider",
      plural: "alertproviders",
      shortNames: ["wap"],
      categories: ["wren"],
    });
  });

  it("documents every spec field in the CRD", () => {
    const crd = toCustomResourceDefinition(alertProviderKind) as {
      spec: {
        versions: {
          schema: {
            openAPIV3Schema: {
              properties: { spec: { properties: Record<string, { description?: string }> } };
            };
          };
        }[];
      };
    };
    const fields = crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec.properties ?? {};
    expect(Object.keys(fields).sort()).toEqual([
      "allowedNamespaces",
      "channel",
      "rateLimit",
      "secretRef",
      "timeout",
      "type",
      "username",
    ]);
    for (const [name, field] of Object.entries(fields)) {
      expect(field.description, `spec.${name} has no description`).toBeTruthy();
    }
    expect(fields.secretRef?.description).toContain("`address`");
  });
});
