// The informer against the real API server: events, dropped connections, 410 Gone.
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubernetesObject,
  type V1ConfigMap,
} from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import {
  customObjectInformer,
  Informer,
  kubeWatch,
  type WatchConnection,
  type WatchFunction,
} from "../../src/kube/informer.ts";
import { writeStatus } from "../../src/kube/status.ts";
import { minimalCanary } from "../support/canary.ts";
import { eventually } from "../support/eventually.ts";
import { useNamespace } from "../support/namespace.ts";
import { testbedKubeConfig } from "../support/testbed.ts";

const ns = useNamespace("kube-informer");
const logger = pino({ level: "silent" });

/**
 * Wraps the real watch so a test can cut the connection (as a network failure
 * would), hold reconnects back while it changes things, and answer the next
 * watch with 410 Gone. The 410 is injected because the testbed's etcd has not
 * compacted yet, so even resourceVersion 1 is still served; compacting the
 * shared etcd would disturb other test files.
 */
class WatchControl {
  readonly inner: WatchFunction;
  connections: WatchConnection[] = [];
  resumedFrom: string[] = [];
  #held: Promise<void> | undefined;
  #release: () => void = () => undefined;
  #gone = false;

  constructor() {
    this.inner = kubeWatch(testbedKubeConfig());
  }

  watch: WatchFunction = async (path, query, onEvent, onDone) => {
    await this.#held;
    this.resumedFrom.push(String(query.resourceVersion));
    if (this.#gone) {
      this.#gone = false;
      // What the API server sends for an expired resourceVersion, then it closes the stream.
      onEvent("ERROR", { kind: "Status", apiVersion: "v1", status: "Failure", reason: "Expired", code: 410 });
      onDone(null);
      return { abort: () => undefined };
    }
    const connection = await this.inner(path, query, onEvent, onDone);
    this.connections.push(connection);
    return connection;
  };

  /** Cuts the open connection; the informer's reconnect waits until `release()`, then maybe gets 410. */
  cut({ gone = false }: { gone?: boolean } = {}): void {
    this.#held = new Promise((resolve) => {
      this.#release = resolve;
    });
    this.#gone = gone;
    for (const c of this.connections) c.abort();
  }

  release(): void {
    this.#held = undefined;
    this.#release();
  }
}

function configMap(name: string, value: string): V1ConfigMap {
  return { metadata: { name, labels: { app: "informer-test" } }, data: { value } };
}

