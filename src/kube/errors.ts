// Classifying Kubernetes API errors. The generated API clients throw ApiException
// with `.code`; the Watch client reports HTTP failures with `.statusCode`.
import { ApiException } from "@kubernetes/client-node";

/** The HTTP status of an API error, or undefined when it is not one (e.g. a network error). */
export function statusCode(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  if (typeof error !== "object" || error === null) return undefined;
  const candidate =
    (error as { statusCode?: unknown; code?: unknown }).statusCode ?? (error as { code?: unknown }).code;
  return typeof candidate === "number" ? candidate : undefined;
}

/** True for 409: a resourceVersion precondition failed, or the object already exists. */
export function isConflict(error: unknown): boolean {
  return statusCode(error) === 409;
}

/** True for 404. */
export function isNotFound(error: unknown): boolean {
  return statusCode(error) === 404;
}

/** True for 410: the resourceVersion a watch asked for is older than the server's history. */
export function isGone(error: unknown): boolean {
  return statusCode(error) === 410;
}

/** A short description of an error for logs, without response bodies that may be large. */
export function describeError(error: unknown): string {
  if (error instanceof ApiException) return `HTTP ${error.code}: ${apiMessage(error.body) ?? error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

function apiMessage(body: unknown): string | undefined {
  if (typeof body === "string") {
    try {
      return apiMessage(JSON.parse(body));
    } catch {
      return body.slice(0, 300);
    }
  }
  if (typeof body === "object" && body !== null) {
    const message = (body as { message?: unknown }).message;
    if (typeof message === "string") return message;
  }
  return undefined;
}
