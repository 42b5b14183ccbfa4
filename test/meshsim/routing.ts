// Istio HTTP routing, as a sidecar applies a VirtualService's `http` section.
// Pure: no cluster, no I/O, randomness injected.
//
// Semantics followed (Istio networking v1 / Envoy):
// - routes are walked in order and the first matching route wins; a route with no
//   `match` matches everything;
// - within a route the `match` entries are ORed, the fields of one entry ANDed;
// - regexes are RE2 full matches (anchored at both ends);
// - header names are case-insensitive, values case-sensitive; an empty StringMatch
//   (`{}`) tests that the header is present;
// - `uri` matches the path without the query string; `ignoreUriCase` applies to
//   exact and prefix only;
// - cookies travel in one `cookie` header joined by "; " as clients send them, so
//   the regex Istio users write (`^(.*?;)?(user=test)(;.*)?$`) behaves as it does
//   in a real mesh (it only matches a cookie that comes first unless it allows `\s*`).

import type {
  Destination,
  HttpMatchRequest,
  HttpRoute,
  Labels,
  StringMatch,
  VirtualServiceSpec,
} from "./model.ts";
import { cumulate, pickCumulative, type Random } from "./random.ts";

export interface MeshRequest {
  readonly host: string;
  readonly uri?: string | undefined;
  readonly method?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly cookies?: Readonly<Record<string, string>> | undefined;
  readonly sourceLabels?: Labels | undefined;
  readonly sourceNamespace?: string | undefined;
}

/** A request in the shape Envoy matches on. */
export interface PreparedRequest {
  readonly authority: string;
  readonly method: string;
  readonly path: string;
  readonly query: ReadonlyMap<string, string>;
  readonly headers: ReadonlyMap<string, string>;
  readonly sourceLabels: Labels;
  readonly sourceNamespace: string | undefined;
}

export function prepareRequest(req: MeshRequest): PreparedRequest {
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(req.headers ?? {})) headers.set(name.toLowerCase(), value);
  const cookiePairs = Object.entries(req.cookies ?? {}).map(([name, value]) => `${name}=${value}`);
  if (cookiePairs.length > 0) {
    const existing = headers.get("cookie");
    headers.set("cookie", [...(existing ? [existing] : []), ...cookiePairs].join("; "));
  }
  const uri = req.uri ?? "/";
  const q = uri.indexOf("?");
  const query = new Map<string, string>();
  if (q >= 0) {
    for (const [k, v] of new URLSearchParams(uri.slice(q + 1))) if (!query.has(k)) query.set(k, v);
  }
  return {
    authority: req.host,
    method: (req.method ?? "GET").toUpperCase(),
    path: q >= 0 ? uri.slice(0, q) : uri,
    query,
    headers,
    sourceLabels: req.sourceLabels ?? {},
    sourceNamespace: req.sourceNamespace,
  };
}

// --- matching ------------------------------------------------------------------

const regexCache = new Map<string, RegExp | null>();

/** RE2 full match in JS terms; an invalid regex never matches (istiod would reject the object). */
function fullMatchRegex(source: string): RegExp | null {
  let re = regexCache.get(source);
  if (re === undefined) {
    const caseless = source.startsWith("(?i)");
    try {
      re = new RegExp(`^(?:${caseless ? source.slice(4) : source})$`, caseless ? "su" : "s");
    } catch {
      re = null;
    }
    regexCache.set(source, re);
  }
  return re;
}

export function matchString(m: StringMatch, value: string | undefined, ignoreCase = false): boolean {
  if (value === undefined) return false;
  if (m.exact !== undefined)
    return ignoreCase ? value.toLowerCase() === m.exact.toLowerCase() : value === m.exact;
  if (m.prefix !== undefined) {
    return ignoreCase ? value.toLowerCase().startsWith(m.prefix.toLowerCase()) : value.startsWith(m.prefix);
  }
  if (m.regex !== undefined) return fullMatchRegex(m.regex)?.test(value) ?? false;
  return true; // `{}`: presence
}

function appliesToMesh(gateways: readonly string[] | undefined): boolean {
  return gateways === undefined || gateways.length === 0 || gateways.includes("mesh");
}

/** A VirtualService bound only to gateways does not route sidecar (mesh) traffic. */
export function virtualServiceAppliesToMesh(spec: VirtualServiceSpec): boolean {
  return appliesToMesh(spec.gateways);
}

export function matchesRequest(m: HttpMatchRequest, req: PreparedRequest): boolean {
  if (!appliesToMesh(m.gateways)) return false;
  if (m.uri && !matchString(m.uri, req.path, m.ignoreUriCase === true)) return false;
  if (m.method && !matchString(m.method, req.method)) return false;
  if (m.authority && !matchString(m.authority, req.authority)) return false;
  for (const [name, sm] of Object.entries(m.headers ?? {})) {
    if (!matchString(sm, req.headers.get(name.toLowerCase()))) return false;
  }
  for (const [name, sm] of Object.entries(m.withoutHeaders ?? {})) {
    if (matchString(sm, req.headers.get(name.toLowerCase()))) return false;
  }
  for (const [name, sm] of Object.entries(m.queryParams ?? {})) {
    if (!matchString(sm, req.query.get(name))) return false;
  }
  for (const [k, v] of Object.entries(m.sourceLabels ?? {})) {
    if (req.sourceLabels[k] !== v) return false;
  }
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== req.sourceNamespace) return false;
  return true;
}

