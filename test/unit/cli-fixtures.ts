// Fixed inputs for the kubectl-wren unit tests: a clock, Canary objects, Events,
// an in-memory Cluster and captured output.

import type { V1Deployment } from "@kubernetes/client-node";
import type { Cluster, ClusterInfo, DeploymentJson } from "../../src/cli/cluster.ts";
import { ResourceNotServedError } from "../../src/cli/errors.ts";
import type { KubeEventJson } from "../../src/cli/events.ts";
import type { CliDeps } from "../../src/cli/io.ts";
import type { RolloutObject } from "../../src/cli/rollout.ts";
import { type RolloutKind, rolloutKinds } from "../../src/cli/rollout-kinds.ts";
import { templateHash } from "../../src/engine/workload/deployments.ts";

export const now = new Date("2026-11-22T10:00:00Z");

function canaryRollout(): RolloutKind {
  const found = rolloutKinds.find((k) => k.kind === "Canary");
  if (found === undefined) throw new Error("Canary is a rollout kind");
  return found;
}

/** The Canary rollout kind. */
export const canaryRolloutKind: RolloutKind = canaryRollout();

/** An ISO time this many seconds before `now`. */
export function ago(seconds: number): string {
  return new Date(now.getTime() - seconds * 1000).toISOString();
}

export const canarySpec = {
  targetRef: { name: "web" },
  service: { port: 80 },
  analysis: {
    interval: "1m",
    threshold: 5,
    maxWeight: 50,
    stepWeight: 10,
    metrics: [
      { name: "request-success-rate", thresholdRange: { min: 99 } },
      { name: "request-duration", thresholdRange: { max: 500 }, maxIncreaseOverPrimary: 20 },
    ],
  },
};

export const webDeployment: DeploymentJson = {
  metadata: { name: "web", namespace: "shop" },
  spec: {
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "web", image: "web:2" }] },
    },
  },
};
/** The revision the controller computes for webDeployment. */
export const webRevision = templateHash(webDeployment as V1Deployment);

export const progressingStatus = {
  observedGeneration: 3,
  phase: "Progressing",
  canaryWeight: 20,
  stepIndex: 2,
  failedChecks: 1,
  unavailableChecks: 0,
  lastAppliedSpec: webRevision,
  lastPromotedSpec: "0a1b2c3d4e",
  lastTransitionTime: ago(300),
  lastStepTime: ago(40),
  metrics: [
    {
      name: "request-success-rate",
      value: 97.5,
      thresholdRange: { min: 99 },
      verdict: "Fail",
      message: "97.5 is below the minimum 99",
      time: ago(40),
    },
    {
      name: "request-duration",
      value: 120,
      primaryValue: 110,
      thresholdRange: { max: 500 },
      verdict: "Pass",
      message: "120 passed (max 500; the primary's 110 allows up to 132)",
      time: ago(40),
    },
  ],
  conditions: [
    {
      type: "Ready",
      status: "False",
      reason: "CheckFailed",
      message: "check failed (1 of 5): request-success-rate 97.5 is below the minimum 99",
      lastTransitionTime: ago(40),
      observedGeneration: 3,
    },
  ],
  lastAction: {
    id: "a1",
    action: "promote",
    requestedBy: "alice",
    requestedAt: ago(200),
    consumedAt: ago(199),
    result: "advanced one step",
  },
};

export interface CanaryOptions {
  namespace?: string;
  status?: Record<string, unknown>;
  spec?: Record<string, unknown>;
  annotations?: Record<string, string>;
  created?: string;
}

/** A Canary as the API server returns it. */
export function canary(name: string, options: CanaryOptions = {}): RolloutObject {
  return {
    apiVersion: "wren.dev/v1alpha1",
    kind: "Canary",
    metadata: {
      name,
      namespace: options.namespace ?? "shop",
      uid: `uid-${name}`,
      generation: 3,
      resourceVersion: "100",
      creationTimestamp: options.created ?? ago(4 * 86400 + 3600),
      ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
    },
    spec: options.spec ?? canarySpec,
    status: options.status ?? progressingStatus,
  };
}

/** Events as the controller writes them for a canary that started, stepped and failed a check. */
export const webEvents: KubeEventJson[] = [
  {
    type: "Normal",
    reason: "Initialized",
    message: "primary runs revision 0a1b2c3d4e; all traffic on the primary",
    count: 1,
    firstTimestamp: ago(3000),
    lastTimestamp: ago(3000),
  },
  {
    type: "Normal",
    reason: "Progressing",
    message: `new revision ${webRevision} detected; starting analysis of revision ${webRevision}`,
    count: 1,
    firstTimestamp: ago(400),
    lastTimestamp: ago(400),
  },
  {
    type: "Normal",
    reason: "Waiting",
    message: "waiting for the canary Deployment web to become ready (0s of 600s)",
    count: 1,
    firstTimestamp: ago(390),
    lastTimestamp: ago(390),
  },
  {
    type: "Normal",
    reason: "Progressing",
    message: "canary ready; canary weight 0% -> 10% (step 1 of 5)",
    count: 2,
    firstTimestamp: ago(380),
    lastTimestamp: ago(200),
  },
  {
    type: "Warning",
    reason: "CheckFailed",
    message: "check failed (1 of 5): request-success-rate 97.5 is below the minimum 99",
    count: 1,
    firstTimestamp: ago(40),
    lastTimestamp: ago(40),
  },
];

