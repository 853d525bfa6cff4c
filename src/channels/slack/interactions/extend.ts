// Extend from Slack: the button that opens a box to choose how much longer, and its submission.

import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import { humanDuration } from "../../../lib/duration.ts";
import { input, modal, option, options, section } from "../blocks/build.ts";
import { escapeMrkdwn } from "../blocks/text.ts";
import type { FormState } from "../form-values.ts";
import { recordInbound } from "../inbound.ts";
import { ids, messageView } from "../render/request-form.ts";
import { actionIds } from "../render/request-message.ts";
import { clickKey, decisionIds, metadataOf, type SlackInteractions } from "./context.ts";

export function registerExtend(app: App, ctx: SlackInteractions): void {
  const { deps, client, visibleTo } = ctx;
  // Extend: a box to choose how much longer, for someone who may see the request. Anyone else, like
  // anyone pressing it for a request that does not exist, gets no box and is told what the engine says.
  app.action<BlockAction<ButtonAction>>(actionIds.extend, async ({ ack, body, action }) => {
    await ack();
    const requestId = action.value ?? "";
    const found = await visibleTo(body.user.id, requestId);
    if (!found) {
      await recordInbound(
        deps,
        {
          op: "look",
          requestId,
          user: body.user.id,
          ...(body.channel?.id ? { channel: body.channel.id } : {}),
        },
        clickKey(body.user.id, "extend", requestId),
      );
      return;
    }
    const { row } = found;
    const flow = deps.config.flows.get(row.flow);
    if (!flow || !body.trigger_id) return;
    const choices = options(flow.config.durations.map((d) => option(humanDuration(d), String(d))));
    await client.views.open({
      trigger_id: body.trigger_id,
      view: modal({
        title: "Extend access",
        callbackId: decisionIds.extend,
        submit: "Extend",
        privateMetadata: JSON.stringify({ requestId: row.id, ifExpiresAt: row.expiresAt }),
        blocks: [
          section(`Extend *${escapeMrkdwn(flow.label)}* by:`),
          input(decisionIds.duration, "Extra time", {
            type: "static_select",
            action_id: ids.value,
            options: choices,
            ...(choices[0] ? { initial_option: choices[0] } : {}),
          }),
        ],
      }),
    });
  });

  app.view(decisionIds.extend, async ({ ack, body, view }) => {
    const meta = metadataOf<{ requestId?: unknown; ifExpiresAt?: unknown }>(view.private_metadata);
    const seconds = Number(
      (view.state.values as FormState)[decisionIds.duration]?.[ids.value]?.selected_option?.value,
    );
    if (typeof meta.requestId !== "string" || !Number.isSafeInteger(seconds) || seconds <= 0) {
      await ack({
        response_action: "update",
        view: messageView("Extend access", ":warning: This form is not one jitflow made."),
      });
      return;
    }
    await recordInbound(
      deps,
      {
        op: "extend",
        requestId: meta.requestId,
        user: body.user.id,
        duration: seconds,
        ...(typeof meta.ifExpiresAt === "number" ? { ifExpiresAt: meta.ifExpiresAt } : {}),
      },
      `extend:${view.id}`,
    );
    await ack();
  });
}