/** Index of the first route matching the request, or -1 (Envoy answers 404 NR). */
export function matchRoute(routes: readonly HttpRoute[], req: PreparedRequest): number {
  for (let i = 0; i < routes.length; i++) {
    const match = routes[i]?.match;
    if (!match || match.length === 0 || match.some((m) => matchesRequest(m, req))) return i;
  }
  return -1;
}

// --- what a matched route does -------------------------------------------------------

export interface WeightedDestination {
  readonly destination: Destination;
  /** Share of the route's traffic, in [0, 1]; shares of a route sum to 1. */
  readonly share: number;
}

/**
 * Istio: a single destination takes all traffic whatever its weight; otherwise a
 * missing weight is 0, zero-weight destinations get nothing and each other one
 * gets weight/sum. If every weight is 0 (istiod would reject that) meshsim splits
 * evenly rather than dropping the traffic.
 */
export function splitWeights(route: HttpRoute): WeightedDestination[] {
  const dests = route.route ?? [];
  if (dests.length === 1 && dests[0]) return [{ destination: dests[0].destination, share: 1 }];
  const total = dests.reduce((s, d) => s + Math.max(0, d.weight ?? 0), 0);
  if (total <= 0) return dests.map((d) => ({ destination: d.destination, share: 1 / dests.length }));
  return dests
    .filter((d) => (d.weight ?? 0) > 0)
    .map((d) => ({ destination: d.destination, share: (d.weight ?? 0) / total }));
}

export interface MirrorTarget {
  readonly destination: Destination;
  /** Percentage of requests mirrored, [0, 100]. */
  readonly percent: number;
}

const clampPercent = (v: number | undefined): number => Math.min(100, Math.max(0, v ?? 100));

/** `mirror` + `mirrorPercentage` (100% when absent) and the newer `mirrors` list. */
export function mirrorTargets(route: HttpRoute): MirrorTarget[] {
  const out: MirrorTarget[] = [];
  if (route.mirror)
    out.push({ destination: route.mirror, percent: clampPercent(route.mirrorPercentage?.value) });
  for (const m of route.mirrors ?? []) {
    out.push({ destination: m.destination, percent: clampPercent(m.percentage?.value) });
  }
  return out;
}

export interface AbortFault {
  readonly status: number;
  readonly percent: number;
}

export function abortFault(route: HttpRoute): AbortFault | undefined {
  const abort = route.fault?.abort;
  if (!abort?.httpStatus) return undefined;
  return { status: abort.httpStatus, percent: clampPercent(abort.percentage?.value) };
}

export interface DelayFault {
  readonly delayMs: number;
  readonly percent: number;
}

export function delayFault(route: HttpRoute): DelayFault | undefined {
  const delay = route.fault?.delay;
  const ms = delay?.fixedDelay ? parseDurationMs(delay.fixedDelay) : undefined;
  if (ms === undefined || !delay) return undefined;
  return { delayMs: ms, percent: clampPercent(delay.percentage?.value) };
}

/** Protobuf Duration as YAML writes it: "5s", "0.5s", "100ms". */
export function parseDurationMs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  return Number(m[1]) * unit;
}

// --- one request, end to end ---------------------------------------------------------

export type RouteDecision =
  | { readonly kind: "no-route" }
  | { readonly kind: "abort"; readonly routeIndex: number; readonly status: number }
  | {
      readonly kind: "route";
      readonly routeIndex: number;
      readonly destination: Destination;
      readonly mirrors: readonly Destination[];
      /** Injected fault delay, added by the source sidecar (0 when none). */
      readonly delayMs: number;
    };

/**
 * Routes one request through a VirtualService's http routes. The traffic
 * generator compiles the same steps into plans (see plan.ts); this function is the
 * readable reference the unit tests pin down.
 */
export function routeRequest(spec: VirtualServiceSpec, request: MeshRequest, random: Random): RouteDecision {
  const routes = spec.http ?? [];
  const index = matchRoute(routes, prepareRequest(request));
  const route = routes[index];
  if (!route) return { kind: "no-route" };
  const abort = abortFault(route);
  if (abort && random() * 100 < abort.percent)
    return { kind: "abort", routeIndex: index, status: abort.status };
  const delay = delayFault(route);
  const delayMs = delay && random() * 100 < delay.percent ? delay.delayMs : 0;
  const split = splitWeights(route);
  const picked = split[pickCumulative(cumulate(split.map((s) => s.share)), random())];
  if (!picked) return { kind: "no-route" };
  const mirrors = mirrorTargets(route)
    .filter((m) => random() * 100 < m.percent)
    .map((m) => m.destination);
  return { kind: "route", routeIndex: index, destination: picked.destination, mirrors, delayMs };
}
