import { describe, expect, it } from "vitest";
import {
  desiredRevision,
  Injector,
  injectionAnnotations,
  pendingInjections,
  sidecarRevision,
} from "../meshsim/injection.ts";
import type { NamespaceInfo, PodInfo } from "../meshsim/model.ts";
import { deploymentPods, makeView } from "../meshsim/testkit.ts";

const ns = (name: string, labels: Record<string, string>): NamespaceInfo => ({ name, labels });
const newPod = (
  namespace: string,
  labels: Record<string, string> = {},
  annotations: Record<string, string> = {},
) => ({
  ...(deploymentPods("app", namespace, 1, { revision: null })[0] as PodInfo),
  labels: { app: "app", ...labels },
  annotations,
});

describe("which revision a new pod gets", () => {
  const cases: Array<[string, Record<string, string>, Record<string, string>, string | undefined]> = [
    ["istio.io/rev on the namespace", { "istio.io/rev": "canary" }, {}, "canary"],
    ["istio-injection=enabled", { "istio-injection": "enabled" }, {}, "default"],
    ["istio-injection=disabled", { "istio-injection": "disabled" }, {}, undefined],
    [
      "istio-injection wins over istio.io/rev",
      { "istio-injection": "enabled", "istio.io/rev": "canary" },
      {},
      "default",
    ],
    [
      "disabled wins over istio.io/rev",
      { "istio-injection": "disabled", "istio.io/rev": "canary" },
      {},
      undefined,
    ],
    ["no label", {}, {}, undefined],
    ["pod opts out", { "istio.io/rev": "canary" }, { "sidecar.istio.io/inject": "false" }, undefined],
    ["pod's own istio.io/rev label", {}, { "istio.io/rev": "blue" }, "blue"],
    ["namespace label wins over the pod's", { "istio.io/rev": "green" }, { "istio.io/rev": "blue" }, "green"],
  ];
  for (const [name, nsLabels, podLabels, want] of cases) {
    it(name, () => {
      expect(desiredRevision(ns("shop", nsLabels), newPod("shop", podLabels))).toBe(want);
    });
  }

  it("never injects into system namespaces", () => {
    expect(
      desiredRevision(ns("kube-system", { "istio-injection": "enabled" }), newPod("kube-system")),
    ).toBeUndefined();
    expect(
      desiredRevision(ns("istio-system", { "istio.io/rev": "x" }), newPod("istio-system")),
    ).toBeUndefined();
  });
});

describe("the injected annotations", () => {
  it("are what istiod's webhook writes, and read back as the revision", () => {
    const a = injectionAnnotations("canary");
    expect(a["istio.io/rev"]).toBe("canary");
    expect(JSON.parse(a["sidecar.istio.io/status"] ?? "")).toEqual({
      initContainers: ["istio-init"],
      containers: ["istio-proxy"],
      revision: "canary",
    });
    expect(sidecarRevision(a)).toBe("canary");
    expect(sidecarRevision({})).toBeUndefined();
    expect(sidecarRevision({ "sidecar.istio.io/status": "garbage", "istio.io/rev": "x" })).toBe("x");
  });
});

describe("reconciling a view", () => {
  const view = makeView({
    namespaces: [
      ns("a", { "istio.io/rev": "canary" }),
      ns("b", {}),
      ns("c", { "istio-injection": "enabled" }),
    ],
    pods: [
      newPod("a"),
      { ...newPod("a"), name: "already", annotations: injectionAnnotations("stable") },
      { ...newPod("a"), name: "going", deleting: true },
      newPod("b"),
      { ...newPod("c"), name: "c-pod" },
    ],
  });

  it("patches only un-injected, live pods in injected namespaces; injected pods keep their revision", () => {
    expect(pendingInjections(view).map((p) => `${p.pod.namespace}/${p.pod.name}@${p.revision}`)).toEqual([
      `a/${newPod("a").name}@canary`,
      "c/c-pod@default",
    ]);
  });

  it("does not patch a pod twice while the view lags, and retries a failed patch later", async () => {
    let now = 0;
    const calls: string[] = [];
    let fail = true;
    const injector = new Injector(
      async (namespace, name, annotations) => {
        calls.push(`${namespace}/${name}:${annotations["istio.io/rev"]}`);
        if (fail && namespace === "c") throw new Error("conflict");
      },
      { now: () => now, settleMs: 5000 },
    );
    const first = injector.reconcile(view);
    const concurrent = injector.reconcile(view); // same view again while patches are in flight
    await Promise.all([first, concurrent]);
    expect(calls).toHaveLength(2);
    await injector.reconcile(view); // view has not caught up yet: held
    expect(calls).toHaveLength(2);
    fail = false;
    now += 6000;
    await injector.reconcile(view);
    expect(calls).toHaveLength(4);
    expect(calls.slice(2).sort()).toEqual([`a/${newPod("a").name}:canary`, "c/c-pod:default"]);
  });
});
