// The commands end to end in-process: arguments in, output and exit code out, against an
// in-memory cluster and a clock that moves only when a command sleeps.
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { CliError, ForbiddenError, ResourceNotServedError } from "../../src/cli/errors.ts";
import { runCli } from "../../src/cli/program.ts";
import type { RolloutObject } from "../../src/cli/rollout.ts";
import { rolloutKinds } from "../../src/cli/rollout-kinds.ts";
import { actionAnnotation } from "../../src/engine/manual-actions.ts";
import {
  ago,
  canary,
  captureDeps,
  FakeCluster,
  progressingStatus,
  webDeployment,
  webEvents,
  webRevision,
} from "./cli-fixtures.ts";

function cluster(): FakeCluster {
  const c = new FakeCluster();
  c.add(canary("web")).add(canary("api", { status: { ...progressingStatus, phase: "Succeeded" } }));
  c.add(canary("web", { namespace: "staging" }));
  c.eventsByName.set("web", webEvents);
  c.deployments.set("shop/web", webDeployment);
  return c;
}

async function run(c: FakeCluster, args: string[], options: { tty?: boolean } = {}) {
  const captured = captureDeps(c, options);
  const code = await runCli(args, captured.deps);
  return { code, stdout: captured.stdout(), stderr: captured.stderr(), clock: captured.clock };
}

