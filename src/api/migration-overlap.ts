// When two Migration phases could claim the same request. Pure.
//
// Two match entries overlap unless a condition present in BOTH tells them apart:
// the uri, a header of the same name, a query parameter of the same name, or a
// source label of the same key. Two string conditions tell requests apart when no
// value satisfies both: two exact values that differ; an exact value that does not
// start with a prefix; two prefixes neither of which starts with the other. A
// regex counts as the prefix made of its leading literal characters (a regex
// without special characters is an exact value; one containing `|` counts as
// matching everything). This over-approximates a regex, so overlap is reported
// whenever requests could be shared, never missed. uris compare in lower case when
// either entry sets ignoreUriCase; header names are case-insensitive.
import type { HTTPMatchRequest } from "./common.ts";

type StringMatch = { exact?: string; prefix?: string; regex?: string };

/** The set of values a condition accepts: one exact value, or every value with a prefix. */
type ValueSet = { exact: string } | { prefix: string };

const special = "\\.^$|?*+()[]{}";

/** The literal characters every value a regex fully matches starts with. */
export function regexLiteralPrefix(regex: string): { literal: string; whole: boolean } {
  if (regex.includes("|")) return { literal: "", whole: false };
  const body = regex.startsWith("^") ? regex.slice(1) : regex;
  let literal = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i] ?? "";
    const next = body[i + 1] ?? "";
    if (c === "\\" && next !== "" && !/[0-9A-Za-z]/.test(next)) {
      // An escaped punctuation character (\. \/) stands for itself.
      literal += next;
      i++;
      continue;
    }
    if (special.includes(c)) {
      // A quantifier that allows zero repetitions makes the character before it optional.
      if (c === "?" || c === "*" || c === "{") literal = literal.slice(0, -1);
      return { literal, whole: false };
    }
    literal += c;
  }
  return { literal, whole: true };
}

function valueSet(m: StringMatch, lower: boolean): ValueSet {
  const norm = (s: string) => (lower ? s.toLowerCase() : s);
  if (m.exact !== undefined) return { exact: norm(m.exact) };
  if (m.prefix !== undefined) return { prefix: norm(m.prefix) };
  const { literal, whole } = regexLiteralPrefix(m.regex ?? "");
  return whole ? { exact: norm(literal) } : { prefix: norm(literal) };
}

/** True when no value satisfies both conditions. */
export function disjoint(a: StringMatch, b: StringMatch, lower = false): boolean {
  const x = valueSet(a, lower);
  const y = valueSet(b, lower);
  if ("exact" in x && "exact" in y) return x.exact !== y.exact;
  if ("exact" in x && "prefix" in y) return !x.exact.startsWith(y.prefix);
  if ("prefix" in x && "exact" in y) return !y.exact.startsWith(x.prefix);
  const p = (x as { prefix: string }).prefix;
  const q = (y as { prefix: string }).prefix;
  return !p.startsWith(q) && !q.startsWith(p);
}

function lowerKeys<T>(record: Record<string, T> | undefined): Map<string, T> {
  return new Map(Object.entries(record ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Some condition of the same kind and name in both that no value satisfies twice. */
function someDisjoint(
  a: Record<string, StringMatch> | undefined,
  b: Record<string, StringMatch> | undefined,
  caseInsensitiveNames: boolean,
): boolean {
  const left = caseInsensitiveNames ? lowerKeys(a) : new Map(Object.entries(a ?? {}));
  const right = caseInsensitiveNames ? lowerKeys(b) : new Map(Object.entries(b ?? {}));
  for (const [name, condition] of left) {
    const other = right.get(name);
    if (other !== undefined && disjoint(condition, other)) return true;
  }
  return false;
}

/** True when some request could match both entries (see the rule at the top of this file). */
export function matchesOverlap(a: HTTPMatchRequest, b: HTTPMatchRequest): boolean {
  if (a.uri !== undefined && b.uri !== undefined) {
    if (disjoint(a.uri, b.uri, a.ignoreUriCase === true || b.ignoreUriCase === true)) return false;
  }
  if (someDisjoint(a.headers, b.headers, true)) return false;
  if (someDisjoint(a.queryParams, b.queryParams, false)) return false;
  for (const [key, value] of Object.entries(a.sourceLabels ?? {})) {
    const other = b.sourceLabels?.[key];
    if (other !== undefined && other !== value) return false;
  }
  return true;
}

/** A match entry in a few words, for messages: `uri prefix /orders, header x-team exact a`. */
export function describeMatch(m: HTTPMatchRequest): string {
  const words = (s: StringMatch) =>
    s.exact !== undefined
      ? `exact ${s.exact}`
      : s.prefix !== undefined
        ? `prefix ${s.prefix}`
        : `regex ${s.regex}`;
  const parts: string[] = [];
  if (m.uri) parts.push(`uri ${words(m.uri)}`);
  for (const [k, v] of Object.entries(m.headers ?? {})) parts.push(`header ${k} ${words(v)}`);
  for (const [k, v] of Object.entries(m.queryParams ?? {})) parts.push(`query ${k} ${words(v)}`);
  for (const [k, v] of Object.entries(m.sourceLabels ?? {})) parts.push(`source label ${k}=${v}`);
  return parts.join(", ") || "every request";
}
