// Every file in examples/ applied as written (into this file's namespace) with a
// real controller, then released: a new image on the example's Deployment must
// end Succeeded. Only what cannot work on the testbed as written is changed:
// intervals are test-sized (3s steps, 10s metric windows, instead of minutes),
// and addresses outside the testbed (the release gate, the chat webhook, the
// MetricTemplate's Prometheus) point at a local receiver or the testbed's Prometheus.
// The ControlPlaneUpgrade acts on namespaces and istiods that exist already: the
// test creates them, with this file's own revision names, tag and namespace label.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { AdmissionregistrationV1Api, type KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { CanaryStatus } from "../../src/api/canary.ts";
import { kinds } from "../../src/api/kinds.ts";
import { untilBlueGreenPhase } from "../support/bluegreen.ts";
import { canaryStatus, untilPhase } from "../support/canary.ts";
import { useController } from "../support/controller.ts";
import { eventually } from "../support/eventually.ts";
import { apply } from "../support/fixtures.ts";
import {
  namespaceLabels,
  requestUpgradeAction,
  testLabel,
  untilPodsOn,
  untilUpgradePhase,
  useIstioRevisions,
} from "../support/istio-revisions.ts";
import { phaseState, untilMigration } from "../support/migration.ts";
import { useNamespace } from "../support/namespace.ts";
import { testbed, testbedKubeConfig } from "../support/testbed.ts";
import { signedWith, useWebhookReceiver } from "../support/webhook-receiver.ts";

const examplesDir = fileURLToPath(new URL("../../examples/", import.meta.url));
const ns = useNamespace("examples");
useController(ns);
const receiver = useWebhookReceiver();
const mesh = useIstioRevisions();

type Manifest = KubernetesObject & { spec?: Record<string, unknown>; [key: string]: unknown };

interface Example {
  file: string;
  text: string;
  objects: Manifest[];
}

/** An example's objects, parsed with the yaml package, as written. */
function readExample(file: string): Example {
  const text = readFileSync(examplesDir + file, "utf8");
  const docs = parseAllDocuments(text);
  const objects = docs.map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
    return doc.toJS() as Manifest;
  });
  return { file, text, objects };
}

