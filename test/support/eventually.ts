// Waiting for a condition with a deadline: the only synchronisation tests use.

export interface EventuallyOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Calls `probe` until it returns without throwing, and returns its result. On
 * timeout, throws the probe's last error so the failure says what was wrong.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T> | T,
  { timeoutMs = 60_000, intervalMs = 500 }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = new Error("never probed");
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${reason}`);
}
