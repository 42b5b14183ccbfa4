// `npm run docs` writes the CRD reference, docs/reference/*.md, from the zod schemas;
// `npm run docs -- --check` exits 1 when docs/reference/ differs from what the schemas give.
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { renderReferenceDocs } from "./render-docs.ts";

const docsDir = fileURLToPath(new URL("../../docs/reference/", import.meta.url));
const check = process.argv.includes("--check");

const rendered = renderReferenceDocs();
const existing = new Set((await readdir(docsDir).catch(() => [])).filter((f) => f.endsWith(".md")));
const stale: string[] = [];
if (!check) await mkdir(docsDir, { recursive: true });
for (const [file, text] of rendered) {
  existing.delete(file);
  const current = await readFile(docsDir + file, "utf8").catch(() => undefined);
  if (current === text) continue;
  stale.push(file);
  if (!check) await writeFile(docsDir + file, text);
}
const orphans = [...existing].map((f) => `${f} (no kind generates it)`);
if (check && stale.length + orphans.length > 0) {
  console.error(`docs/reference/ is stale; run npm run docs. Differs: ${[...stale, ...orphans].join(", ")}`);
  process.exit(1);
}
if (!check && orphans.length > 0) console.warn(`not generated, delete if unwanted: ${orphans.join(", ")}`);
console.log(
  check
    ? "docs/reference/ is up to date"
    : `wrote ${stale.length} of ${rendered.size} pages to docs/reference/`,
);
