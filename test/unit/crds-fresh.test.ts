import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { renderCustomResourceDefinitions } from "../../src/api/render-crds.ts";

const crdDir = fileURLToPath(new URL("../../crds/", import.meta.url));

describe("crds/", () => {
  const rendered = renderCustomResourceDefinitions();

  it("holds exactly the CRDs the zod schemas generate (run `npm run crds` when this fails)", () => {
    const onDisk = readdirSync(crdDir).filter((f) => f.endsWith(".yaml"));
    expect(onDisk.sort()).toEqual([...rendered.keys()].sort());
    for (const [file, text] of rendered) {
      expect(readFileSync(crdDir + file, "utf8"), `${file} is stale; run npm run crds`).toBe(text);
    }
  });

  it("puts every kind in the wren category with a status subresource", () => {
    for (const [file, text] of rendered) {
      if (file === "kustomization.yaml") continue;
      expect(text).toContain("categories:\n      - wren");
      expect(text).toContain("subresources:\n        status: {}");
    }
  });
});
