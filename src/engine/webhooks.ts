// Rollout gates: Wren POSTs the rollout's state to each webhook of the types the
// strategy asked for; a 2xx answer opens the gate (or, for rollback, asks for one).
import type { WebhookGate, WebhookType } from "../api/common.ts";
import type { WebhookResult } from "../strategies/decision.ts";
import { durationMs } from "../strategies/duration.ts";

/** What a webhook receives: enough to identify the rollout and the step (Flagger-compatible names). */
export interface WebhookPayload {
  name: string;
  namespace: string;
  kind: string;
  phase: string;
  checksum?: string;
  canaryWeight?: number;
  type: WebhookType;
  metadata?: Record<string, string>;
  /** For event and post-rollout hooks: what happened. */
  message?: string;
}

async function call(gate: WebhookGate, payload: WebhookPayload): Promise<WebhookResult> {
  const result = (ok: boolean, message?: string): WebhookResult => ({
    name: gate.name,
    type: gate.type,
    ok,
    message,
  });
  try {
    const response = await fetch(gate.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...payload, type: gate.type, metadata: gate.metadata }),
      signal: AbortSignal.timeout(durationMs(gate.timeout)),
    });
    // Drain the body so the connection can be reused; keep a little of it for the message.
    const text = (await response.text()).slice(0, 200);
    return response.ok ? result(true) : result(false, `HTTP ${response.status}${text ? `: ${text}` : ""}`);
  } catch (error) {
    const reason =
      error instanceof Error && error.name === "TimeoutError"
        ? `timed out after ${gate.timeout}`
        : String(error);
    return result(false, reason);
  }
}

/** Calls every webhook of the given types concurrently; an unreachable hook is a closed gate, never an open one. */
export async function callWebhooks(
  gates: readonly WebhookGate[],
  types: readonly WebhookType[],
  payload: Omit<WebhookPayload, "type">,
): Promise<WebhookResult[]> {
  const due = gates.filter((g) => types.includes(g.type));
  return Promise.all(due.map((g) => call(g, { ...payload, type: g.type })));
}
