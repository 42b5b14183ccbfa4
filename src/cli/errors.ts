// Errors a person understands. Every failure the CLI reports is a CliError with
// the message to print and the exit code; API and network errors are translated
// here, with what the CLI was doing when they happened.

/** An error the CLI prints as `error: <message>` before exiting with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** The API server does not serve a resource at all: its CRD is not installed. */
export class ResourceNotServedError extends CliError {
  readonly resource: string;
  constructor(resource: string) {
    super(`the cluster does not serve ${resource}; is its CRD installed? (crds/ in the Wren repository)`);
    this.name = "ResourceNotServedError";
    this.resource = resource;
  }
}

/** The object asked for does not exist. */
export class NotFoundError extends CliError {
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}

/** RBAC denies the request: asking again will not help. */
export class ForbiddenError extends CliError {
  constructor(message: string) {
    super(message);
    this.name = "ForbiddenError";
  }
}

/** What the CLI was doing when a request failed: the words the message is made of. */
export interface RequestContext {
  /** The RBAC verb: get, list, patch, create. */
  verb: string;
  /** The resource with its group, as RBAC names it: canaries.wren.dev, events, deployments.apps. */
  resource: string;
  /** The singular a person reads in "canary "x" not found". */
  singular?: string;
  namespace?: string;
  name?: string;
  /** The API server's address. */
  server: string;
}

/** The parts of a failed HTTP answer the translation needs. */
export interface HttpFailure {
  code: number;
  body: string;
}

interface StatusBody {
  message?: string;
  reason?: string;
  details?: { name?: string; kind?: string; group?: string };
}

function parseStatus(body: string): StatusBody {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === "object" && parsed !== null ? (parsed as StatusBody) : {};
  } catch {
    return { message: body.slice(0, 300) };
  }
}

function where(namespace: string | undefined): string {
  return namespace === undefined ? "in any namespace (cluster-wide)" : `in namespace "${namespace}"`;
}

/** Translates a non-2xx API answer into a CliError that says what was refused or missing. */
export function httpError(failure: HttpFailure, context: RequestContext): CliError {
  const status = parseStatus(failure.body);
  const message = status.message ?? "";
  switch (failure.code) {
    case 401:
      return new CliError(
        `the API server at ${context.server} rejected your credentials (401 Unauthorized); log in again or choose another --context`,
      );
    case 403: {
      const user = /User "([^"]+)"/.exec(message)?.[1];
      const as = user === undefined ? "" : ` as user "${user}"`;
      return new ForbiddenError(
        `you may not ${context.verb} ${context.resource} ${where(context.namespace)} (RBAC forbids it${as})`,
      );
    }
    case 404:
      // A missing object names itself in the Status details; a missing resource type does not.
      if (context.name !== undefined && status.details?.name === context.name) {
        return new NotFoundError(
          `${context.singular ?? context.resource} "${context.name}" not found ${where(context.namespace)}`,
        );
      }
      return new ResourceNotServedError(context.resource);
    default: {
      const what = context.name === undefined ? context.resource : `${context.resource} "${context.name}"`;
      return new CliError(
        `${context.verb} ${what} ${where(context.namespace)} failed: HTTP ${failure.code}${message ? `: ${message}` : ""}`,
      );
    }
  }
}

const networkMessages: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "the connection was reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  ETIMEDOUT: "the connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
};

/** Translates a failure to reach the API server (no HTTP answer) into a CliError naming the server. */
export function networkError(error: unknown, server: string): CliError {
  const code = (error as { code?: unknown } | null)?.code;
  const text = error instanceof Error ? error.message : String(error);
  if (typeof code === "string" && networkMessages[code] !== undefined) {
    return new CliError(
      `cannot reach the Kubernetes API server at ${server}: ${networkMessages[code]} (is the cluster running? check --kubeconfig and --context)`,
    );
  }
  if (typeof code === "string" && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO/.test(code)) {
    return new CliError(`TLS error talking to the Kubernetes API server at ${server}: ${text}`);
  }
  return new CliError(`request to the Kubernetes API server at ${server} failed: ${text}`);
}
