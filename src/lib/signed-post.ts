// A signed JSON POST (webhook targets and notify.webhooks): 2xx is success, anything else a WebhookError
// that says whether sending it again can help and how long the receiver asked us to wait.

import { signedHeaders } from "./signature.ts";

export class WebhookError extends Error {
  readonly status: number | undefined;
  /** How long the receiver asked us to wait (Retry-After), if it did. */
  readonly retryAfterMs: number | undefined;
  /** The request cannot even be made (the URL is unusable): sending it again will fail the same way. */
  readonly permanent: boolean;
  constructor(
    message: string,
    status?: number,
    options?: { cause?: unknown; retryAfterMs?: number | undefined; permanent?: boolean },
  ) {
    super(message, options);
    this.name = "WebhookError";
    this.status = status;
    this.retryAfterMs = options?.retryAfterMs;
    this.permanent = options?.permanent ?? false;
  }
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now; capped at a day. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const ms = /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1000 : Date.parse(value) - nowMs;
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, 86_400_000) : undefined;
}

/** POSTs a signed JSON body; resolves on 2xx, throws WebhookError otherwise. */
export async function postSigned(
  url: string,
  secret: string,
  body: string,
  signal: AbortSignal,
): Promise<void> {
  let request: Request;
  try {
    request = new Request(url, {
      method: "POST",
      headers: signedHeaders(secret, body, Date.now()),
      body,
      signal,
      // A redirect would turn the signed POST into a GET somewhere else: treat it as a failure instead.
      redirect: "manual",
    });
  } catch (err) {
    throw new WebhookError(`POST ${redactUrl(url)} cannot be sent: ${(err as Error).message}`, undefined, {
      cause: err,
      permanent: true,
    });
  }
  let response: Response;
  try {
    response = await fetch(request);
  } catch (err) {
    throw new WebhookError(`POST ${redactUrl(url)} failed: ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
  await response.body?.cancel();
  if (response.status < 200 || response.status > 299) {
    throw new WebhookError(`POST ${redactUrl(url)} answered ${response.status}`, response.status, {
      retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), Date.now()),
    });
  }
}

/** A URL without credentials or query string, for messages and logs. */
function redactUrl(url: string): string {
  // Only the scheme and host: some services put the secret in the path.
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "(an unusable URL)";
  }
}
