// Direct messages to the requester and posts to the error channel, one per event (pure; no I/O).

import type { RequestView } from "../../../engine/views.ts";
import type { SlackEventInfo } from "../../../notify/slack-messages.ts";
import { context, message, type SlackMessage, section } from "../blocks/build.ts";
import { escapeMrkdwn, humanDuration, slackDate } from "../blocks/text.ts";
import { type Labels, what } from "./request-message.ts";

const who = (email: string): string => (email.startsWith("hook:") ? "a rule" : escapeMrkdwn(email));
const because = (reason: unknown): string =>
  typeof reason === "string" && reason ? `: “${escapeMrkdwn(reason)}”` : ".";

/** The DM for an event, or undefined when it no longer says anything true (a created request already decided). */
export function requesterNotice(
  event: SlackEventInfo,
  view: RequestView,
  labels: Labels,
  requestTimeout: number,
): SlackMessage | undefined {
  const ask = what(view, labels);
  let text: string;
  switch (event.type) {
    case "request.created":
      if (view.state !== "pending") return undefined;
      text = `:outbox_tray: You asked for ${ask}. It is waiting for approval; I'll tell you when it is decided.`;
      break;
    case "request.approved":
      text = `:white_check_mark: Your request for ${ask} was approved by ${who(event.actor)}${because(event.data.reason)}`;
      break;
    case "request.denied":
      text = `:no_entry: Your request for ${ask} was denied by ${who(event.actor)}${because(event.data.reason)}`;
      break;
    case "request.expired":
      text = `:zzz: Your request for ${ask} expired: no one decided within ${humanDuration(requestTimeout)}.`;
      break;
    case "grant.active":
      text = `:large_green_circle: You now have ${ask.replace(/ for \*[^*]+\*$/, "")} until ${slackDate(Date.parse(String(event.data.expiresAt ?? view.expiresAt)))}.`;
      if (typeof event.data.login === "string") {
        // The password never goes through Slack: the requester reads it from jitflow, signed in.
        text += ` Your temporary login is \`${escapeMrkdwn(event.data.login)}\`; its password is shown by \`jitflow credentials ${view.id}\`.`;
      }
      break;
    case "grant.extended":
      text = `:arrows_counterclockwise: Your access to ${ask.replace(/ for \*[^*]+\*$/, "")} was extended until ${slackDate(Date.parse(view.expiresAt ?? view.updatedAt))}.`;
      break;
    case "grant.ended": {
      const how = view.endedReason === "revoked" ? "it was revoked" : "its time was up";
      text = `:white_circle: Your access to ${ask.replace(/ for \*[^*]+\*$/, "")} has ended: ${how}.`;
      break;
    }
    case "grant.missing":
      text = `:grey_question: Your access to ${ask.replace(/ for \*[^*]+\*$/, "")} is gone: someone removed it in the target by hand. jitflow's grant runs until ${slackDate(Date.parse(view.expiresAt ?? view.updatedAt))} all the same; ask again if you need the access back.`;
      break;
    case "request.failed":
      text = `:x: Your request for ${ask} failed: ${escapeMrkdwn(String(event.data.error ?? view.error ?? "the target refused"))}.`;
      break;
    default:
      return undefined;
  }
  return message(text.replace(/\*|:[a-z_]+: /g, ""), [section(text), context(`Request \`${view.id}\``)]);
}

export function expiringNotice(
  view: RequestView,
  labels: Labels,
  nowMs: number,
  command: string,
): SlackMessage {
  const left = Math.max(0, Math.round((Date.parse(view.expiresAt ?? "") - nowMs) / 1000));
  const text = `:alarm_clock: Your access to ${what({ ...view, duration: 0 }, labels)} ends ${slackDate(Date.parse(view.expiresAt ?? ""))} (in ${humanDuration(left)}). Use \`${command} list\` to extend it.`;
  return message(`Your access to ${labels.flow} ends in ${humanDuration(left)}`, [
    section(text),
    context(`Request \`${view.id}\``),
  ]);
}

const errorTitles: Record<string, string> = {
  "hook.failed": "A hook failed",
  "grant.retrying": "A target keeps refusing",
  "grant.escalation_failed": "Granting access failed",
  "request.failed": "A request failed",
  "slack.undeliverable": "Approvers could not be told",
  "grant.missing": "Access removed by hand",
};

/** A system notice for the error channel (drift in a target), already worded. */
export function systemNotice(text: string): SlackMessage {
  return message(text.replace(/\*|:[a-z_]+: /g, ""), [section(text)]);
}

export function errorNotice(event: SlackEventInfo, view: RequestView, labels: Labels): SlackMessage {
  const error = String(event.data.error ?? view.error ?? "unknown error");
  const title = errorTitles[event.type] ?? event.type;
  const attempts =
    typeof event.data.attempts === "number"
      ? ` (${event.data.attempts} attempts so far; still retrying)`
      : "";
  const text = `:warning: *${title}*${attempts} in flow *${escapeMrkdwn(labels.flow)}* for ${escapeMrkdwn(view.requester.email)}\n\`\`\`${escapeMrkdwn(error)}\`\`\``;
  return message(`${title}: ${escapeMrkdwn(error)}`, [
    section(text),
    context(`Request \`${view.id}\` · ${event.type}`),
  ]);
}
