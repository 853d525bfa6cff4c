// Hook helpers flow modules import from "jitflow": directory lookups (Slack, Okta, PagerDuty), messages
// sent through the outbox (Slack, email), and counting a requester's past events. They use the
// integrations of the running server's config (engine/hook-helpers.ts holds what it gave them).

export type { CountEventsQuery } from "../engine/hook-helpers.ts";

import { helperContext as context } from "../engine/hook-helpers.ts";

const maxText = 3000;

function checkText(what: string, text: unknown, max = maxText): string {
  if (typeof text !== "string" || text.trim() === "") throw new Error(`${what} must be a non-empty string`);
  if (text.length > max) throw new Error(`${what} is longer than ${max} characters`);
  return text;
}

/**
 * Slack, through the running server's bot.
 *
 * @example
 * export async function afterApprove(evt: FlowEvent) {
 *   await slack.sendMessage("#prod-access", `${evt.requester.email} now has ${evt.target?.label}`);
 * }
 */
export const slack = {
  /**
   * Posts `text` (Slack mrkdwn) to a channel ("#name" or an id) or, given an email, to that person
   * directly. Queued in the outbox: it returns once the message is stored, and is delivered with retries.
   */
  async sendMessage(to: string, text: string): Promise<void> {
    const target = checkText("to", to, 320);
    await context().enqueue([
      {
        kind: "slack",
        payload: { op: "text", to: target, text: checkText("text", text) },
        requestId: null,
        orderKey: `slack:hook:${target}`,
      },
    ]);
  },
  /** The emails of a Slack channel's members ("#name" or an id), bots and unconfirmed emails left out. */
  usersInChannel(channel: string): Promise<string[]> {
    return context().directory.slackChannel(checkText("channel", channel, 200));
  },
};

/**
 * Okta groups, through an `okta` integration.
 *
 * @example
 * export async function getApprovers(evt: FlowEvent) {
 *   return okta.usersInGroup("00g1emaKYZTWRYYRRTSK");
 * }
 */
export const okta = {
  /** Whether a person (email or Okta login) is a member of the Okta group (its id). */
  isUserInGroup(user: string, groupId: string, options: { integration?: string } = {}): Promise<boolean> {
    return context().directory.isInOktaGroup(
      options.integration,
      checkText("user", user, 320),
      checkText("groupId", groupId, 200),
    );
  },
  /** The emails of the Okta group's members. */
  usersInGroup(groupId: string, options: { integration?: string } = {}): Promise<string[]> {
    return context().directory.oktaGroup(options.integration, checkText("groupId", groupId, 200));
  },
};

/**
 * PagerDuty on-call schedules, through a `pagerduty` integration.
 *
 * @example
 * export async function onRequest(evt: FlowEvent) {
 *   if (await pagerduty.isOnCall(evt.requester.email, { schedule: "Platform" })) return approve();
 * }
 */
export const pagerduty = {
  /** Whether the person (email) is on call now in the schedule (its id or its name). */
  isOnCall(user: string, options: { schedule: string; integration?: string }): Promise<boolean> {
    return context().directory.isOnCall(
      options.integration,
      checkText("user", user, 320),
      checkText("schedule", options.schedule, 200),
    );
  },
  /** The emails of whoever is on call now in the schedule (its id or its name). */
  onCall(options: { schedule: string; integration?: string }): Promise<string[]> {
    return context().directory.pagerduty(options.integration, checkText("schedule", options.schedule, 200));
  },
};

export interface EmailToSend {
  to: string | string[];
  subject: string;
  text: string;
  html?: string;
}

/**
 * Email, through the configured SMTP server.
 *
 * @example
 * await email.send({ to: "security@example.com", subject: "Break-glass used", text: evt.request.id });
 */
export const email = {
  /** Sends an email through the configured SMTP server, one message per recipient, queued in the outbox. */
  async send(message: EmailToSend): Promise<void> {
    const ctx = context();
    if (!ctx.email) throw new Error("email is not configured: set email in jitflow.config.ts");
    const to = (Array.isArray(message.to) ? message.to : [message.to]).map((t) => checkText("to", t, 320));
    if (to.length === 0 || to.length > 100) throw new Error("email.send needs between 1 and 100 recipients");
    const subject = checkText("subject", message.subject, 300);
    const text = checkText("text", message.text, 100_000);
    const html = message.html === undefined ? undefined : checkText("html", message.html, 200_000);
    await ctx.enqueue(
      to.map((address) => ({
        kind: "email",
        payload: { to: [address], subject, text, ...(html === undefined ? {} : { html }) },
        requestId: null,
      })),
    );
  },
};
