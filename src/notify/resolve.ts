// From an AlertProvider reference to everything needed to post: the validated spec
// and the Secret's values. Failure reasons name objects and keys, never values.
import { AlertProviderSpec, alertProviderSecretKeys } from "../api/alert-provider.ts";
import { durationMs } from "../strategies/duration.ts";
import type { AlertProviderLookup } from "./lookup.ts";
import type { ProviderConfig } from "./provider.ts";

/** A resolved provider, or why it cannot be used (safe to log). */
export type Resolution = { ok: true; provider: ProviderConfig } | { ok: false; reason: string };

/**
 * Reads AlertProvider `namespace/name` and its Secret through `lookup`, for a rollout in
 * namespace `from` (undefined: the operator's default provider, always allowed). Never throws.
 */
export async function resolveProvider(
  lookup: AlertProviderLookup,
  namespace: string,
  name: string,
  from?: string,
): Promise<Resolution> {
  const key = `${namespace}/${name}`;
  try {
    const raw = await lookup.alertProvider(namespace, name);
    if (raw === undefined) return { ok: false, reason: `AlertProvider ${key} not found` };
    const parsed = AlertProviderSpec.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `spec.${i.path.map(String).join(".")}: ${i.message}`);
      return { ok: false, reason: `AlertProvider ${key} is invalid: ${issues.join("; ")}` };
    }
    const spec = parsed.data;
    if (from !== undefined && from !== namespace) {
      const allowed = spec.allowedNamespaces ?? [];
      if (!allowed.includes("*") && !allowed.includes(from)) {
        return {
          ok: false,
          reason: `AlertProvider ${key} does not accept rollouts from namespace ${from} (its spec.allowedNamespaces)`,
        };
      }
    }
    const secretName = `${namespace}/${spec.secretRef.name}`;
    const secret = await lookup.secret(namespace, spec.secretRef.name);
    if (secret === undefined)
      return { ok: false, reason: `Secret ${secretName} (secretRef of ${key}) not found` };
    // `echo url | kubectl create secret` leaves a newline; no address, token or key ends in whitespace.
    const value = (k: string) => {
      const v = secret[k]?.trim();
      return v === undefined || v === "" ? undefined : v;
    };
    const address = value(alertProviderSecretKeys.address);
    if (address === undefined) {
      return { ok: false, reason: `Secret ${secretName} has no "${alertProviderSecretKeys.address}" key` };
    }
    const url = URL.parse(address);
    if (url === null || (url.protocol !== "https:" && url.protocol !== "http:")) {
      return { ok: false, reason: `the "address" in Secret ${secretName} is not an http(s) URL` };
    }
    const token = value(alertProviderSecretKeys.token);
    if (spec.type === "slack" && token !== undefined && spec.channel === undefined) {
      return { ok: false, reason: `AlertProvider ${key}: spec.channel is required with a Slack bot token` };
    }
    const signingKey = value(alertProviderSecretKeys.signingKey);
    return {
      ok: true,
      provider: {
        key,
        type: spec.type,
        address,
        ...(token !== undefined && spec.type === "slack" ? { token } : {}),
        ...(signingKey !== undefined && spec.type === "webhook" ? { signingKey } : {}),
        ...(spec.channel !== undefined ? { channel: spec.channel } : {}),
        ...(spec.username !== undefined ? { username: spec.username } : {}),
        timeoutMs: durationMs(spec.timeout),
        rateLimit: spec.rateLimit,
      },
    };
  } catch (error) {
    // Lookups read Kubernetes objects; their errors carry API paths, not Secret values.
    const why = error instanceof Error ? error.message.slice(0, 200) : "unknown error";
    return { ok: false, reason: `reading AlertProvider ${key} failed: ${why}` };
  }
}
