import { describe, expect, it } from "vitest";
import type { HttpRoute, VirtualServiceSpec } from "../meshsim/model.ts";
import { seededRandom } from "../meshsim/random.ts";
import {
  type MeshRequest,
  matchRoute,
  prepareRequest,
  routeRequest,
  splitWeights,
  virtualServiceAppliesToMesh,
} from "../meshsim/routing.ts";

const to = (subset: string, weight?: number) => ({ destination: { host: "reviews", subset }, weight });
const req = (r: Partial<MeshRequest> = {}): MeshRequest => ({ host: "reviews", uri: "/", ...r });
const routeOf = (routes: HttpRoute[], r: Partial<MeshRequest>): number =>
  matchRoute(routes, prepareRequest(req(r)));

/** The subset each draw lands on, counted. */
function draws(spec: VirtualServiceSpec, r: MeshRequest, n: number, seed = 7): Map<string, number> {
  const random = seededRandom(seed);
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const d = routeRequest(spec, r, random);
    const key = d.kind === "route" ? (d.destination.subset ?? d.destination.host) : d.kind;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

describe("route order", () => {
  it("takes the first matching route, not the most specific one", () => {
    const routes: HttpRoute[] = [
      { match: [{ headers: { "x-canary": { exact: "1" } } }], route: [to("canary")] },
      { route: [to("stable")] },
      { match: [{ headers: { "x-other": { exact: "1" } } }], route: [to("never")] },
    ];
    expect(routeOf(routes, { headers: { "x-canary": "1" } })).toBe(0);
    expect(routeOf(routes, {})).toBe(1);
    expect(routeOf(routes, { headers: { "x-other": "1" } })).toBe(1);
  });

  it("lets a catch-all route shadow every later route", () => {
    const routes: HttpRoute[] = [
      { route: [to("stable")] },
      { match: [{ uri: { prefix: "/" } }], route: [to("x")] },
    ];
    expect(routeOf(routes, { uri: "/anything" })).toBe(0);
  });

  it("answers no-route (404 NR) when nothing matches", () => {
    const spec: VirtualServiceSpec = { http: [{ match: [{ uri: { exact: "/a" } }], route: [to("a")] }] };
    expect(routeRequest(spec, req({ uri: "/b" }), seededRandom(1))).toEqual({ kind: "no-route" });
  });

  it("ORs the match entries of a route and ANDs the fields of one entry", () => {
    const routes: HttpRoute[] = [
      {
        match: [
          { headers: { "x-a": { exact: "1" } }, uri: { prefix: "/api" } },
          { headers: { "x-b": { exact: "1" } } },
        ],
        route: [to("matched")],
      },
      { route: [to("default")] },
    ];
    expect(routeOf(routes, { headers: { "x-a": "1" }, uri: "/api/x" })).toBe(0);
    expect(routeOf(routes, { headers: { "x-a": "1" }, uri: "/web" })).toBe(1); // AND fails
    expect(routeOf(routes, { headers: { "x-b": "1" }, uri: "/web" })).toBe(0); // second entry
  });
});

describe("header matching", () => {
  const routes = (m: HttpRoute["match"]): HttpRoute[] => [{ match: m, route: [to("hit")] }];

  it("matches exact values case-sensitively and header names case-insensitively", () => {
    const r = routes([{ headers: { "x-user": { exact: "Alice" } } }]);
    expect(routeOf(r, { headers: { "X-User": "Alice" } })).toBe(0);
    expect(routeOf(r, { headers: { "x-user": "alice" } })).toBe(-1);
    expect(routeOf(r, { headers: { "x-user": "Alice2" } })).toBe(-1);
    expect(routeOf(r, {})).toBe(-1);
  });

  it("matches prefixes", () => {
    const r = routes([{ headers: { "user-agent": { prefix: "Mozilla/" } } }]);
    expect(routeOf(r, { headers: { "user-agent": "Mozilla/5.0" } })).toBe(0);
    expect(routeOf(r, { headers: { "user-agent": "curl/8" } })).toBe(-1);
  });

  it("matches regexes as RE2 full matches", () => {
    const r = routes([{ headers: { "x-group": { regex: "beta|gamma" } } }]);
    expect(routeOf(r, { headers: { "x-group": "beta" } })).toBe(0);
    expect(routeOf(r, { headers: { "x-group": "gamma" } })).toBe(0);
    expect(routeOf(r, { headers: { "x-group": "betamax" } })).toBe(-1);
    expect(routeOf(r, { headers: { "x-group": "alpha-beta" } })).toBe(-1);
  });

  it("treats an empty match as a presence test and honours withoutHeaders", () => {
    expect(routeOf(routes([{ headers: { "x-debug": {} } }]), { headers: { "x-debug": "" } })).toBe(0);
    expect(routeOf(routes([{ headers: { "x-debug": {} } }]), {})).toBe(-1);
    const without = routes([{ withoutHeaders: { "x-debug": { exact: "1" } } }]);
    expect(routeOf(without, { headers: { "x-debug": "1" } })).toBe(-1);
    expect(routeOf(without, {})).toBe(0);
  });

  it("never matches an invalid regex", () => {
    expect(routeOf(routes([{ headers: { "x-a": { regex: "(" } } }]), { headers: { "x-a": "(" } })).toBe(-1);
  });
});

describe("uri matching", () => {
  const routes = (m: HttpRoute["match"]): HttpRoute[] => [{ match: m, route: [to("hit")] }];

  it("matches exact, prefix and regex on the path without the query string", () => {
    expect(routeOf(routes([{ uri: { exact: "/login" } }]), { uri: "/login?next=/" })).toBe(0);
    expect(routeOf(routes([{ uri: { exact: "/login" } }]), { uri: "/login/" })).toBe(-1);
    expect(routeOf(routes([{ uri: { prefix: "/api" } }]), { uri: "/apis/v1" })).toBe(0); // plain string prefix
    expect(routeOf(routes([{ uri: { prefix: "/api" } }]), { uri: "/web" })).toBe(-1);
    expect(routeOf(routes([{ uri: { regex: "/v[0-9]+/.*" } }]), { uri: "/v2/items" })).toBe(0);
    expect(routeOf(routes([{ uri: { regex: "/v[0-9]+/.*" } }]), { uri: "/x/v2/items" })).toBe(-1);
  });

  it("ignores case for exact and prefix when ignoreUriCase is set", () => {
    expect(routeOf(routes([{ uri: { prefix: "/API" }, ignoreUriCase: true }]), { uri: "/api/x" })).toBe(0);
    expect(routeOf(routes([{ uri: { exact: "/Login" }, ignoreUriCase: true }]), { uri: "/LOGIN" })).toBe(0);
    expect(routeOf(routes([{ uri: { prefix: "/API" } }]), { uri: "/api/x" })).toBe(-1);
  });

  it("matches query parameters", () => {
    const r = routes([{ queryParams: { canary: { exact: "true" } } }]);
    expect(routeOf(r, { uri: "/x?canary=true&y=1" })).toBe(0);
    expect(routeOf(r, { uri: "/x?canary=false" })).toBe(-1);
    expect(routeOf(r, { uri: "/x" })).toBe(-1);
  });

  it("matches the method", () => {
    const r = routes([{ method: { exact: "POST" } }]);
    expect(routeOf(r, { method: "post" })).toBe(0);
    expect(routeOf(r, {})).toBe(-1);
  });
});

describe("cookie matching", () => {
  const strict: HttpRoute[] = [
    { match: [{ headers: { cookie: { regex: "^(.*?;)?(user=test)(;.*)?$" } } }], route: [to("canary")] },
  ];
  const spaced: HttpRoute[] = [
    { match: [{ headers: { cookie: { regex: "^(.*?;\\s*)?(user=test)(;.*)?$" } } }], route: [to("canary")] },
  ];

  it("matches the cookie regex Istio users write", () => {
    expect(routeOf(strict, { cookies: { user: "test" } })).toBe(0);
    expect(routeOf(strict, { cookies: { user: "test", session: "abc" } })).toBe(0);
    expect(routeOf(strict, { cookies: { user: "prod" } })).toBe(-1);
    expect(routeOf(strict, {})).toBe(-1);
  });

  it("joins cookies with '; ' like a client, so only a regex allowing the space finds a later cookie", () => {
    expect(prepareRequest(req({ cookies: { a: "1", user: "test" } })).headers.get("cookie")).toBe(
      "a=1; user=test",
    );
    expect(routeOf(strict, { cookies: { a: "1", user: "test" } })).toBe(-1);
    expect(routeOf(spaced, { cookies: { a: "1", user: "test" } })).toBe(0);
    expect(routeOf(spaced, { cookies: { a: "1", user: "tester" } })).toBe(-1);
  });

  it("appends cookies to an explicit cookie header", () => {
    expect(
      prepareRequest(req({ headers: { Cookie: "x=1" }, cookies: { y: "2" } })).headers.get("cookie"),
    ).toBe("x=1; y=2");
  });
});

describe("source matching", () => {
  const routes: HttpRoute[] = [
    { match: [{ sourceLabels: { app: "frontend", version: "v2" } }], route: [to("canary")] },
    { match: [{ sourceNamespace: "batch" }], route: [to("batch")] },
    { route: [to("stable")] },
  ];

  it("requires every sourceLabel to match", () => {
    expect(routeOf(routes, { sourceLabels: { app: "frontend", version: "v2", extra: "x" } })).toBe(0);
    expect(routeOf(routes, { sourceLabels: { app: "frontend", version: "v1" } })).toBe(2);
    expect(routeOf(routes, { sourceLabels: { app: "frontend" } })).toBe(2);
  });

  it("matches the source namespace", () => {
    expect(routeOf(routes, { sourceNamespace: "batch" })).toBe(1);
  });

  it("skips matches and VirtualServices bound only to gateways", () => {
    const gw: HttpRoute[] = [{ match: [{ gateways: ["ingress"] }], route: [to("x")] }, { route: [to("y")] }];
    expect(routeOf(gw, {})).toBe(1);
    expect(virtualServiceAppliesToMesh({ gateways: ["ingress"] })).toBe(false);
    expect(virtualServiceAppliesToMesh({ gateways: ["ingress", "mesh"] })).toBe(true);
    expect(virtualServiceAppliesToMesh({})).toBe(true);
  });
});

describe("weights", () => {
  it("splits 90/10 within 1.5% over 20000 seeded draws", () => {
    const spec: VirtualServiceSpec = { http: [{ route: [to("stable", 90), to("canary", 10)] }] };
    const counts = draws(spec, req(), 20000);
    expect((counts.get("stable") ?? 0) / 20000).toBeCloseTo(0.9, 1);
    expect(Math.abs((counts.get("canary") ?? 0) / 20000 - 0.1)).toBeLessThan(0.015);
    expect(Math.abs((counts.get("stable") ?? 0) / 20000 - 0.9)).toBeLessThan(0.015);
  });

  it("splits three ways by relative weight", () => {
    const spec: VirtualServiceSpec = { http: [{ route: [to("a", 50), to("b", 30), to("c", 20)] }] };
    const counts = draws(spec, req(), 30000, 3);
    for (const [k, w] of [
      ["a", 0.5],
      ["b", 0.3],
      ["c", 0.2],
    ] as const) {
      expect(Math.abs((counts.get(k) ?? 0) / 30000 - w)).toBeLessThan(0.015);
    }
  });

  it("sends everything to a single destination whatever its weight", () => {
    expect(splitWeights({ route: [to("only")] })).toEqual([
      { destination: to("only").destination, share: 1 },
    ]);
    expect(splitWeights({ route: [to("only", 30)] })[0]?.share).toBe(1);
  });

  it("gives nothing to zero or missing weights when other destinations have weight", () => {
    const split = splitWeights({ route: [to("a", 100), to("b", 0), to("c")] });
    expect(split.map((s) => [s.destination.subset, s.share])).toEqual([["a", 1]]);
    expect(draws({ http: [{ route: [to("a", 100), to("b", 0)] }] }, req(), 2000).get("b")).toBeUndefined();
  });

  it("normalises weights that do not sum to 100", () => {
    const split = splitWeights({ route: [to("a", 1), to("b", 3)] });
    expect(split.map((s) => s.share)).toEqual([0.25, 0.75]);
  });
});

describe("mirroring", () => {
  it("mirrors mirrorPercentage of the requests", () => {
    const spec: VirtualServiceSpec = {
      http: [
        {
          route: [to("stable")],
          mirror: { host: "reviews", subset: "shadow" },
          mirrorPercentage: { value: 30 },
        },
      ],
    };
    const random = seededRandom(11);
    let mirrored = 0;
    for (let i = 0; i < 20000; i++) {
      const d = routeRequest(spec, req(), random);
      if (d.kind !== "route") throw new Error("expected a route");
      expect(d.destination.subset).toBe("stable");
      mirrored += d.mirrors.length;
    }
    expect(Math.abs(mirrored / 20000 - 0.3)).toBeLessThan(0.015);
  });

  it("mirrors everything when no percentage is given, and supports the mirrors list", () => {
    const all = routeRequest(
      { http: [{ route: [to("stable")], mirror: { host: "shadow" } }] },
      req(),
      seededRandom(1),
    );
    expect(all.kind === "route" && all.mirrors).toEqual([{ host: "shadow" }]);
    const none = routeRequest(
      {
        http: [
          { route: [to("stable")], mirrors: [{ destination: { host: "s" }, percentage: { value: 0 } }] },
        ],
      },
      req(),
      seededRandom(1),
    );
    expect(none.kind === "route" && none.mirrors).toEqual([]);
  });
});

describe("fault injection", () => {
  it("aborts the configured percentage with the configured status", () => {
    const spec: VirtualServiceSpec = {
      http: [{ route: [to("stable")], fault: { abort: { httpStatus: 503, percentage: { value: 25 } } } }],
    };
    const counts = draws(spec, req(), 20000);
    expect(Math.abs((counts.get("abort") ?? 0) / 20000 - 0.25)).toBeLessThan(0.015);
  });

  it("adds a fixed delay to the configured percentage", () => {
    const spec: VirtualServiceSpec = {
      http: [{ route: [to("stable")], fault: { delay: { fixedDelay: "1.5s", percentage: { value: 100 } } } }],
    };
    const d = routeRequest(spec, req(), seededRandom(1));
    expect(d.kind === "route" && d.delayMs).toBe(1500);
  });
});
