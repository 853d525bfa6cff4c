// The `webhook` target: a signed POST to your endpoint on escalate and deescalate; any non-2xx is retried.

import { z } from "zod";
import { secretRef, webhookUrl } from "../config/schema.ts";
import { readSecret } from "../config/secrets.ts";
import { signedHeaders } from "../lib/signature.ts";
import { type ConnectorType, PermanentTargetError, type TargetCall } from "./target.ts";

const settings = z.strictObject({
  url: webhookUrl,
  secret: secretRef,
  timeoutMs: z.int().min(100).max(120_000).default(10_000),
});

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

export const webhookTarget: ConnectorType<z.output<typeof settings>> = {
  type: "webhook",
  settings,
  create(info, s) {
    async function send(
      action: "escalate" | "deescalate",
      { evt, signal }: TargetCall<unknown>,
    ): Promise<undefined> {
      const body = JSON.stringify({
        action,
        requestId: evt.request.id,
        target: { name: info.name, label: info.label },
        requester: { email: evt.requester.email },
        expiresAt: evt.request.expiresAt,
      });
      try {
        await postSigned(
          s.url,
          readSecret(s.secret),
          body,
          AbortSignal.any([signal, AbortSignal.timeout(s.timeoutMs)]),
        );
      } catch (err) {
        if (err instanceof WebhookError && err.permanent) {
          throw new PermanentTargetError(`webhook: ${err.message}`, { cause: err });
        }
        throw err;
      }
      return undefined;
    }
    return {
      escalate: (call) => send("escalate", call),
      deescalate: async (call) => {
        await send("deescalate", call);
      },
    };
  },
};

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
