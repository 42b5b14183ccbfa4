// The command line of kubectl-wren: commands, flags and help, wired with
// commander. `runCli` runs one invocation and returns its exit code; main.ts is
// the executable around it, and tests call it with fake dependencies.
import { Command, CommanderError, Option } from "commander";
import type { ManualActionName } from "../strategies/decision.ts";
import { runAction } from "./actions.ts";
import type { Cluster } from "./cluster.ts";
import { parseFlagDuration } from "./duration.ts";
import { CliError } from "./errors.ts";
import { runGet } from "./get.ts";
import { type CliDeps, type OutputFormat, processDeps } from "./io.ts";
import { printData } from "./output.ts";
import { parseRef, resolveRollout } from "./resolve.ts";
import type { FoundRollout } from "./rollout.ts";
import { rolloutKinds } from "./rollout-kinds.ts";
import { runStatus } from "./status.ts";
import { packageVersion } from "./version.ts";
import { runWatch, timeoutExitCode } from "./watch.ts";

/** Flags every command accepts, wherever they appear on the line. */
interface GlobalOptions {
  namespace?: string;
  context?: string;
  kubeconfig?: string;
  requestTimeout: string;
}

interface CommandOptions {
  allNamespaces?: boolean;
  output?: OutputFormat;
}

const kindsText = rolloutKinds.map((k) => k.singular).join(", ");

const actionHelp: Record<Exclude<ManualActionName, "promote-full">, string> = {
  promote: "advance one step now (skipping the rest of the wait), or approve a waiting promotion",
  abort: "roll back: all traffic to the primary, and the rollout fails",
  pause: "hold the rollout at its current weight until resume",
  resume: "continue a paused rollout",
  retry: "analyse a failed revision again from the first step",
};

function outputOption(formats: OutputFormat[]): Option {
  return new Option("-o, --output <format>", "output format").choices(formats);
}

function allNamespacesOption(): Option {
  return new Option("-A, --all-namespaces", "look in every namespace (NAME must then be unique)");
}

