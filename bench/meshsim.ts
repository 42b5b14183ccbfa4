// Benchmark: meshsim's CPU for 200 hosts at 20 requests per second (see test/meshsim/bench.ts).
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const result = spawnSync(
  process.execPath,
  [join(import.meta.dirname, "../test/meshsim/bench.ts"), ...process.argv.slice(2)],
  {
    stdio: "inherit",
  },
);
process.exit(result.status ?? 1);
