// The slash command: a form, a list of one's requests and access, whoami and help.

import type { App } from "@slack/bolt";
import { flowsFor } from "../../../engine/read/flows.ts";
import { messageOf } from "../../../errors.ts";
import { escapeMrkdwn } from "../blocks/text.ts";
import { overviewOf } from "../inbound.ts";
import { listMessage } from "../render/lists.ts";
import type { SlackInteractions } from "./context.ts";

export function registerCommand(app: App, ctx: SlackInteractions): void {
  const { deps, settings, people, openRequest, respondEphemeral, help } = ctx;
  app.command(settings.command, async ({ command, ack }) => {
    const [verb = "", ...rest] = command.text.trim().split(/\s+/);
    const sub = verb.toLowerCase();
    if (sub === "" || sub === "request" || sub === "req") {
      await ack();
      await openRequest(command.trigger_id, command.user_id, rest[0]);
      return;
    }
    if (sub === "list") {
      await ack();
      try {
        const person = await people.person(command.user_id);
        const m = listMessage(deps.config, await overviewOf(deps, person), settings.command);
        await respondEphemeral(command.response_url, { text: m.text, blocks: m.blocks });
      } catch (err) {
        await respondEphemeral(command.response_url, { text: `:warning: ${messageOf(err)}` });
      }
      return;
    }
    if (sub === "whoami") {
      await ack();
      try {
        const person = await people.person(command.user_id);
        const flows = flowsFor(deps, person, "slack").map((f) => f.label);
        await respondEphemeral(command.response_url, {
          text: `You are *${escapeMrkdwn(person.email)}*, role *${person.role}*.\n${
            flows.length
              ? `You can request: ${flows.map(escapeMrkdwn).join(", ")}.`
              : "You cannot request any flow."
          }`,
        });
      } catch (err) {
        await respondEphemeral(command.response_url, { text: `:warning: ${messageOf(err)}` });
      }
      return;
    }
    await ack({
      response_type: "ephemeral",
      text: `${sub === "help" ? "" : `I don't know "${escapeMrkdwn(verb)}".\n`}${help(settings.command)}`,
    });
  });
}
