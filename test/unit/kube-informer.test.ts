import type { KubernetesListObject, V1ConfigMap } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Informer, objectKey, resourcePath, type WatchFunction } from "../../src/kube/informer.ts";

const logger = pino({ level: "silent" });
const settle = () => vi.advanceTimersByTimeAsync(0);

interface Connection {
  query: Record<string, string | number | boolean | undefined>;
  onEvent: (type: string, object: unknown) => void;
  onDone: (error: unknown) => void;
  open: boolean;
}

/** An in-memory API server for one collection of ConfigMaps, with a bounded watch history. */
class FakeServer {
  revision = 1;
  objects = new Map<string, V1ConfigMap>();
  history: Array<{ revision: number; type: string; object: V1ConfigMap }> = [];
  compactedBelow = 0;
  connections: Connection[] = [];
  lists = 0;
  failLists = 0;

  list = async (): Promise<KubernetesListObject<V1ConfigMap>> => {
    this.lists++;
    if (this.failLists > 0) {
      this.failLists--;
      throw new Error("connection refused");
    }
    return {
      apiVersion: "v1",
      kind: "ConfigMapList",
      metadata: { resourceVersion: String(this.revision) },
      items: [...this.objects.values()].map((o) => structuredClone(o)),
    };
  };

  watch: WatchFunction = async (_path, query, onEvent, onDone) => {
    const connection: Connection = { query, onEvent, onDone, open: true };
    this.connections.push(connection);
    const from = Number(query.resourceVersion);
    if (from < this.compactedBelow) {
      onEvent("ERROR", { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" });
      this.close(connection, null);
    } else {
      for (const event of this.history) {
        if (event.revision > from) onEvent(event.type, structuredClone(event.object));
      }
    }
    return { abort: () => this.close(connection, new Error("aborted")) };
  };

  get open(): Connection[] {
    return this.connections.filter((c) => c.open);
  }

  close(connection: Connection, error: unknown): void {
    if (!connection.open) return;
    connection.open = false;
    connection.onDone(error);
  }

  /** Drops every open watch, as a network failure would. */
  drop(): void {
    for (const c of this.open) this.close(c, new Error("socket hang up"));
  }

  put(name: string, data: Record<string, string>): void {
    const exists = this.objects.has(name);
    const object: V1ConfigMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: "ns", resourceVersion: String(++this.revision) },
      data,
    };
    this.objects.set(name, object);
    this.emit(exists ? "MODIFIED" : "ADDED", object);
  }

  remove(name: string): void {
    const object = this.objects.get(name);
    if (object === undefined) throw new Error(`no ${name}`);
    this.objects.delete(name);
    this.emit("DELETED", {
      ...object,
      metadata: { ...object.metadata, resourceVersion: String(++this.revision) },
    });
  }

  emit(type: string, object: V1ConfigMap): void {
    this.history.push({ revision: this.revision, type, object: structuredClone(object) });
    for (const c of this.open) c.onEvent(type, structuredClone(object));
  }
}

function record(informer: Informer<V1ConfigMap>) {
  const events: string[] = [];
  informer.on("add", (o) => events.push(`add ${o.metadata?.name} ${JSON.stringify(o.data)}`));
  informer.on("update", (o, old) =>
    events.push(`update ${o.metadata?.name} ${JSON.stringify(old.data)}->${JSON.stringify(o.data)}`),
  );
  informer.on("delete", (o) => events.push(`delete ${o.metadata?.name}`));
  return events;
}

function makeInformer(server: FakeServer, options: { resyncMs?: number; unhealthyAfterMs?: number } = {}) {
  return new Informer<V1ConfigMap>({
    path: "/api/v1/namespaces/ns/configmaps",
    list: server.list,
    watch: server.watch,
    labelSelector: "app=x",
    resyncMs: options.resyncMs ?? 0,
    unhealthyAfterMs: options.unhealthyAfterMs ?? 10_000,
    random: () => 0,
    logger,
  });
}