function key(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** An in-memory API server for the CLI's commands. */
export class FakeCluster implements Cluster {
  info: ClusterInfo = { server: "https://fake:6443", context: "test", namespace: "shop", user: "kube-user" };
  readonly objects = new Map<string, RolloutObject>();
  readonly eventsByName = new Map<string, KubeEventJson[]>();
  readonly deployments = new Map<string, DeploymentJson>();
  readonly patches: { name: string; annotations: Record<string, string | null> }[] = [];
  /** Kinds whose CRD is not installed. */
  readonly notServed = new Set<string>();
  /** The user SelfSubjectReview reports; undefined as on servers that do not answer it. */
  whoAmIName: string | undefined = "alice@example.com";
  /** Called on every get, e.g. to play the controller; undefined deletes the object. */
  onGet?: (object: RolloutObject) => RolloutObject | undefined;
  /** Gets answered before onGet applies: the command's own lookup of the rollout. */
  passGets = 1;
  /** Errors get() throws on its next calls. */
  readonly getErrors: Error[] = [];

  add(object: RolloutObject): this {
    const m = object.metadata ?? {};
    this.objects.set(key(object.kind ?? "", m.namespace ?? "", m.name ?? ""), structuredClone(object));
    return this;
  }

  #served(kind: RolloutKind): void {
    if (this.notServed.has(kind.kind)) throw new ResourceNotServedError(kind.resource);
  }

  async list(kind: RolloutKind, namespace: string | undefined, name?: string): Promise<RolloutObject[]> {
    this.#served(kind);
    return [...this.objects.values()].filter(
      (o) =>
        o.kind === kind.kind &&
        (namespace === undefined || o.metadata?.namespace === namespace) &&
        (name === undefined || o.metadata?.name === name),
    );
  }

  async get(kind: RolloutKind, namespace: string, name: string): Promise<RolloutObject | undefined> {
    this.#served(kind);
    const found = this.objects.get(key(kind.kind, namespace, name));
    if (this.passGets > 0) {
      this.passGets--;
      return found;
    }
    const error = this.getErrors.shift();
    if (error !== undefined) throw error;
    if (found === undefined || this.onGet === undefined) return found;
    const next = this.onGet(found);
    if (next === undefined) this.objects.delete(key(kind.kind, namespace, name));
    else this.objects.set(key(kind.kind, namespace, name), next);
    return next;
  }

  async events(_namespace: string, object: { kind: string; name: string }): Promise<KubeEventJson[]> {
    return this.eventsByName.get(object.name) ?? [];
  }

  /** Errors deployment() throws on its next calls. */
  readonly deploymentErrors: Error[] = [];

  async deployment(namespace: string, name: string): Promise<DeploymentJson | undefined> {
    const error = this.deploymentErrors.shift();
    if (error !== undefined) throw error;
    return this.deployments.get(`${namespace}/${name}`);
  }

  async annotate(
    kind: RolloutKind,
    namespace: string,
    name: string,
    annotations: Record<string, string | null>,
  ): Promise<RolloutObject> {
    const object = this.objects.get(key(kind.kind, namespace, name));
    if (object === undefined) throw new Error(`no ${name}`);
    this.patches.push({ name, annotations });
    const merged = { ...(object.metadata?.annotations ?? {}) };
    for (const [k, v] of Object.entries(annotations)) {
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    object.metadata = { ...object.metadata, annotations: merged };
    return object;
  }

  async whoAmI(): Promise<string | undefined> {
    return this.whoAmIName;
  }
}

export interface Captured {
  deps: CliDeps;
  stdout: () => string;
  stderr: () => string;
  /** The fake clock; sleeping moves it on. */
  clock: { now: number };
}

/** Dependencies with captured output and a clock that moves only when a command sleeps. */
export function captureDeps(
  cluster: FakeCluster,
  options: { tty?: boolean; columns?: number } = {},
): Captured {
  let out = "";
  let err = "";
  const clock = { now: now.getTime() };
  const deps: CliDeps = {
    stdout: {
      write: (text) => {
        out += text;
      },
      isTTY: options.tty ?? false,
      columns: options.columns,
    },
    stderr: {
      write: (text) => {
        err += text;
      },
    },
    now: () => new Date(clock.now),
    sleep: async (ms) => {
      clock.now += ms;
    },
    randomId: () => "00000000-0000-4000-8000-000000000001",
    connect: async (options) => {
      if (options.namespace !== undefined) cluster.info = { ...cluster.info, namespace: options.namespace };
      return cluster;
    },
  };
  return { deps, stdout: () => out, stderr: () => err, clock };
}
