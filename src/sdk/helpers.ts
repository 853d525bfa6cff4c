// Hook helpers flow modules import from "jitflow": directory lookups (Slack, Okta, PagerDuty), messages
// sent through the outbox (Slack, email), and counting a requester's past events. They use the
// integrations of the running server's config.

import type { Directory } from "../helpers/directory.ts";
import { parseDuration } from "../lib/duration.ts";
import type { OutboxMessage } from "../store/outbox.ts";

export interface CountEventsQuery {
  /** An audit event type, such as "request.created", "request.approved" or "grant.active". */
  type: string;
  /** From when: a Date, an ISO 8601 time, or a duration back from now ("30d", "12h"). */
  since: Date | string;
  /** Only events of requests of this flow. */
  flow?: string;
  /** Only events of requests of this target. */
  target?: string;
}

/** What the running server gives the helpers. */
export interface HelperContext {
  directory: Directory;
  /** Writes messages to the outbox, in their own transaction; they are delivered with retries. */
  enqueue(messages: OutboxMessage[]): Promise<void>;
  /** Whether email is configured. */
  email: boolean;
  /** Events of the requests of `requester` matching the query, from `since` (epoch ms). */
  countEvents(requester: string, query: Omit<CountEventsQuery, "since">, since: number): Promise<number>;
  now(): number;
}

let current: HelperContext | undefined;

/** Called by the server when it starts; returns the function that removes the helpers again. */
export function installHelpers(context: HelperContext): () => void {
  current = context;
  return () => {
    if (current === context) current = undefined;
  };
}

function context(): HelperContext {
  if (!current) throw new Error("jitflow's hook helpers work only inside a running jitflow server");
  return current;
}

const maxText = 3000;

function checkText(what: string, text: unknown, max = maxText): string {
  if (typeof text !== "string" || text.trim() === "") throw new Error(`${what} must be a non-empty string`);
  if (text.length > max) throw new Error(`${what} is longer than ${max} characters`);
  return text;
}

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

/** The epoch milliseconds a `since` stands for. */
export function sinceOf(since: Date | string, now: number): number {
  if (since instanceof Date && Number.isFinite(since.getTime())) return since.getTime();
  if (typeof since === "string") {
    const back = parseDuration(since);
    if (back !== undefined) return now - back * 1000;
    const at = Date.parse(since);
    if (/^\d{4}-\d{2}-\d{2}/.test(since) && Number.isFinite(at)) return at;
  }
  throw new Error(
    `since must be a Date, an ISO 8601 time or a duration such as "30d"; got ${JSON.stringify(String(since))}`,
  );
}

/** `evt.requester.countEvents`: how many events of this type the requester's requests had since then. */
export function countEventsOf(requester: string): (query: CountEventsQuery) => Promise<number> {
  return async (query) => {
    const ctx = context();
    checkText("type", query.type, 100);
    return ctx.countEvents(requester, query, sinceOf(query.since, ctx.now()));
  };
}
