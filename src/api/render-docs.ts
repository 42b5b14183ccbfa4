// Renders the CRD reference (docs/reference/*.md) from the same OpenAPI schema the
// CRDs embed, so a field's type, default, bounds and description read the same in
// both places. Pure.
import { apiVersion, group } from "./common.ts";
import { openApiSchema } from "./crd.ts";
import type { KindDefinition } from "./kind.ts";
import { kinds } from "./kinds.ts";

type JsonSchema = { [key: string]: unknown };

const header = "<!-- Generated from src/api by `npm run docs`. Do not edit by hand. -->\n";

/** zod's bounds for a plain `.int()`: no real limit, so not worth printing. */
const unbounded = Number.MAX_SAFE_INTEGER;

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function schemaAt(schema: JsonSchema, key: string): JsonSchema | undefined {
  const value = schema[key];
  return isSchema(value) ? value : undefined;
}

function stringAt(schema: JsonSchema, key: string): string | undefined {
  const value = schema[key];
  return typeof value === "string" ? value : undefined;
}

function numberAt(schema: JsonSchema, key: string): number | undefined {
  const value = schema[key];
  return typeof value === "number" && Math.abs(value) < unbounded ? value : undefined;
}

function properties(schema: JsonSchema): [string, JsonSchema][] {
  const props = schemaAt(schema, "properties");
  if (props === undefined) return [];
  return Object.entries(props).flatMap(([name, child]) => (isSchema(child) ? [[name, child]] : []));
}

function required(schema: JsonSchema): Set<string> {
  const list = schema.required;
  return new Set(Array.isArray(list) ? list.filter((v): v is string => typeof v === "string") : []);
}

/** An object with named fields: it gets its own section. */
function isStructured(schema: JsonSchema): boolean {
  return schema.type === "object" && schemaAt(schema, "properties") !== undefined;
}

/** Where an object nested in `schema` (directly, as array items, or as map values) is documented. */
function nested(schema: JsonSchema, path: string): { schema: JsonSchema; path: string } | undefined {
  if (isStructured(schema)) return { schema, path };
  const items = schemaAt(schema, "items");
  if (schema.type === "array" && items !== undefined) return nested(items, `${path}[]`);
  const values = schemaAt(schema, "additionalProperties");
  if (schema.type === "object" && values !== undefined) return nested(values, `${path}.<key>`);
  return undefined;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** Escapes text for a table cell: `|` everywhere, `<` outside code spans (it would start an HTML tag). */
function cell(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part) => (part.startsWith("`") ? part : part.replace(/</g, "\\<")))
    .join("")
    .replace(/\|/g, "\\|")
    .replace(/\s*\n\s*/g, " ");
}

