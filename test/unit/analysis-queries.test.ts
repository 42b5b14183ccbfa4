import { describe, expect, it } from "vitest";
import {
  builtinQuery,
  escapeLabelValue,
  type QueryContext,
  QueryError,
  renderTemplate,
} from "../../src/engine/analysis/queries.ts";

const scope = { namespace: "shop", workload: "podinfo", interval: "1m" };
const sel = 'reporter="destination",destination_workload_namespace="shop",destination_workload="podinfo"';

const context: QueryContext = {
  namespace: "shop",
  target: "podinfo",
  primary: "podinfo-primary",
  service: "podinfo",
  interval: "30s",
};

describe("builtinQuery", () => {
  it("request-success-rate: percent of non-5xx requests", () => {
    expect(builtinQuery("request-success-rate", scope)).toBe(
      `sum(rate(istio_requests_total{${sel},response_code!~"5.*"}[1m])) / sum(rate(istio_requests_total{${sel}}[1m])) * 100`,
    );
  });

  it("request-duration: p99 in milliseconds", () => {
    expect(builtinQuery("request-duration", scope)).toBe(
      `histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{${sel}}[1m])) by (le))`,
    );
  });

  it("request-throughput: requests per second, 0 rather than no data without traffic", () => {
    expect(builtinQuery("request-throughput", scope)).toBe(
      `sum(rate(istio_requests_total{${sel}}[1m])) or vector(0)`,
    );
  });

  it("uses the interval it is given", () => {
    expect(builtinQuery("request-throughput", { ...scope, interval: "1h30m" })).toContain("[1h30m]");
  });

  it("escapes label values", () => {
    const query = builtinQuery("request-throughput", { ...scope, workload: 'a"b\\c' });
    expect(query).toContain('destination_workload="a\\"b\\\\c"');
  });

  it("refuses an interval that is not a duration, which would change the query's meaning", () => {
    expect(() => builtinQuery("request-duration", { ...scope, interval: "1m]) or vector(1" })).toThrow(
      QueryError,
    );
  });
});

describe("escapeLabelValue", () => {
  it("escapes backslash, double quote and newline", () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeLabelValue("plain-name")).toBe("plain-name");
  });
});

describe("renderTemplate", () => {
  it("fills every built-in variable, with or without spaces inside the braces", () => {
    const query =
      'sum(rate(x{ns="{{ namespace }}",w="{{target}}",p="{{  primary  }}",s="{{ service }}"}[{{ interval }}]))';
    expect(renderTemplate(query, context)).toBe(
      'sum(rate(x{ns="shop",w="podinfo",p="podinfo-primary",s="podinfo"}[30s]))',
    );
  });

  it("fills custom variables from templateVariables", () => {
    const query = 'histogram_quantile({{ variables.quantile }}, rate(h{route="{{ variables.route }}"}[1m]))';
    expect(renderTemplate(query, context, { quantile: "0.95", route: "/api/orders" })).toBe(
      'histogram_quantile(0.95, rate(h{route="/api/orders"}[1m]))',
    );
  });

  it("escapes values so a variable cannot break out of its label value", () => {
    const rendered = renderTemplate('x{route="{{ variables.route }}"}', context, {
      route: '"} or vector(1) or x{a="\\',
    });
    expect(rendered).toBe('x{route="\\"} or vector(1) or x{a=\\"\\\\"}');
  });

  it("names an unknown variable instead of sending a broken query", () => {
    expect(() => renderTemplate('x{ns="{{ nmespace }}"}', context)).toThrow(
      /unknown template variable "nmespace"/,
    );
  });

  it("names a custom variable the check does not set, and lists the known ones", () => {
    let message = "";
    try {
      renderTemplate('x{a="{{ variables.route }}",b="{{ variables.method }}"}', context, { route: "/" });
    } catch (error) {
      expect(error).toBeInstanceOf(QueryError);
      message = (error as Error).message;
    }
    expect(message).toContain('"variables.method"');
    expect(message).not.toContain('"variables.route"');
    expect(message).toContain("variables.route");
    expect(message).toContain("namespace");
  });

  it("rejects an unclosed variable", () => {
    expect(() => renderTemplate('x{ns="{{ namespace"}', context)).toThrow(/never closed/);
  });

  it("rejects a malformed interval", () => {
    expect(() => renderTemplate("rate(x[{{ interval }}])", { ...context, interval: "soon" })).toThrow(
      /interval "soon"/,
    );
  });

  it("leaves a query without variables untouched", () => {
    expect(renderTemplate('sum(up{job="prometheus"})', context)).toBe('sum(up{job="prometheus"})');
  });
});
