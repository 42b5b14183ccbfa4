// Migration test helpers: a monolith with new services behind one host, the
// Migration object, reading status, asking for manual actions, recording the
// VirtualService's percents over time, and measuring where requests went.
import { CoreV1Api, CustomObjectsApi, type KubernetesObject } from "@kubernetes/client-node";
import { expect } from "vitest";
import type { MigrationStatus } from "../../src/api/migration.ts";
import type { VirtualService } from "../../src/engine/routing/istio.ts";
import { mergePatch } from "../../src/kube/apply.ts";
import type { Informer } from "../../src/kube/informer.ts";
import { resourceInformer } from "../../src/kube/resource-informer.ts";
import { eventually } from "./eventually.ts";
import { apply, type Behaviour, deployment, service, type TrafficSource, traffic } from "./fixtures.ts";
import { queryVector } from "./prometheus.ts";
import { testbedKubeConfig } from "./testbed.ts";

/** The services of a shop: host `<p>` (the monolith's Service) and the new `<p>-orders`, `<p>-users`. */
export interface Shop {
  host: string;
  orders: string;
  users: string;
}

export function shopNames(prefix: string): Shop {
  return { host: prefix, orders: `${prefix}-orders`, users: `${prefix}-users` };
}

/** Sources meshsim sends from, one per kind of request, so Prometheus tells them apart. */
export function sources(prefix: string) {
  return {
    orders: `${prefix}-orders-client`,
    users: `${prefix}-users-client`,
    other: `${prefix}-other-client`,
    optIn: `${prefix}-optin-client`,
  };
}

/** A request shape of a traffic population, sent from a named source workload. */
type SourcedRequest = NonNullable<TrafficSource["requests"]>[number] & { source: string };

export interface ShopOptions {
  rps?: number;
  users?: Behaviour;
  /** Replicas of the users service; 0 leaves its Service without ready pods. */
  usersReplicas?: number;
}

/**
 * Deploys the monolith (`<p>-monolith` behind Service `<p>`), the orders and users
 * services, and meshsim traffic to the host: /orders, /users, other paths, and
 * /orders requests that opt in with `x-migration-phase: orders`.
 */
export async function deployShop(
  namespace: string,
  prefix: string,
  options: ShopOptions = {},
): Promise<Shop> {
  const names = shopNames(prefix);
  const src = sources(prefix);
  const rps = options.rps ?? 60;
  const population: SourcedRequest[] = [
    { weight: 30, uri: "/orders/42", source: src.orders },
    { weight: 30, uri: "/users/7", source: src.users },
    { weight: 30, uri: "/catalog", source: src.other },
    { weight: 10, uri: "/orders/9", headers: { "x-migration-phase": "orders" }, source: src.optIn },
  ];
  await apply(
    deployment(namespace, `${prefix}-monolith`, { replicas: 2 }),
    service(namespace, names.host, { app: `${prefix}-monolith` }),
    deployment(namespace, names.orders, { replicas: 1 }),
    service(namespace, names.orders, { app: names.orders }),
    deployment(namespace, names.users, {
      replicas: options.usersReplicas ?? 1,
      behaviour: options.users ?? {},
    }),
    service(namespace, names.users, { app: names.users }),
    traffic(namespace, `${prefix}-clients`, [{ host: names.host, rps, requests: population }]),
  );
  return names;
}

/** A phase moving requests under `prefix` to `service`, with test-sized timing. */
export function testPhase(
  name: string,
  prefix: string,
  service: string,
  extra: Record<string, unknown> = {},
) {
  return {
    name,
    match: [{ uri: { prefix } }],
    to: [{ service, port: 80 }],
    steps: [10, 50, 100],
    stepInterval: "2s",
    validation: {
      interval: "3s",
      range: "10s",
      maxErrorRate: 5,
      minThroughput: 0.2,
      minRequests: 8,
      threshold: 3,
    },
    ...extra,
  };
}

