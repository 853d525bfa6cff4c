// The one error the directory lookups (PagerDuty, Okta, Slack) throw: a stable code, a message safe to show.

/**
 * A lookup that could not answer: the vendor refused the credentials, rate limited us, did not know the
 * schedule, group or channel, or could not be reached. The message never holds a secret; `cause` holds what
 * the vendor or the network said.
 */
export class LookupError extends Error {
  readonly code = "LOOKUP_FAILED";

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "LookupError";
  }
}

/** Seconds from a header saying how long to wait, for a "try again in N s" hint; "" when there is none. */
export function retryHint(seconds: string | number | null | undefined): string {
  const n = Number(seconds);
  return Number.isFinite(n) && n > 0 ? `; try again in ${Math.ceil(n)} s` : "";
}