/** Builds the program. `setExit` receives each command's exit code. */
export function buildProgram(deps: CliDeps, setExit: (code: number) => void): Command {
  const program = new Command("kubectl wren");
  program
    .description(
      `Drive and watch Wren progressive-delivery rollouts (${kindsText}).\nNAME is a rollout name, looked up across kinds, or KIND/NAME (e.g. canary/web).`,
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.stdout.write(text),
      writeErr: (text) => deps.stderr.write(text),
    })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showHelpAfterError("(add --help for usage)")
    .version(packageVersion(), "--version", "print the version")
    .option("-n, --namespace <namespace>", "namespace (default: the kubeconfig context's, else default)")
    .option("--context <name>", "kubeconfig context to use")
    .option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    .option("--request-timeout <duration>", "give up on one API request after this long (0: never)", "30s")
    .addHelpText(
      "after",
      `
Examples:
  kubectl wren get -A                     every rollout in every namespace
  kubectl wren status web                 why canary web is where it is
  kubectl wren watch web --timeout 30m    in CI: exit 0 when web succeeds, 1 when it fails
  kubectl wren promote web --full         skip the remaining steps
  kubectl wren abort canary/web -n shop   roll back now`,
    );

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();

  async function cluster(): Promise<Cluster> {
    const g = globals();
    return deps.connect({
      kubeconfig: g.kubeconfig,
      context: g.context,
      namespace: g.namespace,
      requestTimeoutMs: parseFlagDuration("--request-timeout", g.requestTimeout),
    });
  }

  /** The namespace to look in: undefined for -A. */
  function scope(c: Cluster, options: CommandOptions): string | undefined {
    if (options.allNamespaces && globals().namespace !== undefined) {
      throw new CliError("use either -n/--namespace or -A/--all-namespaces, not both");
    }
    return options.allNamespaces ? undefined : c.info.namespace;
  }

  async function find(c: Cluster, name: string, options: CommandOptions): Promise<FoundRollout> {
    return resolveRollout(c, parseRef(name), scope(c, options));
  }

  program
    .command("get")
    .summary("list rollouts: kind, name, phase, weight, step, age")
    .description("List rollouts of every kind: kind, name, phase, weight (or wave), step and age.")
    .argument("[name]", "only this rollout (NAME or KIND/NAME)")
    .addOption(allNamespacesOption())
    .addOption(outputOption(["json", "yaml", "wide"]))
    .addHelpText(
      "after",
      "\nExamples:\n  kubectl wren get\n  kubectl wren get -A -o wide\n  kubectl wren get canary/web -o yaml",
    )
    .action(async (name: string | undefined, options: CommandOptions) => {
      const c = await cluster();
      setExit(await runGet(deps, c, { ref: name, namespace: scope(c, options), output: options.output }));
    });

  program
    .command("status")
    .summary("show one rollout: phase and why, traffic, analysis, history chart, Events")
    .description(
      "Show everything about one rollout: phase and why, traffic, step, the last analysis results per metric,\nconditions, manual actions, a chart of its weight and metrics over time, and recent Events.",
    )
    .argument("<name>", "NAME or KIND/NAME")
    .addOption(allNamespacesOption())
    .addOption(outputOption(["json", "yaml", "wide"]))
    .action(async (name: string, options: CommandOptions) => {
      const c = await cluster();
      setExit(await runStatus(deps, c, await find(c, name, options), { output: options.output }));
    });

  program
    .command("watch")
    .summary("follow one rollout live until it ends (exit 0 succeeded, 1 failed)")
    .description(
      `Show the status view live until the rollout ends.\nExit code: 0 when it succeeds, 1 when it fails, ${timeoutExitCode} on --timeout.\nOn a terminal it redraws in place; otherwise it prints a line per change (a JSON line with -o json).`,
    )
    .argument("<name>", "NAME or KIND/NAME")
    .option("--timeout <duration>", "give up after this long, e.g. 10m (0: never)", "0")
    .addOption(allNamespacesOption())
    .addOption(outputOption(["json", "yaml"]))
    .action(async (name: string, options: CommandOptions & { timeout: string }) => {
      const timeoutMs = parseFlagDuration("--timeout", options.timeout);
      const c = await cluster();
      setExit(await runWatch(deps, c, await find(c, name, options), { timeoutMs, output: options.output }));
    });

  for (const action of ["promote", "abort", "pause", "resume", "retry"] as const) {
    const command = program
      .command(action)
      .summary(actionHelp[action])
      .description(
        `${actionHelp[action][0]?.toUpperCase()}${actionHelp[action].slice(1)}.\nSets the wren.dev/action annotation, waits (--wait) for the controller to consume it and prints what it did.\nExits non-zero when the controller ignores the action or does not consume it in time.`,
      )
      .argument("<name>", "NAME or KIND/NAME")
      .option(
        "--wait <duration>",
        "how long to wait for the controller to consume the action (0: do not wait)",
        "5s",
      )
      .addOption(allNamespacesOption())
      .addOption(outputOption(["json", "yaml"]));
    if (action === "promote")
      command.option("--full", "promote all the way now, skipping the remaining steps");
    command.action(async (name: string, options: CommandOptions & { wait: string; full?: boolean }) => {
      const waitMs = parseFlagDuration("--wait", options.wait);
      const c = await cluster();
      const found = await find(c, name, options);
      const requested: ManualActionName = action === "promote" && options.full ? "promote-full" : action;
      setExit(await runAction(deps, c, found, requested, { waitMs, output: options.output }));
    });
  }

  program
    .command("version")
    .description("print the version of kubectl-wren")
    .addOption(outputOption(["json", "yaml"]))
    .action((options: CommandOptions) => {
      const version = packageVersion();
      if (options.output === "json" || options.output === "yaml") {
        printData(deps.stdout, { name: "kubectl-wren", version }, options.output);
      } else {
        deps.stdout.write(`kubectl-wren ${version}\n`);
      }
      setExit(0);
    });

  return program;
}

/** Runs one invocation (arguments after the executable's name) and returns its exit code. */
export async function runCli(argv: string[], deps: CliDeps = processDeps()): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(deps, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    // Commander has printed its own message (usage errors) or the help already.
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof CliError) {
      deps.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    deps.stderr.write(`error: unexpected failure (please report it): ${detail}\n`);
    return 1;
  }
}
