// Renders each kind's CRD as YAML text, keyed by file name. Pure.
import { stringify } from "yaml";
import { toCustomResourceDefinition } from "./crd.ts";
import { kinds } from "./kinds.ts";

const header = "# Generated from src/api by `npm run crds`. Do not edit by hand.\n";

/** File name -> YAML text for every kind's CRD. */
export function renderCustomResourceDefinitions(): Map<string, string> {
  return new Map(
    kinds.map((def) => [
      `${def.plural}.wren.dev.yaml`,
      header + stringify(toCustomResourceDefinition(def), { lineWidth: 0, aliasDuplicateObjects: false }),
    ]),
  );
}
