// A raw request to the API server with the kubeconfig's credentials. Used where
// client-node's model serializer would drop fields it has no model name for
// (e.g. `x-kubernetes-int-or-string` inside a CRD schema).
import { request as httpRequest, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";

export interface KubeRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
  contentType?: string;
  /** Give up after this long without an answer. Default 30 s. */
  timeoutMs?: number;
}

export class KubeRequestError extends Error {
  readonly code: number;
  readonly body: string;
  constructor(code: number, body: string, what: string) {
    let message = body;
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      // not a Status object
    }
    super(`${what}: HTTP ${code}: ${message}`);
    this.code = code;
    this.body = body;
  }
}

/** Sends one request and returns the parsed JSON answer; non-2xx throws KubeRequestError. */
export async function kubeRequest<T = unknown>(kc: KubeConfig, req: KubeRequest): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  // Concatenate rather than resolve: a server address may carry a path prefix (proxied clusters).
  const url = new URL(`${cluster.server.replace(/\/+$/, "")}${req.path}`);
  const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
  const headers: Record<string, string | number> = { Accept: "application/json" };
  if (payload !== undefined) {
    headers["Content-Type"] = req.contentType ?? "application/json";
    headers["Content-Length"] = Buffer.byteLength(payload);
  }
  const options: RequestOptions = { method: req.method, headers };
  await kc.applyToHTTPSOptions(options);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<T>((resolve, reject) => {
    const r = send(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const code = res.statusCode ?? 0;
        if (code < 200 || code >= 300) {
          reject(new KubeRequestError(code, text, `${req.method} ${req.path}`));
          return;
        }
        resolve((text ? JSON.parse(text) : undefined) as T);
      });
      res.on("error", reject);
    });
    r.on("error", reject);
    r.setTimeout(req.timeoutMs ?? 30_000, () =>
      r.destroy(new Error(`${req.method} ${req.path}: no answer in ${req.timeoutMs ?? 30_000} ms`)),
    );
    if (payload !== undefined) r.write(payload);
    r.end();
  });
}
