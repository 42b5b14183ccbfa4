// Machine-readable output: -o json and -o yaml.
import { stringify } from "yaml";
import type { Output } from "./io.ts";

/** Prints data as pretty JSON or YAML. */
export function printData(out: Output, data: unknown, format: "json" | "yaml"): void {
  out.write(
    format === "json"
      ? `${JSON.stringify(data, null, 2)}\n`
      : stringify(data, { aliasDuplicateObjects: false }),
  );
}

/** A kubectl-style List of objects. */
export function list(items: unknown[]): Record<string, unknown> {
  return { apiVersion: "v1", kind: "List", metadata: { resourceVersion: "" }, items };
}
