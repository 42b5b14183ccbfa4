import { describe, expect, it } from "vitest";
import { z } from "zod";
import { openApiSchema, toStructural } from "../../src/api/crd.ts";

describe("toStructural", () => {
  it("marks int-or-string unions with x-kubernetes-int-or-string", () => {
    const schema = openApiSchema(z.object({ port: z.union([z.number().int(), z.string()]) }));
    expect(schema).toEqual({
      type: "object",
      properties: { port: { "x-kubernetes-int-or-string": true } },
      required: ["port"],
    });
  });

  it("turns free-form maps into preserve-unknown-fields objects", () => {
    const schema = openApiSchema(z.object({ policy: z.record(z.string(), z.unknown()).optional() }));
    expect(schema.properties).toEqual({
      policy: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
    });
  });

  it("keeps typed maps as additionalProperties", () => {
    const schema = openApiSchema(z.object({ labels: z.record(z.string(), z.string()) }));
    expect(schema.properties).toEqual({
      labels: { type: "object", additionalProperties: { type: "string" } },
    });
  });

  it("drops additionalProperties: false, which structural schemas forbid", () => {
    expect(toStructural({ type: "object", properties: {}, additionalProperties: false })).toEqual({
      type: "object",
      properties: {},
    });
  });

  it("refuses unions a structural schema cannot express", () => {
    expect(() => openApiSchema(z.object({ x: z.union([z.string(), z.boolean()]) }))).toThrow(/structural/);
  });
});
