// npm run bench [-- name...]: runs the benchmarks one after another and prints their figures.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const all = ["meshsim", "canary-rollback", "canary-scale", "controlplane-upgrade"];
const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : all;
for (const name of chosen) {
  if (!all.includes(name)) {
    console.error(`unknown benchmark ${name}; choose from ${all.join(", ")}`);
    process.exit(2);
  }
  console.log(`\n== ${name}`);
  const result = spawnSync(process.execPath, [join(import.meta.dirname, `${name}.ts`)], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