describe("Informer against the API server", () => {
  const core = () => testbedKubeConfig().makeApiClient(CoreV1Api);
  let informer: Informer<V1ConfigMap> | undefined;
  afterEach(async () => {
    await informer?.stop();
  });

  function start(control: WatchControl) {
    let lists = 0;
    const events: string[] = [];
    informer = new Informer<V1ConfigMap>({
      path: `/api/v1/namespaces/${ns.name}/configmaps`,
      list: async (options) => {
        lists++;
        return core().listNamespacedConfigMap({ namespace: ns.name, ...options });
      },
      watch: control.watch,
      labelSelector: "app=informer-test",
      backoffBaseMs: 200,
      logger,
    });
    informer.on("add", (o) => events.push(`add ${o.metadata?.name} ${o.data?.value}`));
    informer.on("update", (o) => events.push(`update ${o.metadata?.name} ${o.data?.value}`));
    informer.on("delete", (o) => events.push(`delete ${o.metadata?.name}`));
    informer.start();
    return { informer, events, lists: () => lists };
  }

  it("sees create, update and delete", async () => {
    await core().createNamespacedConfigMap({ namespace: ns.name, body: configMap("before", "0") });
    const control = new WatchControl();
    const { informer, events } = start(control);
    await informer.synced();
    expect(informer.get(ns.name, "before")?.data?.value).toBe("0");
    await eventually("a watch connection", () => expect(control.connections.length).toBe(1));

    await core().createNamespacedConfigMap({ namespace: ns.name, body: configMap("cm", "1") });
    await core().replaceNamespacedConfigMap({ name: "cm", namespace: ns.name, body: configMap("cm", "2") });
    await core().deleteNamespacedConfigMap({ name: "cm", namespace: ns.name });
    await core().createNamespacedConfigMap({
      namespace: ns.name,
      body: { metadata: { name: "unlabelled" }, data: { value: "x" } },
    });
    await eventually("all events", () =>
      expect(events).toEqual(["add before 0", "add cm 1", "update cm 2", "delete cm"]),
    );
    expect(informer.get(ns.name, "cm")).toBeUndefined();
    expect(informer.get(ns.name, "unlabelled")).toBeUndefined();
    expect(informer.healthy()).toBe(true);
    await core().deleteNamespacedConfigMap({ name: "before", namespace: ns.name });
    await eventually("delete of before", () => expect(events).toContain("delete before"));
  });

  it("loses no event when its watch connection drops", async () => {
    const control = new WatchControl();
    const { informer, events, lists } = start(control);
    await informer.synced();
    await eventually("a watch connection", () => expect(control.connections.length).toBe(1));
    await core().createNamespacedConfigMap({ namespace: ns.name, body: configMap("stays", "1") });
    await eventually("the first add", () => expect(events).toEqual(["add stays 1"]));
    const resumeFrom = informer.resourceVersion;

    control.cut();
    // While disconnected: an add, an update, and a create-then-delete.
    await core().createNamespacedConfigMap({ namespace: ns.name, body: configMap("dropped", "1") });
    await core().replaceNamespacedConfigMap({
      name: "stays",
      namespace: ns.name,
      body: configMap("stays", "2"),
    });
    await core().createNamespacedConfigMap({ namespace: ns.name, body: configMap("brief", "1") });
    await core().deleteNamespacedConfigMap({ name: "brief", namespace: ns.name });
    expect(events).toEqual(["add stays 1"]);
    control.release();

    await eventually("the missed events, in order", () =>
      expect(events).toEqual([
        "add stays 1",
        "add dropped 1",
        "update stays 2",
        "add brief 1",
        "delete brief",
      ]),
    );
    // It resumed the watch from where it was rather than relisting.
    expect(control.resumedFrom[1]).toBe(resumeFrom);
    expect(lists()).toBe(1);
    expect(
      informer
        .list()
        .map((o) => o.metadata?.name)
        .sort(),
    ).toEqual(["dropped", "stays"]);
    await core().deleteCollectionNamespacedConfigMap({
      namespace: ns.name,
      labelSelector: "app=informer-test",
    });
    await eventually("cleanup", () => expect(informer.list()).toEqual([]));
  });

  it("relists after 410 Gone and emits what changed while it was away", async () => {
    await core().createNamespacedConfigMap({ namespace: ns.name, body: configMap("old", "1") });
    await core().createNamespacedConfigMap({ namespace: ns.name, body: configMap("changes", "1") });
    await core().createNamespacedConfigMap({ namespace: ns.name, body: configMap("same", "1") });
    const control = new WatchControl();
    const { informer, events, lists } = start(control);
    await informer.synced();
    await eventually("a watch connection", () => expect(control.connections.length).toBe(1));
    events.length = 0;

    control.cut({ gone: true });
    await core().deleteNamespacedConfigMap({ name: "old", namespace: ns.name });
    await core().replaceNamespacedConfigMap({
      name: "changes",
      namespace: ns.name,
      body: configMap("changes", "2"),
    });
    await core().createNamespacedConfigMap({ namespace: ns.name, body: configMap("new", "1") });
    control.release();

    await eventually("the difference", () =>
      expect([...events].sort()).toEqual(["add new 1", "delete old", "update changes 2"]),
    );
    expect(lists()).toBe(2);
    expect(
      informer
        .list()
        .map((o) => o.metadata?.name)
        .sort(),
    ).toEqual(["changes", "new", "same"]);
    // And the new watch works.
    await core().deleteNamespacedConfigMap({ name: "same", namespace: ns.name });
    await eventually("a delete after the relist", () => expect(events).toContain("delete same"));
  });

  it("follows Canaries through customObjectInformer, including status writes", async () => {
    const resource = { group: "wren.dev", version: "v1alpha1", plural: "canaries" };
    const canaries = customObjectInformer<KubernetesObject & { status?: { phase?: string } }>(
      testbedKubeConfig(),
      resource,
      { namespace: ns.name, logger },
    );
    const seen: string[] = [];
    canaries.on("add", (o) => seen.push(`add ${o.metadata?.name}`));
    canaries.on("update", (o) => seen.push(`update ${o.metadata?.name} ${o.status?.phase}`));
    canaries.start();
    try {
      await canaries.synced();
      const api = testbedKubeConfig().makeApiClient(CustomObjectsApi);
      const created = (await api.createNamespacedCustomObject({
        ...resource,
        namespace: ns.name,
        body: minimalCanary(ns.name, "podinfo"),
      })) as KubernetesObject;
      await eventually("the add", () => expect(seen).toEqual(["add podinfo"]));
      const written = await writeStatus(api, {
        ...resource,
        namespace: ns.name,
        name: "podinfo",
        resourceVersion: created.metadata?.resourceVersion ?? "",
        status: { phase: "Initializing" },
      });
      expect(written.ok).toBe(true);
      await eventually("the status update", () =>
        expect(seen).toEqual(["add podinfo", "update podinfo Initializing"]),
      );
      const cached = canaries.get(ns.name, "podinfo");
      expect(cached?.kind).toBe("Canary");
      expect(cached?.metadata?.resourceVersion).toBe(written.ok ? written.resourceVersion : "");
    } finally {
      await canaries.stop();
    }
  });
});
