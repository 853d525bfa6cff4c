// The `webhook` target: a signed POST to your endpoint on escalate and deescalate; any non-2xx is retried.

import { z } from "zod";
import { secretRef, webhookUrl } from "../config/schema.ts";
import { readSecret } from "../config/secrets.ts";
import { postSigned, WebhookError } from "../lib/signed-post.ts";
import { type ConnectorType, PermanentTargetError, type TargetCall } from "./target.ts";

const settings = z.strictObject({
  url: webhookUrl,
  secret: secretRef,
  timeoutMs: z.int().min(100).max(120_000).default(10_000),
});

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
