// Derives a CustomResourceDefinition from a kind's zod schemas. Pure.
import { z } from "zod";
import { group, version } from "./common.ts";
import type { KindDefinition } from "./kind.ts";

type JsonSchema = { [key: string]: unknown };

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Rewrites JSON Schema into a Kubernetes structural schema: every node typed,
 * no `additionalProperties: false`, int-or-string and free-form fields marked
 * with the x-kubernetes-* extensions the API server understands.
 */
export function toStructural(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$schema" || key === "id") continue;
    if (key === "additionalProperties" && value === false) continue;
    out[key] = value;
  }
  const anyOf = out.anyOf;
  if (Array.isArray(anyOf)) {
    const types = anyOf.filter(isSchema).map((s) => s.type);
    if (
      types.length === 2 &&
      types.includes("string") &&
      (types.includes("integer") || types.includes("number"))
    ) {
      delete out.anyOf;
      out["x-kubernetes-int-or-string"] = true;
      return out;
    }
    throw new Error(
      `unions other than int-or-string cannot be expressed in a structural schema: ${JSON.stringify(anyOf)}`,
    );
  }
  if (out.type === undefined && out["x-kubernetes-preserve-unknown-fields"] === undefined) {
    // z.unknown(): free-form JSON passed through (e.g. Istio's corsPolicy).
    out["x-kubernetes-preserve-unknown-fields"] = true;
    return out;
  }
  if (isSchema(out.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(out.properties).map(([name, child]) => [
        name,
        isSchema(child) ? toStructural(child) : child,
      ]),
    );
  }
  if (isSchema(out.items)) out.items = toStructural(out.items);
  if (isSchema(out.additionalProperties)) {
    const values = toStructural(out.additionalProperties);
    if (values["x-kubernetes-preserve-unknown-fields"] === true && values.type === undefined) {
      delete out.additionalProperties;
      out["x-kubernetes-preserve-unknown-fields"] = true;
    } else {
      out.additionalProperties = values;
    }
  }
  return out;
}

/** The OpenAPI schema of a zod type, as the API server should validate it. */
export function openApiSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { target: "openapi-3.0", io: "input", unrepresentable: "throw" });
  return toStructural(json as JsonSchema);
}

/** The CustomResourceDefinition for one Wren kind. */
export function toCustomResourceDefinition(def: KindDefinition): JsonSchema {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${def.plural}.${group}`,
      labels: { "app.kubernetes.io/part-of": "wren" },
    },
    spec: {
      group,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: def.categories,
      },
      scope: "Namespaced",
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: def.description,
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: openApiSchema(def.spec),
                status: openApiSchema(def.status),
              },
            },
          },
        },
      ],
    },
  };
}