describe("get", () => {
  it("prints a table of the namespace's rollouts", async () => {
    const r = await run(cluster(), ["get"]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("KIND     NAME   PHASE         WEIGHT   STEP   AGE");
    expect(r.stdout).toContain("Canary   web    Progressing   20%      2/5    4d1h");
    expect(r.stdout).not.toContain("staging");
  });

  it("lists every namespace with -A and another with -n", async () => {
    expect((await run(cluster(), ["get", "-A"])).stdout).toMatch(
      /^NAMESPACE .*\n(.*\n){2}staging +Canary +web/,
    );
    const staging = await run(cluster(), ["get", "-n", "staging"]);
    expect(staging.stdout.trim().split("\n")).toHaveLength(2);
    const before = await run(cluster(), ["-n", "staging", "get"]);
    expect(before.stdout).toBe(staging.stdout);
  });

  it("prints a kubectl List that parses with -o json and -o yaml", async () => {
    const json = JSON.parse((await run(cluster(), ["get", "-o", "json"])).stdout);
    expect(json.kind).toBe("List");
    expect(json.items.map((i: RolloutObject) => i.metadata?.name).sort()).toEqual(["api", "web"]);
    const yaml = parseYaml((await run(cluster(), ["get", "canary/web", "-o", "yaml"])).stdout);
    expect(yaml.metadata.name).toBe("web");
    expect(yaml.status.canaryWeight).toBe(20);
  });

  it("says so when there are no rollouts", async () => {
    const r = await run(new FakeCluster(), ["get"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe('No rollouts found in namespace "shop".\n');
  });

  it("says which CRD is missing when no rollout kind is installed", async () => {
    const c = new FakeCluster();
    for (const k of rolloutKinds) c.notServed.add(k.kind);
    const r = await run(c, ["get"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: ${new ResourceNotServedError("canaries.wren.dev").message}\n`);
  });

  it("reports a rollout that does not exist the way a person reads it", async () => {
    const r = await run(cluster(), ["get", "nope"]);
    expect(r.code).toBe(1);
    const plurals = rolloutKinds.map((k) => k.plural).join(", ");
    expect(r.stderr).toBe(`error: no rollout named "nope" in namespace "shop" (looked for ${plurals})\n`);
    const typed = await run(cluster(), ["get", "canary/nope"]);
    expect(typed.stderr).toBe('error: canary "nope" not found in namespace "shop"\n');
  });

  it("rejects -n together with -A", async () => {
    const r = await run(cluster(), ["get", "-A", "-n", "shop"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/either -n\/--namespace or -A/);
  });
});

describe("resolving NAME across namespaces", () => {
  it("finds a unique name with -A, and lists the candidates when it is not unique", async () => {
    const ok = await run(cluster(), ["status", "api", "-A", "-o", "json"]);
    expect(JSON.parse(ok.stdout).namespace).toBe("shop");
    const ambiguous = await run(cluster(), ["status", "web", "-A"]);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toBe(
      'error: "web" names more than one rollout in any namespace: shop/canary/web, staging/canary/web; pick a namespace with -n NAMESPACE instead of -A\n',
    );
  });
});

describe("status", () => {
  it("prints the status view", async () => {
    const r = await run(cluster(), ["status", "web"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Canary shop\/web\n {2}Phase: {7}Progressing for 5m\n/);
    expect(r.stdout).toContain("Traffic:     primary 80%, canary 20%");
    expect(r.stdout).toContain("canary ready; canary weight 0% -> 10% (step 1 of 5)");
  });

  it("prints data that parses with -o json", async () => {
    const r = await run(cluster(), ["status", "canary/web", "-o", "json"]);
    const data = JSON.parse(r.stdout);
    expect(data).toMatchObject({
      kind: "Canary",
      name: "web",
      namespace: "shop",
      phase: "Progressing",
      weight: "20%",
      step: { index: 2, total: 5 },
      lastAction: { id: "a1", result: "advanced one step" },
    });
    expect(data.metrics.map((m: { name: string; verdict: string }) => [m.name, m.verdict])).toEqual([
      ["request-success-rate", "Fail"],
      ["request-duration", "Pass"],
    ]);
    expect(data.events).toHaveLength(5);
    expect(data.history.weight.map((p: { value: number }) => p.value)).toEqual([0, 10, 20]);
  });

  it("prints plain YAML (no anchors) with -o yaml", async () => {
    const r = await run(cluster(), ["status", "web", "-o", "yaml"]);
    expect(r.stdout).not.toMatch(/[&*]a\d/);
    expect(parseYaml(r.stdout).ready.reason).toBe("CheckFailed");
  });
});

/** Plays the controller: on the nth get after the annotation is set, it records the action. */
function controller(c: FakeCluster, result: (action: string) => string, afterGets = 1): void {
  let gets = 0;
  c.onGet = (object) => {
    const raw = object.metadata?.annotations?.[actionAnnotation];
    if (raw === undefined || ++gets < afterGets) return object;
    const request = JSON.parse(raw) as {
      id: string;
      action: string;
      requestedBy: string;
      requestedAt: string;
    };
    const status = object.status as Record<string, unknown>;
    return {
      ...object,
      status: {
        ...status,
        canaryWeight: request.action === "promote" ? 30 : status.canaryWeight,
        stepIndex: request.action === "promote" ? 3 : status.stepIndex,
        lastAction: { ...request, consumedAt: ago(0), result: result(request.action) },
      },
    };
  };
}

describe("manual actions", () => {
  it("sets the annotation with a fresh id, who asks and when, then prints what the controller did", async () => {
    const c = cluster();
    controller(c, () => "advanced one step", 3);
    const r = await run(c, ["promote", "web"]);
    expect(r.code).toBe(0);
    expect(c.patches).toHaveLength(1);
    const request = JSON.parse(c.patches[0]?.annotations[actionAnnotation] ?? "");
    expect(request).toEqual({
      id: "00000000-0000-4000-8000-000000000001",
      action: "promote",
      requestedBy: "alice@example.com",
      requestedAt: "2026-11-22T10:00:00.000Z",
    });
    expect(r.stdout).toBe(
      "canary shop/web: promote requested (id 00000000-0000-4000-8000-000000000001)\n" +
        "canary shop/web: advanced one step; now Progressing, weight 30%, step 3/5\n",
    );
  });

  it.each([
    [["promote", "web", "--full"], "promote-full"],
    [["abort", "web"], "abort"],
    [["pause", "web"], "pause"],
    [["resume", "web"], "resume"],
    [["retry", "web"], "retry"],
  ])("%j asks for %s", async (args, action) => {
    const c = cluster();
    controller(c, () => "done");
    const r = await run(c, args);
    expect(r.code).toBe(0);
    expect(JSON.parse(c.patches[0]?.annotations[actionAnnotation] ?? "").action).toBe(action);
  });

  it("falls back to the kubeconfig user when the API server does not say who we are", async () => {
    const c = cluster();
    c.whoAmIName = undefined;
    controller(c, () => "paused");
    await run(c, ["pause", "web"]);
    expect(JSON.parse(c.patches[0]?.annotations[actionAnnotation] ?? "").requestedBy).toBe("kube-user");
  });

  it("exits non-zero when the controller ignores the action, saying why", async () => {
    const c = cluster();
    controller(c, (action) => `ignored: cannot ${action} in phase Progressing`);
    const r = await run(c, ["resume", "web"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("canary shop/web: the controller ignored it: cannot resume in phase Progressing\n");
  });

  it("says clearly when no controller consumed the action", async () => {
    const r = await run(cluster(), ["abort", "web"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "error: the action was recorded but no controller consumed it within 5s — is the Wren controller running?\n",
    );
    expect(r.clock.now - Date.parse("2026-11-22T10:00:00Z")).toBe(5000);
  });

  it("waits as long as --wait says, or not at all with --wait 0", async () => {
    const c = cluster();
    controller(c, () => "paused", 30);
    expect((await run(c, ["pause", "web", "--wait", "10s"])).code).toBe(0);
    const r = await run(cluster(), ["pause", "web", "--wait", "0"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("canary shop/web: pause requested (id 00000000-0000-4000-8000-000000000001)\n");
  });

  it("notes when it replaces an action nobody consumed", async () => {
    const c = new FakeCluster();
    const pending = JSON.stringify({ id: "old", action: "pause", requestedBy: "bob" });
    c.add(canary("web", { annotations: { [actionAnnotation]: pending } }));
    const r = await run(c, ["resume", "web", "--wait", "0"]);
    expect(r.stderr).toBe("note: this replaces pause by bob (id old), which no controller had consumed\n");
  });

  it("prints the consumed action as JSON with -o json", async () => {
    const c = cluster();
    controller(c, () => "rolled back");
    const r = await run(c, ["abort", "web", "-o", "json"]);
    expect(JSON.parse(r.stdout)).toMatchObject({ action: "abort", result: "rolled back", consumed: true });
  });
});

/** A controller moving a canary through steps, one per get, ending in `final`. */
function rollout(c: FakeCluster, final: "Succeeded" | "Failed", steps = [30, 40, 50]): void {
  let i = 0;
  c.onGet = (object) => {
    const status = object.status as Record<string, unknown>;
    const weight = steps[i];
    i++;
    if (weight !== undefined) {
      return {
        ...object,
        status: { ...status, canaryWeight: weight, stepIndex: 3 + i - 1, lastStepTime: ago(0) },
      };
    }
    const reason = final === "Succeeded" ? "Succeeded" : "RolledBack";
    const message = final === "Succeeded" ? `promoted revision ${webRevision}` : "rolled back: aborted";
    return {
      ...object,
      status: {
        ...status,
        phase: final,
        canaryWeight: 0,
        conditions: [
          {
            type: "Ready",
            status: final === "Succeeded" ? "True" : "False",
            reason,
            message,
            lastTransitionTime: ago(0),
          },
        ],
      },
    };
  };
}

describe("watch", () => {
  it("prints a line per change without a terminal and exits 0 when the rollout succeeds", async () => {
    const c = cluster();
    rollout(c, "Succeeded");
    const r = await run(c, ["watch", "web"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.slice(0, 5)).toEqual([
      "2026-11-22T10:00:00.000Z canary shop/web: Progressing, weight 20%, step 2/5; CheckFailed: check failed (1 of 5): request-success-rate 97.5 is below the minimum 99",
      "2026-11-22T10:00:00.000Z   request-success-rate 97.5% Fail (threshold >= 99%)",
      "2026-11-22T10:00:00.000Z   request-duration 120ms Pass (threshold <= 500ms, <= primary +20%)",
      "2026-11-22T10:00:00.000Z   manual action promote by alice: advanced one step",
      "2026-11-22T10:00:01.000Z canary shop/web: Progressing, weight 30%, step 3/5; CheckFailed: check failed (1 of 5): request-success-rate 97.5 is below the minimum 99",
    ]);
    expect(r.stdout).toContain(
      `canary shop/web: Succeeded, weight 0%, step 5/5; Succeeded: promoted revision ${webRevision}`,
    );
    // The full view at the end, for CI logs, with what the watch saw.
    expect(r.stdout).toContain("canary weight          ▁▂▄▅▇█▁   0% → 10% → 20% → 30% → 40% → 50% → 0%");
    expect(r.stdout).toContain("From 5 Events and 5 statuses this watch has seen over the last 4s");
    expect(r.stdout.trimEnd().endsWith(`canary shop/web succeeded: promoted revision ${webRevision}`)).toBe(
      true,
    );
  });

  it("exits 1 when the rollout fails", async () => {
    const c = cluster();
    rollout(c, "Failed");
    const r = await run(c, ["watch", "web"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("canary shop/web failed: rolled back: aborted\n");
  });

  it("keeps watching while the target has a revision the controller has not picked up", async () => {
    const c = cluster();
    const old = { ...progressingStatus, phase: "Succeeded", lastAppliedSpec: "older" };
    c.add(canary("web", { status: old }));
    let gets = 0;
    c.onGet = (object) =>
      ++gets < 3 ? object : { ...object, status: { ...old, lastAppliedSpec: webRevision } };
    const r = await run(c, ["watch", "web"]);
    expect(r.code).toBe(0);
    expect(r.clock.now - Date.parse("2026-11-22T10:00:00Z")).toBe(3000);
  });

  it("does not end on a guess when the target cannot be read for a passing reason", async () => {
    const c = cluster();
    c.add(canary("web", { status: { ...progressingStatus, phase: "Succeeded" } }));
    c.deploymentErrors.push(
      new CliError("cannot reach the Kubernetes API server at https://fake:6443: connection refused"),
    );
    const r = await run(c, ["watch", "web"]);
    expect(r.code).toBe(0);
    expect(r.clock.now - Date.parse("2026-11-22T10:00:00Z")).toBe(1000);
  });

  it("trusts the phase, and says so, when RBAC hides the target", async () => {
    const c = cluster();
    c.add(canary("web", { status: { ...progressingStatus, phase: "Succeeded" } }));
    c.deploymentErrors.push(
      new ForbiddenError('you may not get deployments.apps in namespace "shop" (RBAC forbids it)'),
    );
    const r = await run(c, ["watch", "web"]);
    expect(r.code).toBe(0);
    expect(r.clock.now - Date.parse("2026-11-22T10:00:00Z")).toBe(0);
    expect(r.stdout).toContain(
      'Note: cannot tell whether Deployment web has a newer revision than the one shown: you may not get deployments.apps in namespace "shop" (RBAC forbids it)',
    );
  });

  it("exits 2 on --timeout, saying where the rollout stands", async () => {
    const r = await run(cluster(), ["watch", "web", "--timeout", "10s"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "timed out after 10s waiting for canary shop/web: Progressing, weight 20%, step 2/5 (phase Progressing)\n",
    );
  });

  it("exits 1 when the rollout is deleted", async () => {
    const c = cluster();
    c.onGet = () => undefined;
    const r = await run(c, ["watch", "web"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: canary shop/web was deleted\n");
  });

  it("rides out a failing API server for a while", async () => {
    const c = cluster();
    rollout(c, "Succeeded", []);
    c.getErrors.push(
      new CliError("cannot reach the Kubernetes API server at https://fake:6443: connection refused"),
    );
    const r = await run(c, ["watch", "web"]);
    expect(r.code).toBe(0);
  });

  it("redraws in place on a terminal", async () => {
    const c = cluster();
    rollout(c, "Succeeded", [30]);
    const r = await run(c, ["watch", "web"], { tty: true });
    expect(r.code).toBe(0);
    const frames = r.stdout.split("\x1b[H").filter((f) => f !== "");
    expect(frames).toHaveLength(3);
    expect(
      frames[0]?.startsWith(
        "kubectl wren watch canary/web -n shop: every 1s, 0s elapsed (Ctrl-C stops)\x1b[K\n",
      ),
    ).toBe(true);
    expect(frames[2]).toContain("Phase:       Succeeded");
  });

  it("prints a JSON line per change with -o json", async () => {
    const c = cluster();
    rollout(c, "Succeeded", [30]);
    const r = await run(c, ["watch", "web", "-o", "json"]);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.phase, l.weight, l.outcome.state])).toEqual([
      ["Progressing", "20%", "running"],
      ["Progressing", "30%", "running"],
      ["Succeeded", "0%", "succeeded"],
    ]);
  });
});

describe("help and version", () => {
  it("prints help for the plugin and for every command", async () => {
    const top = await run(cluster(), ["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("Usage: kubectl wren [options] [command]");
    for (const command of [
      "get",
      "status",
      "watch",
      "promote",
      "abort",
      "pause",
      "resume",
      "retry",
      "version",
    ]) {
      const r = await run(cluster(), [command, "--help"]);
      expect(r.code, command).toBe(0);
      expect(r.stdout, command).toContain(`Usage: kubectl wren ${command}`);
      expect(r.stdout, command).toContain("--kubeconfig <file>");
    }
  });

  it("prints the package version", async () => {
    const { version } = JSON.parse(
      await import("node:fs").then((fs) =>
        fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
      ),
    ) as { version: string };
    expect((await run(cluster(), ["version"])).stdout).toBe(`kubectl-wren ${version}\n`);
    expect(JSON.parse((await run(cluster(), ["version", "-o", "json"])).stdout)).toEqual({
      name: "kubectl-wren",
      version,
    });
  });

  it("rejects unknown commands, flags and output formats with usage help", async () => {
    const unknown = await run(cluster(), ["frobnicate"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("error: unknown command 'frobnicate'");
    const output = await run(cluster(), ["get", "-o", "table"]);
    expect(output.code).toBe(1);
    expect(output.stderr).toContain("Allowed choices are json, yaml, wide");
    const duration = await run(cluster(), ["watch", "web", "--timeout", "soon"]);
    expect(duration.stderr).toBe(
      'error: invalid --timeout "soon": use a duration such as 5s, 10m or 1h30m (0 for none)\n',
    );
  });
});
