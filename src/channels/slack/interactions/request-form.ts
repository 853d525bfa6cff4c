// Asking from Slack: the New request button, the flow picker and the request form's submission.

import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import { prepareSubmission } from "../../../engine/commands/submit.ts";
import { type FlowView, flowsFor } from "../../../engine/read/flows.ts";
import { JitflowError, messageOf } from "../../../errors.ts";
import { uuidv7 } from "../../../store/ids.ts";
import { escapeMrkdwn } from "../blocks/text.ts";
import { type FormState, readForm } from "../form-values.ts";
import { type Inbound, recordInbound } from "../inbound.ts";
import { type FormMetadata, ids, messageView } from "../render/request-form.ts";
import { actionIds } from "../render/request-message.ts";
import { formErrors, metadataOf, type SlackInteractions } from "./context.ts";

export function registerRequestForm(app: App, ctx: SlackInteractions): void {
  const { deps, people, flowsOf, openRequest, formFor, decodeOption } = ctx;
  app.action<BlockAction<ButtonAction>>(actionIds.newRequest, async ({ ack, body }) => {
    await ack();
    if (body.trigger_id) await openRequest(body.trigger_id, body.user.id, undefined);
  });

  app.view(ids.pick, async ({ ack, body, view }) => {
    const picked = (view.state.values as FormState)[ids.flowBlock]?.[ids.value]?.selected_option?.value;
    let flows: FlowView[];
    try {
      flows = (await flowsOf(body.user.id)).flows;
    } catch (err) {
      await ack({
        response_action: "update",
        view: messageView("Request access", `:warning: ${escapeMrkdwn(messageOf(err))}`),
      });
      return;
    }
    const flow = flows.find((f) => f.name === picked);
    if (!flow) {
      await ack({ response_action: "errors", errors: { [ids.flowBlock]: "Choose a flow you may request." } });
      return;
    }
    await ack({ response_action: "update", view: formFor(flow) });
  });

  app.view(ids.request, async ({ ack, body, view }) => {
    let action: Inbound;
    let flow: FlowView | undefined;
    try {
      const flowName = metadataOf<FormMetadata>(view.private_metadata).flow;
      const person = await people.person(body.user.id);
      flow = flowsFor(deps, person, "slack").find((f) => f.name === flowName);
      if (!flow) throw new JitflowError("FLOW_NOT_FOUND", `you cannot request "${flowName}" from Slack`);
      const form = await readForm(flow, view.state.values as FormState, {
        email: async (id, field) => {
          try {
            return (await people.person(id)).email;
          } catch (err) {
            throw new JitflowError("FIELD_INVALID", `could not tell who that is: ${messageOf(err)}`, {
              details: { fields: [{ field, message: `could not tell who that is: ${messageOf(err)}` }] },
            });
          }
        },
        prefetched: async (field, key) => decodeOption(flow?.name ?? "", field, key, person),
      });
      const input = { actor: person, flow: flow.name, ...form, source: "slack" as const };
      prepareSubmission(deps, input);
      action = {
        op: "submit",
        requestId: uuidv7(deps.clock.now()),
        user: body.user.id,
        flow: flow.name,
        ...form,
      };
    } catch (thrown) {
      // Whatever went wrong, the person sees it in the form; an unanswered submit would just close it.
      const err =
        thrown instanceof JitflowError ? thrown : new JitflowError("SLACK_BODY_INVALID", messageOf(thrown));
      if (!(thrown instanceof JitflowError))
        deps.logger.warn({ err: thrown }, "Slack form submission failed");
      const errors = formErrors(err, flow);
      if (errors) {
        await ack({ response_action: "errors", errors });
      } else {
        await ack({
          response_action: "update",
          view: messageView("Request access", `:warning: ${escapeMrkdwn(err.message)}`),
        });
      }
      return;
    }
    // One request per form, however often Submit is pressed.
    await recordInbound(deps, action, `submit:${view.id}`);
    await ack({
      response_action: "update",
      view: messageView(
        "Request sent",
        ":outbox_tray: Your request was sent. I'll message you when it is decided.",
      ),
    });
  });
}
