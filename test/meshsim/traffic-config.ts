// The traffic contract: ConfigMaps labelled `meshsim.wren.dev/traffic=true` whose
// `data["traffic.yaml"]` lists hosts, their request rate and the population of
// requests sent to them. See README.md for the format.

import { parse } from "yaml";
import { z } from "zod";
import type { TrafficEntry } from "./model.ts";

export const TRAFFIC_LABEL = "meshsim.wren.dev/traffic";
export const TRAFFIC_KEY = "traffic.yaml";
/** The source workload of requests that name none. */
export const DEFAULT_SOURCE = "meshsim-client";

// YAML turns `x-version: 2` into a number; header and cookie values are strings.
const stringMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

const requestSchema = z.strictObject({
  weight: z.number().nonnegative().default(1),
  uri: z.string().startsWith("/").optional(),
  method: z.string().min(1).optional(),
  headers: stringMap.optional(),
  cookies: stringMap.optional(),
  source: z.string().min(1).optional(),
});

const entrySchema = z
  .strictObject({
    host: z.string().min(1),
    rps: z.number().nonnegative(),
    source: z.string().min(1).optional(),
    requests: z.array(requestSchema).optional(),
  })
  .refine((e) => !e.requests || e.requests.length === 0 || e.requests.some((r) => r.weight > 0), {
    message: "request weights sum to 0",
  });

const configSchema = z.array(entrySchema);

export type ParsedTraffic =
  | { readonly ok: true; readonly entries: readonly TrafficEntry[] }
  | { readonly ok: false; readonly error: string };

export function parseTrafficConfig(text: string | undefined): ParsedTraffic {
  if (text === undefined) return { ok: false, error: `no data["${TRAFFIC_KEY}"]` };
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    return { ok: false, error: `invalid YAML: ${e instanceof Error ? e.message : String(e)}` };
  }
  const result = configSchema.safeParse(raw ?? []);
  if (!result.success) return { ok: false, error: z.prettifyError(result.error) };
  return {
    ok: true,
    entries: result.data.map((e) => ({
      host: e.host,
      rps: e.rps,
      source: e.source,
      requests: e.requests && e.requests.length > 0 ? e.requests : [{ weight: 1 }],
    })),
  };
}
