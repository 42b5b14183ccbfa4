// `npm run crds` writes crds/<plural>.wren.dev.yaml from the zod schemas;
// `npm run crds -- --check` exits 1 when crds/ differs from what the schemas give.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { renderCustomResourceDefinitions } from "./render-crds.ts";

const crdDir = fileURLToPath(new URL("../../crds/", import.meta.url));
const check = process.argv.includes("--check");

const rendered = renderCustomResourceDefinitions();
const existing = new Set((await readdir(crdDir).catch(() => [])).filter((f) => f.endsWith(".yaml")));
const stale: string[] = [];
for (const [file, text] of rendered) {
  existing.delete(file);
  const current = await readFile(crdDir + file, "utf8").catch(() => undefined);
  if (current === text) continue;
  stale.push(file);
  if (!check) await writeFile(crdDir + file, text);
}
stale.push(...[...existing].map((f) => `${f} (no kind generates it)`));
if (check && stale.length > 0) {
  console.error(`crds/ is stale; run npm run crds. Differs: ${stale.join(", ")}`);
  process.exit(1);
}
console.log(check ? "crds/ is up to date" : `wrote ${stale.length} of ${rendered.size} CRDs to crds/`);