/** A Migration of `shop` (its host, and the host as the monolith's Service). */
export function migration(
  namespace: string,
  name: string,
  shop: Shop,
  phases: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): KubernetesObject {
  return {
    apiVersion: "wren.dev/v1alpha1",
    kind: "Migration",
    metadata: { name, namespace },
    spec: { host: shop.host, monolith: { service: shop.host, port: 80 }, phases, ...extra },
  } as KubernetesObject;
}

export async function migrationStatus(namespace: string, name: string): Promise<MigrationStatus> {
  const api = testbedKubeConfig().makeApiClient(CustomObjectsApi);
  const obj = (await api.getNamespacedCustomObject({
    group: "wren.dev",
    version: "v1alpha1",
    namespace,
    plural: "migrations",
    name,
  })) as { status?: MigrationStatus };
  return obj.status ?? {};
}

/** Waits until the Migration reaches one of `phases` and returns its status. */
export async function untilMigration(namespace: string, name: string, phases: string[], timeoutMs = 120_000) {
  return eventually(
    `${name} ${phases.join(" or ")}`,
    async () => {
      const status = await migrationStatus(namespace, name);
      expect(phases).toContain(status.phase);
      return status;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

export function phaseState(status: MigrationStatus): Record<string, string> {
  return Object.fromEntries((status.phases ?? []).map((p) => [p.name, p.state]));
}

/** Asks for a manual action on a Migration the way kubectl wren does. */
export async function requestMigrationAction(
  namespace: string,
  name: string,
  action: string,
): Promise<string> {
  const id = crypto.randomUUID();
  const annotation = JSON.stringify({
    id,
    action,
    requestedBy: "e2e",
    requestedAt: new Date().toISOString(),
  });
  await mergePatch(
    testbedKubeConfig(),
    { apiVersion: "wren.dev/v1alpha1", kind: "Migration", metadata: { name, namespace } },
    { metadata: { annotations: { "wren.dev/action": annotation } } },
  );
  return id;
}

/** Every distinct routing a Migration's VirtualService takes, as `phase:percent,...` of its phase routes. */
export class RouteRecorder {
  readonly routes: string[] = [];
  readonly #informer: Informer<VirtualService>;

  constructor(namespace: string, name: string, monolith: string) {
    this.#informer = resourceInformer<VirtualService>(
      testbedKubeConfig(),
      { group: "networking.istio.io", version: "v1", plural: "virtualservices" },
      { namespace, fieldSelector: `metadata.name=${name}`, resyncMs: 0 },
    );
    const record = (vs: VirtualService) => {
      const text = (vs.spec.http ?? [])
        .filter((r) => r.name?.startsWith("phase-"))
        .map((r) => {
          const rest = r.route?.find((d) => d.destination.host === monolith)?.weight ?? 0;
          return `${r.name?.slice("phase-".length)}:${100 - rest}`;
        })
        .join(",");
      if (this.routes.at(-1) !== text) this.routes.push(text);
    };
    this.#informer.on("add", record);
    this.#informer.on("update", record);
    this.#informer.start();
  }

  async stop(): Promise<void> {
    await this.#informer.stop();
  }
}

/**
 * Requests per second of one traffic source, by the workload that served them,
 * over the last `window` (as the serving sidecars report them).
 */
export async function servedBy(
  namespace: string,
  source: string,
  window = "5s",
): Promise<Record<string, number>> {
  const vector = await queryVector(
    `sum by (destination_workload) (rate(istio_requests_total{reporter="destination",destination_workload_namespace="${namespace}",source_workload="${source}"}[${window}]))`,
  );
  return Object.fromEntries(vector.map((s) => [s.metric.destination_workload ?? "", Number(s.value[1])]));
}

/** The share of a source's served requests each workload took (workloads with no rate left out). */
export function shares(rates: Record<string, number>): Record<string, number> {
  const total = Object.values(rates).reduce((a, b) => a + b, 0);
  return Object.fromEntries(
    Object.entries(rates)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => [k, total > 0 ? v / total : 0]),
  );
}

/** Warning Events about an object with a reason. */
export async function warningEvents(namespace: string, name: string, reason: string) {
  const events = await testbedKubeConfig()
    .makeApiClient(CoreV1Api)
    .listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name},reason=${reason}` });
  return events.items.filter((e) => e.type === "Warning");
}
