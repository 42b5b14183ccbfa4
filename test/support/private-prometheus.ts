// A Prometheus of a test's own, scraping the testbed's meshsim, that the test may
// stop and start again (the shared one must stay up for other test files).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, stopProcessGroup } from "../testbed/processes.ts";
import {
  ensurePrometheus,
  prometheusArgs,
  startPrometheus,
  writePrometheusConfig,
} from "../testbed/prometheus.ts";
import { testbed } from "./testbed.ts";

export interface PrivatePrometheus {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startPrivatePrometheus(): Promise<PrivatePrometheus> {
  const dir = mkdtempSync(join(tmpdir(), "wren-prometheus-"));
  const meshsimPort = Number(new URL(testbed().meshsimUrl).port);
  const { configFile } = writePrometheusConfig(dir, meshsimPort);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = prometheusArgs(configFile, join(dir, "data"), port);
  const binary = ensurePrometheus();
  const log = join(dir, "prometheus.log");
  let pid = await startPrometheus(binary, args, log, url);
  return {
    url,
    async stop() {
      if (pid === 0) return;
      await stopProcessGroup(pid);
      pid = 0;
    },
    async start() {
      if (pid === 0) pid = await startPrometheus(binary, args, log, url);
    },
  };
}
