// The controller process: configuration, leader election, the reconcile loops,
// and HTTP for health and metrics. `npm start` runs it.
import { createServer } from "node:http";
import { loadConfig } from "./config.ts";
import { createController } from "./controller.ts";
import { loadKubeConfig } from "./kube/client.ts";
import { LeaderElector } from "./kube/leader-election.ts";
import { logger } from "./observability/logger.ts";
import { registry } from "./observability/metrics.ts";

let config: ReturnType<typeof loadConfig>;
let kc: ReturnType<typeof loadKubeConfig>;
try {
  config = loadConfig(process.argv.slice(2), process.env);
  kc = loadKubeConfig({ kubeconfig: config.kubeconfig });
} catch (error) {
  // Bad flags or kubeconfig: one line a person can act on, not a stack trace.
  console.error(`wren: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}
const controller = createController(kc, config, logger);
let leader: LeaderElector | undefined;

const server = createServer(async (req, res) => {
  const reply = (code: number, body: string, type = "text/plain") => {
    res.writeHead(code, { "content-type": type });
    res.end(body);
  };
  if (req.url === "/healthz")
    return reply(controller.healthy() ? 200 : 503, controller.healthy() ? "ok" : "informers down");
  if (req.url === "/readyz")
    return reply(controller.synced() ? 200 : 503, controller.synced() ? "ok" : "caches not synced");
  if (req.url === "/metrics") return reply(200, await registry.metrics(), registry.contentType);
  reply(404, "not found");
});
const [host, port] = config.metricsAddress.split(/:(?=[0-9]+$)/);
server.listen(Number(port), host, () =>
  logger.info({ address: config.metricsAddress }, "serving /healthz, /readyz, /metrics"),
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down");
  // Stop reconciling first, then hand the Lease over at once instead of letting it expire.
  await controller.stop();
  await leader?.release();
  server.close();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));

await controller.start();
logger.info({ namespace: config.namespace ?? "(all)", identity: config.identity }, "caches synced");
if (config.leaderElect) {
  leader = new LeaderElector({
    client: kc,
    name: config.leaseName,
    namespace: config.leaseNamespace,
    identity: config.identity,
    logger,
    onStartedLeading: () => {
      logger.info({ identity: config.identity }, "became leader; reconciling");
      controller.startWorkers();
    },
    onStoppedLeading: () => {
      if (stopping) return;
      // A replica that lost the Lease may hold stale intentions; restart clean from status.
      logger.error({ identity: config.identity }, "lost leadership; exiting");
      process.exit(1);
    },
  }).start();
} else {
  controller.startWorkers();
}
