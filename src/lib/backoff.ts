// Capped exponential backoff with jitter, for retries that never give up.

/** Milliseconds to wait before attempt `attempt + 1`: base·2^attempt, capped, with ±25% jitter. */
export function backoffMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(1, Math.round(exp * (0.75 + random() * 0.5)));
}
