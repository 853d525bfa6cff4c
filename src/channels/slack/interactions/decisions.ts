// Acting on a request from its message: approve and deny (with a note when the flow asks for one), revoke and cancel.

import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import { getRequest } from "../../../store/requests.ts";
import type { FormState } from "../form-values.ts";
import { recordInbound } from "../inbound.ts";
import { ids, messageView } from "../render/request-form.ts";
import { actionIds } from "../render/request-message.ts";
import { clickKey, decisionIds, metadataOf, noteModal, type SlackInteractions } from "./context.ts";

export function registerDecisions(app: App, ctx: SlackInteractions): void {
  const { deps, client, visibleTo } = ctx;
  // Approve and Deny: recorded, then acknowledged; or, when the flow asks for a note, a box for it first.
  // The box is only for someone who may see the request: anyone else's click is recorded as if the flow
  // asked for no note, and the engine refuses it exactly as it refuses a request that does not exist.
  for (const decision of ["approve", "deny"] as const) {
    app.action<BlockAction<ButtonAction>>(actionIds[decision], async ({ ack, body, action }) => {
      const requestId = action.value ?? "";
      const row = await getRequest(deps.store.db, requestId);
      const wantsNote = row && deps.config.flows.get(row.flow)?.config.approvers?.decisionNote;
      if (wantsNote && body.trigger_id && (await visibleTo(body.user.id, requestId))) {
        await ack();
        await client.views.open({
          trigger_id: body.trigger_id,
          view: noteModal(decision, requestId, body.channel?.id),
        });
        return;
      }
      await recordInbound(
        deps,
        {
          op: decision,
          requestId,
          user: body.user.id,
          ...(body.channel?.id ? { channel: body.channel.id } : {}),
        },
        clickKey(body.user.id, decision, requestId),
      );
      await ack();
    });
  }

  for (const op of ["revoke", "cancel"] as const) {
    app.action<BlockAction<ButtonAction>>(actionIds[op], async ({ ack, body, action }) => {
      await recordInbound(
        deps,
        {
          op,
          requestId: action.value ?? "",
          user: body.user.id,
          ...(body.channel?.id ? { channel: body.channel.id } : {}),
        },
        clickKey(body.user.id, op, action.value ?? ""),
      );
      await ack();
    });
  }

  app.view(decisionIds.decide, async ({ ack, body, view }) => {
    const meta = metadataOf<{ decision?: unknown; requestId?: unknown; channel?: unknown }>(
      view.private_metadata,
    );
    if ((meta.decision !== "approve" && meta.decision !== "deny") || typeof meta.requestId !== "string") {
      await ack({
        response_action: "update",
        view: messageView("Decide", ":warning: This form is not one jitflow made."),
      });
      return;
    }
    const note = (view.state.values as FormState)[decisionIds.note]?.[ids.value]?.value ?? undefined;
    await recordInbound(
      deps,
      {
        op: meta.decision,
        requestId: meta.requestId,
        user: body.user.id,
        ...(note ? { reason: note } : {}),
        ...(typeof meta.channel === "string" ? { channel: meta.channel } : {}),
      },
      `decide:${view.id}`,
    );
    await ack();
  });
}