describe("resourcePath and objectKey", () => {
  it("name core and grouped collections, cluster-wide and namespaced", () => {
    expect(resourcePath({ group: "", version: "v1", plural: "configmaps" }, "ns")).toBe(
      "/api/v1/namespaces/ns/configmaps",
    );
    expect(resourcePath({ group: "wren.dev", version: "v1alpha1", plural: "canaries" })).toBe(
      "/apis/wren.dev/v1alpha1/canaries",
    );
    expect(objectKey({ metadata: { name: "a", namespace: "ns" } })).toBe("ns/a");
    expect(objectKey({ metadata: { name: "node-1" } })).toBe("node-1");
  });
});

describe("Informer", () => {
  let server: FakeServer;
  let informer: Informer<V1ConfigMap>;
  beforeEach(() => {
    vi.useFakeTimers();
    server = new FakeServer();
  });
  afterEach(async () => {
    await informer?.stop();
    vi.useRealTimers();
  });

  it("lists, syncs, then follows the watch into the cache and the handlers", async () => {
    server.put("a", { v: "1" });
    informer = makeInformer(server);
    const events = record(informer);
    informer.start();
    await informer.synced();
    expect(events).toEqual(['add a {"v":"1"}']);
    expect(informer.get("ns", "a")?.kind).toBe("ConfigMap");
    await settle();
    expect(server.open).toHaveLength(1);
    expect(server.open[0]?.query).toMatchObject({ resourceVersion: "2", labelSelector: "app=x" });

    server.put("b", { v: "1" });
    server.put("a", { v: "2" });
    server.remove("b");
    expect(events).toEqual([
      'add a {"v":"1"}',
      'add b {"v":"1"}',
      'update a {"v":"1"}->{"v":"2"}',
      "delete b",
    ]);
    expect(informer.list().map(objectKey)).toEqual(["ns/a"]);
    expect(informer.getByKey("ns/a")?.data).toEqual({ v: "2" });
    expect(informer.resourceVersion).toBe(String(server.revision));
  });

  it("after a dropped watch, reconnects from its resourceVersion with backoff and loses no event", async () => {
    server.put("a", { v: "1" });
    informer = makeInformer(server);
    const events = record(informer);
    informer.start();
    await informer.synced();
    await settle();
    server.drop();
    // While disconnected: a create, an update and a delete.
    server.put("b", { v: "1" });
    server.put("a", { v: "2" });
    server.remove("b");
    expect(events).toEqual(['add a {"v":"1"}']);
    // Jitter is pinned to its low end: 50% of the 1 s base.
    await vi.advanceTimersByTimeAsync(499);
    expect(server.open).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.open).toHaveLength(1);
    expect(server.connections[1]?.query.resourceVersion).toBe("2");
    expect(server.lists).toBe(1);
    expect(events).toEqual([
      'add a {"v":"1"}',
      'add b {"v":"1"}',
      'update a {"v":"1"}->{"v":"2"}',
      "delete b",
    ]);
  });

  it("on 410 Gone relists and emits only the difference", async () => {
    server.put("keep", { v: "1" });
    server.put("change", { v: "1" });
    server.put("remove", { v: "1" });
    informer = makeInformer(server);
    const events = record(informer);
    informer.start();
    await informer.synced();
    await settle();
    events.length = 0;
    server.drop();
    server.put("change", { v: "2" });
    server.remove("remove");
    server.put("new", { v: "1" });
    server.compactedBelow = server.revision; // our resourceVersion is now too old
    await vi.advanceTimersByTimeAsync(500);
    expect(server.lists).toBe(2);
    expect(events.sort()).toEqual(
      ['add new {"v":"1"}', 'update change {"v":"1"}->{"v":"2"}', "delete remove"].sort(),
    );
    expect(informer.list().map(objectKey).sort()).toEqual(["ns/change", "ns/keep", "ns/new"]);
    expect(server.open).toHaveLength(1);
  });

  it("backs off when even a fresh list's resourceVersion is Gone", async () => {
    server.put("a", {});
    server.compactedBelow = Number.POSITIVE_INFINITY;
    informer = makeInformer(server);
    informer.start();
    await informer.synced();
    await vi.advanceTimersByTimeAsync(10_000);
    // 0.5 s, 1 s, 2 s, 4 s between lists (jitter pinned low): not a tight loop.
    expect(server.lists).toBe(5);
  });

  it("resyncs on schedule, re-emitting every object as an update", async () => {
    server.put("a", { v: "1" });
    server.put("b", { v: "1" });
    informer = makeInformer(server, { resyncMs: 60_000 });
    const events = record(informer);
    informer.start();
    await informer.synced();
    events.length = 0;
    await vi.advanceTimersByTimeAsync(59_999);
    expect(events).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(events.sort()).toEqual(['update a {"v":"1"}->{"v":"1"}', 'update b {"v":"1"}->{"v":"1"}']);
    expect(server.lists).toBe(2);
    expect(server.open).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.lists).toBe(3);
  });

  it("retries a failing list with capped exponential backoff, and is unhealthy while down too long", async () => {
    server.failLists = 7;
    const listTimes: number[] = [];
    const start = Date.now();
    const list = server.list;
    server.list = () => {
      listTimes.push(Date.now() - start);
      return list();
    };
    informer = new Informer<V1ConfigMap>({
      path: "/api/v1/namespaces/ns/configmaps",
      list: server.list,
      watch: server.watch,
      resyncMs: 0,
      unhealthyAfterMs: 10_000,
      backoffMaxMs: 8_000,
      random: () => 1, // no jitter: the full delay
      logger,
    });
    informer.start();
    expect(informer.healthy()).toBe(true);
    await vi.advanceTimersByTimeAsync(10_001);
    expect(informer.healthy()).toBe(false);
    await vi.advanceTimersByTimeAsync(60_000);
    await informer.synced();
    const gaps = listTimes.slice(1).map((t, i) => t - (listTimes[i] ?? 0));
    expect(gaps).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000, 8_000]);
    expect(informer.healthy()).toBe(true);
  });

  it("stops promptly while a watch is still connecting, and closes it when it connects late", async () => {
    let connect: () => void = () => undefined;
    let aborted = false;
    informer = new Informer<V1ConfigMap>({
      path: "/api/v1/namespaces/ns/configmaps",
      list: server.list,
      watch: () =>
        new Promise((resolve) => {
          connect = () => resolve({ abort: () => (aborted = true) });
        }),
      logger,
    });
    informer.start();
    await informer.synced();
    await settle();
    await informer.stop();
    expect(aborted).toBe(false);
    connect();
    await settle();
    expect(aborted).toBe(true);
  });

  it("keeps going when a handler throws", async () => {
    informer = makeInformer(server);
    const seen: string[] = [];
    informer.on("add", () => {
      throw new Error("bad handler");
    });
    informer.on("add", (o) => seen.push(o.metadata?.name ?? ""));
    informer.start();
    await informer.synced();
    await settle();
    server.put("a", {});
    server.put("b", {});
    expect(seen).toEqual(["a", "b"]);
  });

  it("unsubscribes a handler", async () => {
    informer = makeInformer(server);
    const seen: string[] = [];
    const off = informer.on("add", (o) => seen.push(o.metadata?.name ?? ""));
    informer.start();
    await informer.synced();
    await settle();
    server.put("a", {});
    off();
    server.put("b", {});
    expect(seen).toEqual(["a"]);
  });

  it("stop closes the watch, does not reconnect, and rejects synced() when it never synced", async () => {
    informer = makeInformer(server);
    informer.start();
    await informer.synced();
    await settle();
    expect(server.open).toHaveLength(1);
    await informer.stop();
    expect(server.open).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(server.connections).toHaveLength(1);
    expect(informer.healthy()).toBe(false);

    server.failLists = 100;
    const never = makeInformer(server);
    never.start();
    await settle();
    await never.stop();
    await expect(never.synced()).rejects.toThrow(/stopped before it synced/);
  });
});
