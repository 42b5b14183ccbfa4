// A local HTTP receiver standing in for webhook targets: records every call and
// answers with the status the test sets for each path.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll } from "vitest";
import { verify } from "../../src/notify/signature.ts";

export interface ReceivedCall {
  path: string;
  body: Record<string, unknown>;
  raw: string;
  headers: Record<string, string | string[] | undefined>;
  /** The status answered. */
  status: number;
  at: number;
}

export class WebhookReceiver {
  readonly calls: ReceivedCall[] = [];
  /** Status answered per path; 200 when unset. 0 never answers (a hung receiver). */
  readonly answers = new Map<string, number>();
  #server: Server | undefined;
  url = "";

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const status = this.answers.get(req.url ?? "") ?? 200;
        this.calls.push({
          path: req.url ?? "",
          body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
          raw: text,
          headers: req.headers,
          status,
          at: Date.now(),
        });
        if (status === 0) return;
        res.writeHead(status);
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, "127.0.0.1", resolve));
    const address = this.#server.address();
    if (address && typeof address === "object") this.url = `http://127.0.0.1:${address.port}`;
    return this;
  }

  callsTo(path: string): ReceivedCall[] {
    return this.calls.filter((c) => c.path === path);
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Whether a received call carries a valid Wren signature for `signingKey`, checked as a receiver would. */
export function signedWith(call: ReceivedCall, signingKey: string): boolean {
  return verify({
    signingKey,
    body: call.raw,
    timestamp: call.headers["x-wren-timestamp"] as string | undefined,
    signature: call.headers["x-wren-signature"] as string | undefined,
    nowMs: call.at,
  }).ok;
}

/** A receiver for the calling test file: listening from beforeAll, closed in afterAll. */
export function useWebhookReceiver(): WebhookReceiver {
  const receiver = new WebhookReceiver();
  beforeAll(async () => {
    await receiver.start();
  });
  afterAll(async () => {
    await receiver.stop();
  });
  return receiver;
}
