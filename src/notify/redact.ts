// Keeps a provider's secrets out of text that may be logged. A webhook address is a
// credential (whoever has it can post), and an error from the network stack or a
// provider's answer may quote it whole or in parts, plain or URL-encoded.

const censor = "[redacted]";

/** The strings to hide for one provider: each secret, the address's parts, and their encoded forms. */
export function secretsOf(provider: { address: string; token?: string; signingKey?: string }): string[] {
  const secrets = [provider.address, provider.token, provider.signingKey];
  const url = URL.parse(provider.address);
  if (url !== null) {
    // The host may be secret too (per-hook subdomains); the path and query usually are.
    secrets.push(url.href, url.host, url.hostname, url.pathname, url.search, url.username, url.password);
    for (const [, value] of url.searchParams) secrets.push(value);
    // Path segments that look like IDs or tokens; plain words (services, webhooks) stay readable.
    for (const segment of url.pathname.split("/")) if (!/^[a-z-]*$/.test(segment)) secrets.push(segment);
  }
  const plain = secrets.filter((s): s is string => s !== undefined && s.length >= 6);
  return [...new Set(plain.flatMap((s) => [s, encodeURIComponent(s), encodeURI(s)]))];
}

/** A function that replaces every one of `secrets` in a text with [redacted], longest first. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const ordered = [...new Set(secrets)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of ordered) out = out.split(secret).join(censor);
    return out;
  };
}