function code(text: string): string {
  return text.includes("`") ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function link(text: string, path: string): string {
  return `[${text}](#${anchor(path)})`;
}

/** The type column: scalar types, arrays and maps spelled out, nested objects linked to their section. */
function typeOf(schema: JsonSchema, path: string): string {
  if (schema["x-kubernetes-int-or-string"] === true) return "integer or string";
  if (schema["x-kubernetes-preserve-unknown-fields"] === true) return "object (free-form)";
  if (isStructured(schema)) return link("object", path);
  const items = schemaAt(schema, "items");
  if (schema.type === "array" && items !== undefined) return `array of ${typeOf(items, `${path}[]`)}`;
  const values = schemaAt(schema, "additionalProperties");
  if (schema.type === "object" && values !== undefined)
    return `map of string to ${typeOf(values, `${path}.<key>`)}`;
  const type = stringAt(schema, "type") ?? "any";
  const format = stringAt(schema, "format");
  return format === undefined ? type : `${type} (${format})`;
}

function range(min: number | undefined, max: number | undefined, what = ""): string | undefined {
  if (min !== undefined && max !== undefined)
    return min === max ? `${what}${min}` : `${what}${min} to ${max}`;
  if (min !== undefined) return `min ${what}${min}`;
  if (max !== undefined) return `max ${what}${max}`;
  return undefined;
}

/** Enum values, bounds, lengths and patterns of one schema node. */
function constraintsOf(schema: JsonSchema): string[] {
  const out: string[] = [];
  const values = schema.enum;
  if (Array.isArray(values)) out.push(`one of ${values.map((v) => code(String(v))).join(", ")}`);
  const bounds = range(numberAt(schema, "minimum"), numberAt(schema, "maximum"));
  if (bounds !== undefined) out.push(bounds);
  const length = range(numberAt(schema, "minLength"), numberAt(schema, "maxLength"), "length ");
  if (length !== undefined) out.push(length);
  const count = range(numberAt(schema, "minItems"), numberAt(schema, "maxItems"), "items ");
  if (count !== undefined) out.push(count);
  const pattern = stringAt(schema, "pattern");
  if (pattern !== undefined) out.push(`pattern ${code(pattern)}`);
  const items = schemaAt(schema, "items");
  if (schema.type === "array" && items !== undefined && !isStructured(items)) {
    const inner = constraintsOf(items);
    if (inner.length > 0) out.push(`each item: ${inner.join("; ")}`);
  }
  const mapValues = schemaAt(schema, "additionalProperties");
  if (schema.type === "object" && mapValues !== undefined && !isStructured(mapValues)) {
    const inner = constraintsOf(mapValues);
    if (inner.length > 0) out.push(`each value: ${inner.join("; ")}`);
  }
  return out;
}

function defaultOf(schema: JsonSchema): string {
  if (!("default" in schema)) return "";
  const value = schema.default;
  return code(typeof value === "string" ? value : JSON.stringify(value));
}

/** A Markdown table with its columns padded to one width, as Markdown formatters write them. */
export function table(headings: string[], rows: string[][]): string {
  const widths = headings.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(headings), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

interface Section {
  path: string;
  schema: JsonSchema;
  /** How deep it nests under spec or status, for the table of contents. */
  depth: number;
}

/** Every object with named fields under `root`, depth first, in field order. */
function sections(path: string, root: JsonSchema, depth = 0): Section[] {
  const out: Section[] = [{ path, schema: root, depth }];
  for (const [name, child] of properties(root)) {
    const inner = nested(child, `${path}.${name}`);
    if (inner !== undefined) out.push(...sections(inner.path, inner.schema, depth + 1));
  }
  return out;
}

function renderSection({ path, schema }: Section): string {
  const must = required(schema);
  const rows = properties(schema).map(([name, child]) => {
    const childPath = `${path}.${name}`;
    return [
      code(childPath),
      typeOf(child, childPath),
      must.has(name) ? "yes" : "",
      defaultOf(child),
      cell(constraintsOf(child).join("; ")),
      cell(stringAt(child, "description") ?? ""),
    ];
  });
  const parts = [`## ${code(path)}`];
  const description = stringAt(schema, "description");
  if (description !== undefined) parts.push(cell(description));
  parts.push(table(["Field", "Type", "Required", "Default", "Constraints", "Description"], rows));
  return parts.join("\n\n");
}

/** The reference page of one kind. */
export function renderKindReference(def: KindDefinition): string {
  const spec = openApiSchema(def.spec);
  const status = openApiSchema(def.status);
  const all = [...sections("spec", spec), ...sections("status", status)];
  const anchors = new Set<string>();
  for (const s of all) {
    const a = anchor(s.path);
    if (anchors.has(a)) throw new Error(`${def.kind}: two sections share the anchor #${a}`);
    anchors.add(a);
  }
  const overview = table(
    ["", ""],
    [
      ["API version", code(apiVersion)],
      ["Kind", code(def.kind)],
      ["Scope", "Namespaced"],
      ["Plural, singular", `${code(def.plural)}, ${code(def.singular)}`],
      ["Short names", def.shortNames.map(code).join(", ")],
      ["Categories", def.categories.map(code).join(", ")],
      ["CRD", `[crds/${def.plural}.${group}.yaml](../../crds/${def.plural}.${group}.yaml)`],
    ],
  );
  const columns = table(
    ["Column", "Type", "JSON path", "Shown"],
    def.printerColumns.map((c) => [
      c.name,
      c.type,
      code(c.jsonPath),
      c.priority !== undefined && c.priority > 0 ? "with `-o wide`" : "always",
    ]),
  );
  const contents = all.map((s) => `${"  ".repeat(s.depth)}- ${link(code(s.path), s.path)}`);
  return [
    `${header}\n# ${def.kind}`,
    cell(def.description),
    overview,
    `\`kubectl get ${def.plural}\` prints these columns:`,
    columns,
    "Fields marked Required must be set; a Default is what the API server fills in when the field is left out. " +
      'The API server checks each field on its own. Rules that involve several fields (such as "set exactly one of") ' +
      "live in the zod schemas in `src/api/` and are checked by the controller when it reads the object; " +
      "a Canary that breaks one says so in its Ready condition (reason `InvalidSpec`), naming the field.",
    "## Contents",
    contents.join("\n"),
    ...all.map(renderSection),
  ].join("\n\n");
}

/** The index page: every kind and its reference page. */
function renderIndex(): string {
  const rows = kinds.map((def) => [`[${def.kind}](${def.plural}.md)`, cell(def.description)]);
  return [
    `${header}\n# API reference`,
    `Every kind Wren serves, in group ${code(group)}, version ${code(apiVersion.split("/")[1] ?? "")}. ` +
      "These pages are generated from the zod schemas in `src/api/`, the same schemas the CRDs in `crds/` " +
      "are generated from; `npm test` fails when they are stale.",
    table(["Kind", "What it is"], rows),
  ].join("\n\n");
}

/** File name (in docs/reference/) -> Markdown, for the index and every kind. */
export function renderReferenceDocs(): Map<string, string> {
  const pages = new Map<string, string>([["README.md", `${renderIndex()}\n`]]);
  for (const def of kinds) pages.set(`${def.plural}.md`, `${renderKindReference(def)}\n`);
  return pages;
}
