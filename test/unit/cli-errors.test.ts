// Errors a person understands, through the real HTTP layer (a local fake API server)
// and through the real executable run as a subprocess.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../src/cli/connect.ts";
import {
  CliError,
  httpError,
  NotFoundError,
  networkError,
  ResourceNotServedError,
} from "../../src/cli/errors.ts";
import { runCli } from "../../src/cli/program.ts";
import { rolloutKinds } from "../../src/cli/rollout-kinds.ts";
import { runCliProcess } from "../../src/cli/subprocess.ts";
import { canary, captureDeps, FakeCluster } from "./cli-fixtures.ts";

const server = "https://10.0.0.1:6443";

describe("API errors in words", () => {
  const forbidden = JSON.stringify({
    kind: "Status",
    status: "Failure",
    reason: "Forbidden",
    message:
      'canaries.wren.dev "web" is forbidden: User "bob" cannot patch resource "canaries" in API group "wren.dev" in the namespace "shop"',
    code: 403,
  });

  it("says which verb and resource RBAC forbids, and for whom", () => {
    const error = httpError(
      { code: 403, body: forbidden },
      { verb: "patch", resource: "canaries.wren.dev", namespace: "shop", name: "web", server },
    );
    expect(error.message).toBe(
      'you may not patch canaries.wren.dev in namespace "shop" (RBAC forbids it as user "bob")',
    );
    const cluster = httpError(
      { code: 403, body: "{}" },
      { verb: "list", resource: "canaries.wren.dev", server },
    );
    expect(cluster.message).toBe(
      "you may not list canaries.wren.dev in any namespace (cluster-wide) (RBAC forbids it)",
    );
  });

  it("tells a missing object from a resource the server does not serve", () => {
    const context = {
      verb: "get",
      resource: "canaries.wren.dev",
      singular: "canary",
      namespace: "y",
      name: "x",
      server,
    };
    const object = httpError(
      { code: 404, body: JSON.stringify({ reason: "NotFound", details: { name: "x", kind: "canaries" } }) },
      context,
    );
    expect(object).toBeInstanceOf(NotFoundError);
    expect(object.message).toBe('canary "x" not found in namespace "y"');
    const crd = httpError({ code: 404, body: JSON.stringify({ reason: "NotFound", details: {} }) }, context);
    expect(crd).toBeInstanceOf(ResourceNotServedError);
    expect(crd.message).toMatch(/^the cluster does not serve canaries.wren.dev; is its CRD installed\?/);
  });

  it("explains rejected credentials and other failures", () => {
    expect(
      httpError({ code: 401, body: "" }, { verb: "get", resource: "canaries.wren.dev", server }).message,
    ).toBe(
      `the API server at ${server} rejected your credentials (401 Unauthorized); log in again or choose another --context`,
    );
    const other = httpError(
      { code: 500, body: JSON.stringify({ message: "etcdserver: request timed out" }) },
      { verb: "get", resource: "canaries.wren.dev", namespace: "y", name: "x", server },
    );
    expect(other.message).toBe(
      'get canaries.wren.dev "x" in namespace "y" failed: HTTP 500: etcdserver: request timed out',
    );
  });

  it("names the server it cannot reach", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:6443"), { code: "ECONNREFUSED" });
    expect(networkError(refused, server).message).toBe(
      `cannot reach the Kubernetes API server at ${server}: connection refused (is the cluster running? check --kubeconfig and --context)`,
    );
    const tls = Object.assign(new Error("self-signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    expect(networkError(tls, server).message).toBe(
      `TLS error talking to the Kubernetes API server at ${server}: self-signed certificate`,
    );
  });
});

/** The fieldSelectors Events were listed with. */
const eventSelectors: string[] = [];

/** A fake API server: a Canary "web" in "shop", a user who may read but not patch. */
function fakeApiServer(): Server {
  const status = (res: ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  };
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname;
    if (path === "/apis/authentication.k8s.io/v1/selfsubjectreviews") {
      return status(res, 201, { status: { userInfo: { username: "reader" } } });
    }
    if (path === "/apis/wren.dev/v1alpha1/namespaces/shop/canaries/web" && req.method === "GET") {
      return status(res, 200, canary("web"));
    }
    if (path === "/apis/wren.dev/v1alpha1/namespaces/shop/canaries/web" && req.method === "PATCH") {
      return status(res, 403, {
        kind: "Status",
        reason: "Forbidden",
        code: 403,
        message:
          'canaries.wren.dev "web" is forbidden: User "reader" cannot patch resource "canaries" in API group "wren.dev" in the namespace "shop"',
      });
    }
    if (path.startsWith("/apis/wren.dev/v1alpha1/namespaces/shop/canaries/")) {
      const name = path.split("/").at(-1);
      return status(res, 404, {
        kind: "Status",
        reason: "NotFound",
        code: 404,
        details: { name, kind: "canaries" },
      });
    }
    if (path === "/apis/wren.dev/v1alpha1/namespaces/shop/canaries") {
      return status(res, 200, { items: [canary("web")] });
    }
    if (path.startsWith("/apis/wren.dev/v1alpha1/namespaces/no-crd/")) {
      return status(res, 404, { kind: "Status", reason: "NotFound", code: 404, details: {} });
    }
    if (path === "/api/v1/namespaces/shop/events") {
      eventSelectors.push(url.searchParams.get("fieldSelector") ?? "");
      return status(res, 200, { items: [] });
    }
    return status(res, 403, { kind: "Status", reason: "Forbidden", code: 403, message: "forbidden" });
  });
}

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

