import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { toCustomResourceDefinition } from "../../src/api/crd.ts";
import { kinds } from "../../src/api/kinds.ts";
import { anchor, renderKindReference, renderReferenceDocs, table } from "../../src/api/render-docs.ts";

const docsDir = fileURLToPath(new URL("../../docs/reference/", import.meta.url));

describe("docs/reference/", () => {
  const rendered = renderReferenceDocs();

  it("holds exactly the pages the zod schemas generate (run `npm run docs` when this fails)", () => {
    const onDisk = readdirSync(docsDir).filter((f) => f.endsWith(".md"));
    expect(onDisk.sort()).toEqual([...rendered.keys()].sort());
    for (const [file, text] of rendered) {
      expect(readFileSync(docsDir + file, "utf8"), `${file} is stale; run npm run docs`).toBe(text);
    }
  });

  it("has a page per kind, listed in the index", () => {
    const index = rendered.get("README.md") ?? "";
    for (const def of kinds) {
      expect(rendered.has(`${def.plural}.md`)).toBe(true);
      expect(index).toContain(`[${def.kind}](${def.plural}.md)`);
    }
  });

  it("documents every field the CRD schema has, with the CRD's description", () => {
    for (const def of kinds) {
      const page = rendered.get(`${def.plural}.md`) ?? "";
      const crd = toCustomResourceDefinition(def) as {
        spec: { versions: { schema: { openAPIV3Schema: { properties: Record<string, unknown> } } }[] };
      };
      const root = crd.spec.versions[0]?.schema.openAPIV3Schema.properties ?? {};
      const fields: { path: string; description?: string }[] = [];
      const walk = (path: string, node: unknown) => {
        const schema = node as {
          properties?: Record<string, unknown>;
          items?: unknown;
          additionalProperties?: unknown;
          description?: string;
        };
        for (const [name, child] of Object.entries(schema.properties ?? {})) {
          const childPath = `${path}.${name}`;
          fields.push({ path: childPath, description: (child as { description?: string }).description });
          walk(childPath, child);
        }
        if (schema.items) walk(`${path}[]`, schema.items);
        if (schema.additionalProperties) walk(`${path}.<key>`, schema.additionalProperties);
      };
      walk("spec", root.spec);
      walk("status", root.status);
      expect(fields.length).toBeGreaterThan(5);
      for (const field of fields) {
        const row = page.split("\n").find((line) => line.startsWith(`| \`${field.path}\` `));
        expect(row, `${def.kind}: no row for ${field.path}`).toBeDefined();
        const words = (field.description ?? "").replace(/[<|]/g, "").split(/\s+/).slice(0, 4).join(" ");
        expect(row?.replace(/\\/g, ""), `${def.kind}: ${field.path}'s description`).toContain(words);
      }
    }
  });

  it("shows types, defaults, requirements, enums, bounds and patterns", () => {
    const page = renderKindReference({
      kind: "Widget",
      plural: "widgets",
      singular: "widget",
      shortNames: ["wd"],
      categories: ["wren"],
      description: "A test kind.",
      spec: z.object({
        size: z.number().int().min(1).max(9).default(3).describe("How big, with a | pipe."),
        mode: z.enum(["fast", "slow"]).describe("The mode; see <docs>."),
        wait: z
          .string()
          .regex(/^[0-9]+s$/)
          .optional(),
        tags: z.array(z.string().min(1)).min(1).optional(),
        parts: z.array(z.object({ name: z.string() })).optional(),
        labels: z.record(z.string(), z.string()).optional(),
        count: z.number().int().optional(),
      }),
      status: z.object({ phase: z.string().optional() }),
      printerColumns: [{ name: "Phase", type: "string", jsonPath: ".status.phase" }],
    });
    const row = (field: string) => page.split("\n").find((l) => l.startsWith(`| \`spec.${field}\` `)) ?? "";
    expect(row("size")).toMatch(/\| integer +\| +\| `3` +\| 1 to 9 +\| How big, with a \\\| pipe\. +\|/);
    expect(row("mode")).toMatch(
      /\| string +\| yes +\| +\| one of `fast`, `slow` +\| The mode; see \\<docs>\. +\|/,
    );
    expect(row("wait")).toContain("pattern `^[0-9]+s$`");
    expect(row("tags")).toContain("min items 1; each item: min length 1");
    expect(row("parts")).toContain("array of [object](#specparts)");
    expect(row("labels")).toContain("map of string to string");
    // zod's safe-integer bounds of a plain .int() are no constraint worth printing.
    expect(row("count")).not.toMatch(/9007199254740991/);
    expect(page).toContain("## `spec.parts[]`");
    expect(page).toContain("| `spec.parts[].name` | string | yes");
  });

  it("makes GitHub's anchors and aligned tables", () => {
    expect(anchor("`spec.analysis.match[].headers.<key>`")).toBe("specanalysismatchheaderskey");
    expect(table(["a", "bb"], [["ccc", "d"]])).toBe("| a   | bb  |\n| --- | --- |\n| ccc | d   |");
  });
});
