// Direct messages to the requester and posts to the error channel, one per event (pure; no I/O).

import type { RequestView } from "../../../engine/read/views.ts";
import { humanDuration } from "../../../lib/duration.ts";
import type { EventInfo } from "../../../store/outbox.ts";
import { context, message, type SlackMessage, section } from "../blocks/build.ts";
import { escapeMrkdwn, slackDate } from "../blocks/text.ts";
import { type Labels, type StepNames, stepLabel, what } from "./request-message.ts";

const who = (email: string): string => (email.startsWith("hook:") ? "a rule" : escapeMrkdwn(email));
const because = (reason: unknown): string =>
  typeof reason === "string" && reason ? `: “${escapeMrkdwn(reason)}”` : ".";

/** The DM for an event, or undefined when it no longer says anything true (a created request already decided). */
export function requesterNotice(
  event: EventInfo,
  view: RequestView,
  labels: Labels,
  requestTimeout: number,
  steps: StepNames = { names: [], indices: [] },
): SlackMessage | undefined {
  const ask = what(view, labels);
  let text: string;
  switch (event.type) {
    case "request.step_started":
      text = `:arrow_forward: Your request for ${ask} was approved by ${who(event.actor)}${because(event.data.reason)} It now waits for ${stepOf(view, steps)}.`;
      break;
    case "request.activation_expired":
      text = `:zzz: Your approved request for ${ask} expired: it did not start within the flow's activation window.`;
      break;
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

/** "step 2 of 2 (manager)", by the names of the steps that apply. */
function stepOf(view: RequestView, steps: StepNames): string {
  const all: string[] = [];
  steps.indices.forEach((i, k) => {
    all[i] = steps.names[k] ?? `step ${k + 1}`;
  });
  return stepLabel(view, all) || "the next step";
}

/** The line added to each approval message's thread, or undefined for events that add nothing. */
export function threadNotice(
  event: EventInfo,
  view: RequestView,
  labels: Labels,
  steps: StepNames,
): SlackMessage | undefined {
  let text: string;
  switch (event.type) {
    case "request.step_started":
      text = `:arrow_forward: Approved by ${who(event.actor)}; now waiting for ${stepOf(view, steps)}.`;
      break;
    case "request.reminded":
      text = `:bell: Reminder: ${escapeMrkdwn(view.requester.email)}'s request for ${what(view, labels)} is still waiting for a decision.`;
      break;
    case "request.approved":
      text = `:white_check_mark: Approved by ${who(event.actor)}${because(event.data.reason)}`;
      break;
    case "request.denied":
      text = `:no_entry: Denied by ${who(event.actor)}${because(event.data.reason)}`;
      break;
    case "request.expired":
      text = ":zzz: Expired: no one decided in time.";
      break;
    case "request.cancelled":
      text = ":heavy_multiplication_x: Cancelled by the requester.";
      break;
    case "request.activation_expired":
      text = ":zzz: Expired: approved, but it did not start within the activation window.";
      break;
    default:
      return undefined;
  }
  return message(text.replace(/\*|:[a-z_]+: /g, ""), [section(text)]);
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
  "approvers.unresolved": "Approvers could not be looked up",
};

/** A system notice for the error channel (drift in a target), already worded. */
export function systemNotice(text: string): SlackMessage {
  return message(text.replace(/\*|:[a-z_]+: /g, ""), [section(text)]);
}

export function errorNotice(event: EventInfo, view: RequestView, labels: Labels): SlackMessage {
  if (event.type === "request.break_glass") return breakGlassNotice(event, view, labels);
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

/** A break-glass request: loud, with who, what and why, for review. */
export function breakGlassNotice(event: EventInfo, view: RequestView, labels: Labels): SlackMessage {
  const reason = String(event.data.reason ?? view.breakGlass ?? "");
  const text = `:rotating_light: *Break-glass*: ${escapeMrkdwn(view.requester.email)} approved their own request for ${what(view, labels)}\n>${escapeMrkdwn(reason)}`;
  return message(`Break-glass: ${view.requester.email} took ${labels.flow} without approval`, [
    section(text),
    context(`Request \`${view.id}\` · review it with \`jitflow review ${view.id}\``),
  ]);
}
