// Renders each kind's CRD as YAML text, keyed by file name. Pure.
import { stringify } from "yaml";
import { toCustomResourceDefinition } from "./crd.ts";
import { kinds } from "./kinds.ts";

const header = "# Generated from src/api by `npm run crds`. Do not edit by hand.\n";

/**
 * File name -> YAML text for every kind's CRD, plus a kustomization.yaml listing
 * them, so `deploy/` (and anyone's kustomize overlay) can include crds/ as a base.
 */
export function renderCustomResourceDefinitions(): Map<string, string> {
  const files = new Map(
    kinds.map((def) => [
      `${def.plural}.wren.dev.yaml`,
      header + stringify(toCustomResourceDefinition(def), { lineWidth: 0, aliasDuplicateObjects: false }),
    ]),
  );
  const kustomization = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: [...files.keys()],
  };
  files.set("kustomization.yaml", header + stringify(kustomization));
  return files;
}
