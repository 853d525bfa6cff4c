// The `webhook` target: a signed POST to your endpoint on escalate and deescalate; any non-2xx is retried.

import { z } from "zod";
import { secretRef } from "../config/schema.ts";
import { readSecret } from "../config/secrets.ts";
import { signedHeaders } from "../notify/signature.ts";
import type { ConnectorType, TargetCall } from "./target.ts";

const settings = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: "url must be an http(s) URL" }),
  secret: secretRef,
  timeoutMs: z.int().min(100).max(120_000).default(10_000),
});

export class WebhookError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WebhookError";
    this.status = status;
  }
}

export const webhookTarget: ConnectorType<z.output<typeof settings>> = {
  type: "webhook",
  settings,
  create(info, s) {
    async function send(action: "escalate" | "deescalate", { evt, signal }: TargetCall): Promise<void> {
      const body = JSON.stringify({
        action,
        requestId: evt.request.id,
        target: { name: info.name, label: info.label },
        requester: { email: evt.requester.email },
        expiresAt: evt.request.expiresAt,
      });
      await postSigned(
        s.url,
        readSecret(s.secret),
        body,
        AbortSignal.any([signal, AbortSignal.timeout(s.timeoutMs)]),
      );
    }
    return {
      escalate: (call) => send("escalate", call),
      deescalate: (call) => send("deescalate", call),
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
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: signedHeaders(secret, body, Date.now()),
      body,
      signal,
    });
  } catch (err) {
    throw new WebhookError(`POST ${redactUrl(url)} failed: ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
  await response.body?.cancel();
  if (response.status < 200 || response.status > 299) {
    throw new WebhookError(`POST ${redactUrl(url)} answered ${response.status}`, response.status);
  }
}

/** A URL without credentials or query string, for messages and logs. */
function redactUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}
