// Delivers the outbox's Slack messages: approval messages posted and kept up to date (outbound/approval-message.ts),
// DMs to the requester, expiry warnings and error-channel posts, each rendered from the request as it is now.

import type { SlackSettings } from "../../config/loader.ts";
import type { EngineDeps } from "../../engine/deps.ts";
import { DeliveryDeferred, messageOf, PermanentDeliveryError } from "../../errors.ts";
import type { Sender } from "../../store/outbox.ts";
import { getPreference } from "../../store/preferences.ts";
import { approvalMessages, stepNames } from "./outbound/approval-message.ts";
import { createOutboundContext } from "./outbound/context.ts";
import type { SlackPeople } from "./people.ts";
import type { SlackOp } from "./planner.ts";
import { errorNotice, expiringNotice, requesterNotice, systemNotice } from "./render/notices.ts";
import { maxAttempts, type SlackApi } from "./slack-api.ts";

export function createSlackSender(
  deps: EngineDeps,
  settings: SlackSettings,
  api: SlackApi,
  people: SlackPeople,
): Sender {
  const ctx = createOutboundContext(deps, settings, api, people);
  const { load, post, dm } = ctx;
  const { postApproval, updateApproval, replyInThreads } = approvalMessages(ctx);

  async function deliver(op: SlackOp): Promise<void> {
    switch (op.op) {
      case "approval.post":
        return postApproval(op.requestId);
      case "approval.update":
        return updateApproval(op.requestId);
      case "approval.reply":
        return replyInThreads(op.requestId, op.event);
      case "dm": {
        // Someone who chose email only is not told in Slack.
        if ((await getPreference(deps.store.db, op.to)) === "email") return;
        const loaded = await load(op.requestId);
        if (!loaded) return;
        const timeout = deps.config.flows.get(loaded.row.flow)?.config.requestTimeout ?? 0;
        const notice = requesterNotice(
          op.event,
          loaded.view,
          loaded.labels,
          timeout,
          stepNames(deps, loaded.row),
        );
        if (notice) await dm(op.to, notice);
        return;
      }
      case "expiring": {
        const loaded = await load(op.requestId);
        // Extended, revoked or ended since the warning was scheduled: the warning would be wrong.
        if (loaded?.row.state !== "active" || loaded.row.expiresAt !== op.expiresAt) return;
        await dm(op.to, expiringNotice(loaded.view, loaded.labels, deps.clock.now(), settings.command));
        return;
      }
      case "text": {
        const rendered = systemNotice(op.text);
        if (op.to.includes("@")) await dm(op.to, rendered);
        else await post(op.to, rendered);
        return;
      }
      case "notice": {
        if (!settings.errorChannel) return;
        await post(settings.errorChannel, systemNotice(op.text));
        return;
      }
      case "error": {
        if (!settings.errorChannel) return;
        const loaded = await load(op.requestId);
        if (!loaded) return;
        await post(settings.errorChannel, errorNotice(op.event, loaded.view, loaded.labels));
        return;
      }
    }
  }

  return {
    async deliver(payload, message) {
      try {
        await deliver(payload as unknown as SlackOp);
      } catch (err) {
        // A message that keeps failing (a bug, an answer Slack never gave before) stops holding up its channel.
        if (message.attempts + 1 >= maxAttempts && !(err instanceof DeliveryDeferred)) {
          throw new PermanentDeliveryError(`gave up after ${maxAttempts} attempts: ${messageOf(err)}`, {
            cause: err,
          });
        }
        throw err;
      }
    },
  };
}
