import { describe, expect, it } from "vitest";
import { toCustomResourceDefinition } from "../../src/api/crd.ts";
import { kinds } from "../../src/api/kinds.ts";
import {
  MetricTemplateSpec,
  metricTemplateKind,
  unknownTemplateVariables,
} from "../../src/api/metric-template.ts";

const valid = {
  provider: { address: "http://prometheus.istio-system:9090" },
  query:
    'sum(rate(x{namespace="{{ namespace }}",app="{{ target }}",r="{{ variables.route }}"}[{{ interval }}]))',
};

function issues(spec: unknown): { path: string; message: string }[] {
  const result = MetricTemplateSpec.safeParse(spec);
  if (result.success) return [];
  return result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
}

describe("MetricTemplateSpec", () => {
  it("accepts a minimal template and fills in the defaults", () => {
    expect(MetricTemplateSpec.parse(valid)).toEqual({
      provider: {
        type: "prometheus",
        address: "http://prometheus.istio-system:9090",
        insecureSkipVerify: false,
      },
      query: valid.query,
    });
  });

  it("accepts headers, a secretRef and documented variables", () => {
    const spec = {
      ...valid,
      provider: {
        type: "prometheus",
        address: "https://mimir.example.com/prometheus",
        headers: { "X-Scope-OrgID": "team-a" },
        secretRef: { name: "mimir-auth" },
        insecureSkipVerify: true,
      },
      variables: [{ name: "route", description: "The route to watch, e.g. /orders." }],
    };
    expect(MetricTemplateSpec.parse(spec)).toEqual(spec);
  });

  it.each([
    ["a missing query", { provider: valid.provider }, "query"],
    ["an empty query", { ...valid, query: "" }, "query"],
    ["a missing provider", { query: valid.query }, "provider"],
    [
      "an address that is not a URL",
      { ...valid, provider: { address: "prometheus:9090 " } },
      "provider.address",
    ],
    [
      "an address that is not http(s)",
      { ...valid, provider: { address: "ftp://prom/" } },
      "provider.address",
    ],
    [
      "an unknown provider type",
      { ...valid, provider: { ...valid.provider, type: "datadog" } },
      "provider.type",
    ],
    [
      "a secretRef without a name",
      { ...valid, provider: { ...valid.provider, secretRef: {} } },
      "provider.secretRef.name",
    ],
    ["a variable without a name", { ...valid, variables: [{ description: "x" }] }, "variables.0.name"],
  ])("rejects %s, naming the field", (_what, spec, path) => {
    expect(issues(spec).map((i) => i.path)).toContain(path);
  });

  it("rejects credentials in the address, pointing to secretRef", () => {
    const found = issues({ ...valid, provider: { address: "http://admin:hunter2@prometheus:9090" } });
    expect(found).toEqual([{ path: "provider.address", message: expect.stringContaining("secretRef") }]);
  });

  it("rejects a query with an unknown variable, naming it", () => {
    const found = issues({ ...valid, query: 'up{ns="{{ nmespace }}",a="{{ .target }}"}' });
    expect(found).toEqual([{ path: "query", message: expect.stringContaining('"nmespace", ".target"') }]);
  });

  it("rejects a query with an unclosed variable", () => {
    expect(issues({ ...valid, query: 'up{ns="{{ namespace"}' })).toEqual([
      { path: "query", message: expect.stringContaining("never closed") },
    ]);
  });
});

describe("unknownTemplateVariables", () => {
  it("knows the built-in variables and any variables.<name>", () => {
    expect(
      unknownTemplateVariables(
        "{{namespace}} {{ target }} {{ primary }} {{ service }} {{ interval }} {{ variables.a_b-c }}",
      ),
    ).toEqual([]);
    expect(unknownTemplateVariables("{{ variables. }} {{ variables.a.b }} {{ Namespace }}")).toEqual([
      "variables.",
      "variables.a.b",
      "Namespace",
    ]);
  });
});

describe("the MetricTemplate kind", () => {
  it("is served with its names and in the wren category", () => {
    expect(kinds).toContain(metricTemplateKind);
    expect(metricTemplateKind).toMatchObject({
      kind: "MetricTemplate",
      plural: "metrictemplates",
      singular: "metrictemplate",
      shortNames: ["wmt"],
      categories: ["wren"],
    });
  });

  it("describes every spec field in its CRD", () => {
    const crd = toCustomResourceDefinition(metricTemplateKind) as {
      spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: Schema } } } }[] };
    };
    const spec = crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec;
    const undescribed: string[] = [];
    const walk = (schema: Schema, path: string) => {
      for (const [name, child] of Object.entries(schema.properties ?? {})) {
        if (typeof child.description !== "string" || child.description === "")
          undescribed.push(`${path}.${name}`);
        walk(child, `${path}.${name}`);
      }
      if (schema.items !== undefined) walk(schema.items, `${path}[]`);
    };
    expect(spec).toBeDefined();
    if (spec !== undefined) walk(spec, "spec");
    expect(undescribed).toEqual([]);
  });
});

interface Schema {
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
}