function kubeconfigFile(url: string, namespace = "shop"): string {
  const file = join(tempDir("wren-cli-"), "config");
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "${url}", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: t } }]
contexts:
  - { name: x, context: { cluster: c, user: u, namespace: ${namespace} } }
  - { name: other, context: { cluster: c, user: u, namespace: no-crd } }
current-context: x
`,
  );
  return file;
}

// Subprocesses start Node and load the sources: give them time on a busy machine.
describe("through HTTP", { timeout: 30_000 }, () => {
  let api: Server;
  let kubeconfig: string;

  beforeAll(async () => {
    api = fakeApiServer();
    await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
    kubeconfig = kubeconfigFile(`http://127.0.0.1:${(api.address() as AddressInfo).port}`);
  });
  afterAll(() => new Promise<void>((resolve) => api.close(() => resolve())));

  async function run(args: string[]) {
    const captured = captureDeps(new FakeCluster());
    captured.deps.connect = connect;
    const code = await runCli(["--kubeconfig", kubeconfig, ...args], captured.deps);
    return { code, stdout: captured.stdout(), stderr: captured.stderr() };
  }

  it("uses the context's namespace and reads rollouts", async () => {
    const r = await run(["get"]);
    // The reader may list canaries only: the other kinds are skipped, each said once.
    const others = rolloutKinds.filter((k) => k.kind !== "Canary");
    expect(r.stderr).toBe(
      others
        .map(
          (k) =>
            `warning: you may not list ${k.resource} in namespace "shop" (RBAC forbids it); listing the other kinds\n`,
        )
        .join(""),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^KIND +NAME +PHASE/);
    expect(r.stdout).toContain("web");
    expect((await run(["status", "web"])).code).toBe(0);
    expect(eventSelectors).toContain(
      "involvedObject.kind=Canary,involvedObject.name=web,involvedObject.uid=uid-web",
    );
  });

  it("reports a missing canary, a missing CRD and an unknown context", async () => {
    const unreadable = rolloutKinds.filter((k) => k.kind !== "Canary").map((k) => k.plural);
    expect((await run(["status", "nope"])).stderr).toBe(
      `error: no rollout named "nope" in namespace "shop" (looked for canaries; RBAC forbids reading ${unreadable.join(", ")})\n`,
    );
    expect((await run(["status", "canary/nope"])).stderr).toBe(
      'error: canary "nope" not found in namespace "shop"\n',
    );
    expect((await run(["get", "--context", "other"])).stderr).toMatch(
      /^error: the cluster does not serve canaries.wren.dev; is its CRD installed\?/,
    );
    expect((await run(["get", "--context", "prod"])).stderr).toBe(
      'error: context "prod" not found in the kubeconfig (contexts: x, other)\n',
    );
  });

  it("says which verb RBAC forbids when a reader tries to promote", async () => {
    const r = await run(["promote", "web"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: you may not patch canaries.wren.dev in namespace "shop" (RBAC forbids it as user "reader")\n',
    );
  });

  it("gives up on an API server that does not answer (--request-timeout)", async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const captured = captureDeps(new FakeCluster());
    captured.deps.connect = connect;
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const code = await runCli(
      ["--kubeconfig", kubeconfigFile(url), "--request-timeout", "200ms", "get"],
      captured.deps,
    );
    silent.closeAllConnections();
    silent.close();
    expect(code).toBe(1);
    expect(captured.stderr()).toBe(
      `error: the Kubernetes API server at ${url} did not answer within 0.2s (--request-timeout)\n`,
    );
  });

  it("runs as a subprocess: the executable prints the same errors and exit codes", async () => {
    const r = await runCliProcess(["promote", "web"], { kubeconfig });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: you may not patch canaries.wren.dev in namespace "shop" (RBAC forbids it as user "reader")\n',
    );
    const json = await runCliProcess(["get", "-o", "json"], { kubeconfig });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).items[0].metadata.name).toBe("web");
  });
});

describe("the executable", { timeout: 30_000 }, () => {
  it("prints its version and help", async () => {
    const version = await runCliProcess(["version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^kubectl-wren \d+\.\d+\.\d+/);
    const help = await runCliProcess(["watch", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: kubectl wren watch [options] <name>");
  });

  it("names the server it cannot reach", async () => {
    const r = await runCliProcess(["get"], { kubeconfig: kubeconfigFile("http://127.0.0.1:1") });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "error: cannot reach the Kubernetes API server at http://127.0.0.1:1: connection refused (is the cluster running? check --kubeconfig and --context)\n",
    );
  });

  it("says when there is no kubeconfig at all", async () => {
    const r = await runCliProcess(["get"], {
      env: {
        KUBECONFIG: undefined,
        HOME: tempDir("wren-home-"),
        KUBERNETES_SERVICE_HOST: undefined,
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "error: no kubeconfig: set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config\n",
    );
  });

  it("reports an unreadable kubeconfig file", async () => {
    const r = await runCliProcess(["get"], { kubeconfig: "/nonexistent/config" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot load kubeconfig \/nonexistent\/config: /);
  });
});

it("CliError carries its exit code", () => {
  expect(new CliError("x", 3).exitCode).toBe(3);
});