/** An example's objects, copied into this file's namespace, and a way to pick one by kind to adjust it. */
function placed(file: string): { objects: Manifest[]; get(kind: string): Manifest } {
  const objects = readExample(file).objects.map((obj) => {
    const copy = structuredClone(obj);
    copy.metadata = { ...copy.metadata, namespace: ns.name };
    return copy;
  });
  return {
    objects,
    get(kind) {
      const found = objects.find((o) => o.kind === kind);
      if (!found) throw new Error(`${file} has no ${kind}`);
      return found;
    },
  };
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

/** Test-sized timing: 3s steps and 10s metric windows, so a release takes seconds, not minutes. */
function testSized(canary: Manifest): void {
  const analysis = record(canary.spec?.analysis);
  analysis.interval = "3s";
  for (const metric of (analysis.metrics ?? []) as Record<string, unknown>[]) metric.interval = "10s";
}

/** The webhook gates' addresses, moved to the local receiver (same path). */
function gatesToReceiver(canary: Manifest): void {
  const analysis = record(canary.spec?.analysis);
  for (const hook of (analysis.webhooks ?? []) as Record<string, unknown>[]) {
    hook.url = new URL(new URL(String(hook.url)).pathname, receiver.url).toString();
  }
}

/** The example's Deployment with the next image tag: a new revision for the Canary to release. */
function nextRevision(deployment: Manifest): Manifest {
  const next = structuredClone(deployment);
  const containers = record(record(record(next.spec?.template).spec)).containers as { image: string }[];
  for (const c of containers) c.image = c.image.replace(/:([^:/]+)$/, ":$1-next");
  return next;
}

/** Applies the objects in file order and waits until the Canary named `name` is initialised. */
/**
 * Applies an example into the test namespace with test-sized intervals (after
 * `adjust` has pointed its outside addresses at the testbed) and waits until its
 * Canary is initialised.
 */
async function installExample(
  file: string,
  adjust: (get: (kind: string) => Manifest) => void = () => undefined,
): Promise<{ get(kind: string): Manifest; canary: Manifest; name: string }> {
  const { objects, get } = placed(file);
  const canary = get("Canary");
  const name = canary.metadata?.name ?? "";
  testSized(canary);
  adjust(get);
  await apply(...objects);
  await untilPhase(ns.name, name, ["Initialized"], 60_000);
  return { get, canary, name };
}

/** Releases a new image of the example's Deployment and waits for the end of the rollout. */
async function release(deployment: Manifest, name: string, phases = ["Succeeded", "Failed"]) {
  await apply(nextRevision(deployment));
  return untilPhase(ns.name, name, phases, 150_000);
}

function verdicts(status: CanaryStatus): Record<string, string> {
  return Object.fromEntries((status.metrics ?? []).map((m) => [m.name, m.verdict]));
}

describe("examples/", () => {
  const files = readdirSync(examplesDir).filter((f) => f.endsWith(".yaml"));
  const examples = files.map(readExample);

  it("are valid, namespace-less, say when to use them, and cover every kind", () => {
    expect(files.sort()).toEqual(
      [
        "alert-provider.yaml",
        "bluegreen.yaml",
        "canary-ab-testing.yaml",
        "canary.yaml",
        "controlplaneupgrade.yaml",
        "metric-template.yaml",
        "migration.yaml",
      ].sort(),
    );
    const covered = new Set<string>();
    // They run side by side in one namespace: two examples with a Deployment of the same
    // name would be two rollouts fighting over one workload and its VirtualService.
    const deployments = examples.flatMap((e) =>
      e.objects.filter((o) => o.kind === "Deployment").map((o) => o.metadata?.name),
    );
    expect(new Set(deployments).size, `Deployment names ${deployments.join(", ")}`).toBe(deployments.length);
    for (const example of examples) {
      expect(example.text.startsWith("# "), `${example.file} starts with a comment`).toBe(true);
      expect(example.text.split("\napiVersion:")[0], `${example.file} says when to use it`).toMatch(
        /Use it when/,
      );
      for (const obj of example.objects) {
        expect(obj.metadata?.namespace, `${example.file}: ${obj.kind} has no namespace`).toBeUndefined();
        const def = kinds.find((k) => k.kind === obj.kind);
        if (!def) continue;
        covered.add(def.kind);
        const parsed = def.spec.safeParse(obj.spec);
        expect(parsed.success, `${example.file}: ${obj.kind} ${parsed.error?.message ?? ""}`).toBe(true);
      }
      // Examples that run workloads bring meshsim traffic; an upgrade acts on existing namespaces.
      if (example.objects.some((o) => o.kind === "Deployment")) {
        const testbedOnly = example.objects.filter((o) => o.kind === "ConfigMap");
        expect(testbedOnly.length, `${example.file} sends meshsim traffic`).toBe(1);
        expect(example.text).toMatch(/# Testbed only/);
      }
    }
    expect([...covered].sort()).toEqual(kinds.map((k) => k.kind).sort());
  });

  it("canary.yaml: steps to maxWeight, holds at the release gate, promotes once it approves", async () => {
    const { get, name } = await installExample("canary.yaml", (get) => gatesToReceiver(get("Canary")));

    receiver.answers.set("/approve", 403);
    const waiting = await release(get("Deployment"), name, ["WaitingPromotion", "Failed"]);
    expect(waiting.phase).toBe("WaitingPromotion");
    expect(waiting.canaryWeight).toBe(50);
    const asked = receiver.callsTo("/approve");
    expect(asked.length).toBeGreaterThan(0);
    expect(asked[0]?.body).toMatchObject({ name, namespace: ns.name, type: "confirm-promotion" });

    receiver.answers.delete("/approve");
    const done = await untilPhase(ns.name, name, ["Succeeded", "Failed"], 60_000);
    expect(done.phase).toBe("Succeeded");
    expect(verdicts(done)).toEqual({
      "request-success-rate": "Pass",
      "request-duration": "Pass",
      "request-throughput": "Pass",
    });
  });

  it("canary-ab-testing.yaml: runs the iterations on matching requests, then promotes", async () => {
    const { get, canary, name } = await installExample("canary-ab-testing.yaml");

    const done = await release(get("Deployment"), name);
    expect(done.phase).toBe("Succeeded");
    expect(done.iterations).toBe(record(canary.spec?.analysis).iterations);
    expect(done.canaryWeight).toBe(0);
    expect(Object.values(verdicts(done))).toEqual(["Pass", "Pass"]);
  });

  it("metric-template.yaml: the template's metric is read from Prometheus and passes", async () => {
    const { get, name } = await installExample("metric-template.yaml", (get) => {
      record(get("MetricTemplate").spec?.provider).address = testbed().prometheusUrl;
    });

    const done = await release(get("Deployment"), name);
    expect(done.phase).toBe("Succeeded");
    const metric = done.metrics?.find((m) => m.name === "error-percent");
    expect(metric?.verdict).toBe("Pass");
    expect(metric?.value).toBeGreaterThanOrEqual(0);
  });

  it("bluegreen.yaml: previews the new colour, switches 10% then 100%, checks it after the switch", async () => {
    const { objects, get } = placed("bluegreen.yaml");
    const blueGreen = get("BlueGreen");
    const name = blueGreen.metadata?.name ?? "";
    testSized(blueGreen);
    record(blueGreen.spec?.switch).stepInterval = "3s";
    await apply(...objects);
    await untilBlueGreenPhase(ns.name, name, ["Initialized"], 60_000);

    await apply(nextRevision(get("Deployment")));
    const done = await untilBlueGreenPhase(ns.name, name, ["Succeeded", "Failed"], 150_000);
    expect(done.phase).toBe("Succeeded");
    expect(done).toMatchObject({ activeColour: "green", switchStep: 2 });
    expect(done.iterations).toBe(record(blueGreen.spec?.analysis).iterations);
    expect(done.postSwitchIterations).toBe(record(blueGreen.spec?.analysis).postSwitchIterations);
    expect(done.metrics?.map((m) => m.verdict)).toEqual(["Pass", "Pass", "Pass"]);
  });

  it("migration.yaml: moves both phases' routes to the new services", async () => {
    const { objects, get } = placed("migration.yaml");
    const migration = get("Migration");
    // Test-sized timing: 2s steps, a check every 3s over the last 30s (at the 5% step,
    // enough requests for minRequests).
    for (const phase of (migration.spec?.phases ?? []) as Record<string, unknown>[]) {
      phase.stepInterval = "2s";
      Object.assign(record(phase.validation), { interval: "3s", range: "30s" });
    }
    await apply(...objects);
    const done = await untilMigration(
      ns.name,
      migration.metadata?.name ?? "",
      ["Succeeded", "Failed"],
      150_000,
    );
    expect(done.phase).toBe("Succeeded");
    expect(phaseState(done)).toEqual({ orders: "Succeeded", accounts: "Succeeded" });
    expect(done.phases?.map((p) => p.lastValidation?.verdict)).toEqual(["Pass", "Pass"]);
  });

  it("controlplaneupgrade.yaml: moves the selected namespaces in waves, holds at the 50% gate until promote, then the gateway and the tag", async () => {
    const upgrade = placed("controlplaneupgrade.yaml").get("ControlPlaneUpgrade");
    const name = upgrade.metadata?.name ?? "";
    const spec = record(upgrade.spec);
    // This file's own revisions, tag and namespaces, so parallel test files never collide.
    const from = `${spec.from}-${mesh.id}`;
    const to = `${spec.to}-${mesh.id}`;
    const tag = `${spec.revisionTag}-${mesh.id}`;
    Object.assign(spec, {
      from,
      to,
      revisionTag: tag,
      namespaceSelector: { matchLabels: { [testLabel]: mesh.id } },
      gateways: { selector: { matchLabels: { istio: `gw-${mesh.id}` } } },
    });
    testSized(upgrade);
    await mesh.istiod(from);
    await mesh.istiod(to);
    await mesh.tag(tag, from);
    const names = [0, 1, 2, 3].map((i) => `ex-${mesh.id}-${i}`);
    for (const [i, n] of names.entries()) {
      const gateway = i === 0 ? "ingress" : undefined;
      await mesh.namespace(n, { "istio.io/rev": from }, gateway ? ["web", gateway] : ["web"], { gateway });
    }
    await untilPodsOn(names, from);
    await apply(upgrade);

    const gate = await untilUpgradePhase(ns.name, name, ["WaitingPromotion", "Failed"]);
    expect(gate.phase).toBe("WaitingPromotion");
    // 10% and 25% of four namespaces is one: one namespace moved before the 50% gate.
    expect((gate.waves ?? []).flatMap((w) => w.namespaces)).toHaveLength(1);
    await requestUpgradeAction(ns.name, name, "promote");

    const done = await untilUpgradePhase(ns.name, name, ["Succeeded", "Failed"], 240_000);
    expect(done.phase).toBe("Succeeded");
    for (const n of names) expect((await namespaceLabels(n))["istio.io/rev"]).toBe(to);
    await untilPodsOn(names, to);
    const webhooks = await testbedKubeConfig()
      .makeApiClient(AdmissionregistrationV1Api)
      .readMutatingWebhookConfiguration({ name: `istio-revision-tag-${tag}` });
    expect(webhooks.webhooks?.map((w) => w.clientConfig.service?.name)).toEqual([
      `istiod-${to}`,
      `istiod-${to}`,
    ]);
  });

  it("alert-provider.yaml: the provider receives the release's messages, signed", async () => {
    let signingKey = "";
    const { get, name } = await installExample("alert-provider.yaml", (get) => {
      const secret = get("Secret") as Manifest & { stringData: Record<string, string> };
      secret.stringData.address = `${receiver.url}/releases`;
      signingKey = secret.stringData.signingKey ?? "";
    });

    const done = await release(get("Deployment"), name);
    expect(done.phase).toBe("Succeeded");
    const messages = () => receiver.callsTo("/releases").filter((c) => c.body.name === name);
    await eventually("the Succeeded message", () =>
      expect(messages().map((c) => c.body.phase)).toContain("Succeeded"),
    );
    expect(messages().map((c) => c.body.phase)).toContain("Progressing");
    for (const call of messages()) {
      expect(signedWith(call, signingKey)).toBe(true);
    }
    expect((await canaryStatus(ns.name, name)).phase).toBe("Succeeded");
  });
});
