// The testbed's Prometheus: Debian's package, scraping meshsim every second.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { httpOk, startDetached, waitUntil } from "./processes.ts";

const debianBinary = "/usr/bin/prometheus";

/** Finds the prometheus binary, installing Debian's package when we are root and it is missing. */
export function ensurePrometheus(): string {
  const onPath = spawnSync("sh", ["-c", "command -v prometheus"], { encoding: "utf8" }).stdout.trim();
  if (onPath) return onPath;
  if (existsSync(debianBinary)) return debianBinary;
  if (process.getuid?.() !== 0) {
    throw new Error("Prometheus is not installed. Install it with: sudo apt-get install -y prometheus");
  }
  console.error("testbed: installing Debian's prometheus package ...");
  const started = Date.now();
  // policy-rc.d 101 keeps the package's own service from starting: the testbed runs its own.
  const script = [
    "set -e",
    "created=0",
    "if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created=1; fi",
    "trap '[ $created = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT",
    "export DEBIAN_FRONTEND=noninteractive",
    "apt-get update -qq",
    "apt-get install -y -qq --no-install-recommends prometheus >/dev/null",
  ].join("\n");
  const result = spawnSync("sh", ["-c", script], { stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0 || !existsSync(debianBinary)) {
    throw new Error("apt-get install prometheus failed; install Debian's prometheus package by hand");
  }
  console.error(`testbed: installed prometheus in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return debianBinary;
}

/** Writes the scrape configuration: every file in targetsDir is a file_sd target list, scraped each second. */
export function writePrometheusConfig(
  dir: string,
  meshsimPort: number,
): { configFile: string; targetsDir: string } {
  const targetsDir = join(dir, "targets");
  mkdirSync(targetsDir, { recursive: true });
  writeFileSync(
    join(targetsDir, "meshsim.json"),
    JSON.stringify([{ targets: [`127.0.0.1:${meshsimPort}`], labels: { job: "meshsim" } }]),
  );
  const configFile = join(dir, "prometheus.yml");
  writeFileSync(
    configFile,
    [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: testbed",
      "    file_sd_configs:",
      `      - files: ["${targetsDir}/*.json"]`,
      "        refresh_interval: 1s",
      "",
    ].join("\n"),
  );
  return { configFile, targetsDir };
}

/** Arguments that start Prometheus on a loopback port with its data in dataDir. */
export function prometheusArgs(configFile: string, dataDir: string, port: number): string[] {
  return [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${dataDir}`,
    "--storage.tsdb.retention.time=6h",
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ];
}

/** Starts Prometheus and waits until it is ready. Returns its pid. */
export async function startPrometheus(
  binary: string,
  args: string[],
  logFile: string,
  url: string,
): Promise<number> {
  const pid = startDetached(binary, args, logFile);
  await waitUntil(`Prometheus at ${url} (log: ${logFile})`, 60_000, () => httpOk(`${url}/-/ready`));
  return pid;
}
