// Reading what Prometheus sees, for assertions.
import { testbed } from "./testbed.ts";

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** Runs an instant query and returns its vector (empty when there is no data). */
export async function queryVector(promql: string): Promise<VectorSample[]> {
  const url = new URL("/api/v1/query", testbed().prometheusUrl);
  url.searchParams.set("query", promql);
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = (await response.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: unknown };
  };
  if (body.status !== "success") throw new Error(`query failed: ${body.error ?? response.status}: ${promql}`);
  if (body.data?.resultType !== "vector") throw new Error(`expected a vector from ${promql}`);
  return body.data.result as VectorSample[];
}

/** The single value of a query; throws when Prometheus has no data for it (yet). */
export async function queryValue(promql: string): Promise<number> {
  const vector = await queryVector(promql);
  const first = vector[0];
  if (vector.length !== 1 || first === undefined)
    throw new Error(`expected one sample from ${promql}, got ${vector.length}`);
  const value = Number(first.value[1]);
  if (!Number.isFinite(value)) throw new Error(`${promql} = ${first.value[1]}`);
  return value;
}
