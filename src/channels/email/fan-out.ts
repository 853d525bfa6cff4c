// Email notifications: one outbox message per event becomes one email per person who should hear of it
// (the requester, the approvers the request was sent to, everyone who decided), by their preference.

import { currentStep } from "../../engine/approval/pending.ts";
import type { EngineDeps } from "../../engine/deps.ts";
import type { EmailMessage } from "../../notify/email/mailer.ts";
import { type EmailNotice, renderEmail } from "../../notify/email/render.ts";
import type { EventInfo, Sender } from "../../store/outbox.ts";
import { type EventPlanner, enqueue, type OutboxMessage } from "../../store/outbox.ts";
import { type Channels, defaultPreference, getPreferences } from "../../store/preferences.ts";
import { askedAtStep, everyoneAsked } from "../../store/request-approvers.ts";
import { type AccessRequest, getDecisions, getRequest } from "../../store/requests.ts";

/** Events the requester is emailed about. */
const toRequester = new Set([
  "request.created",
  "request.step_started",
  "request.approved",
  "request.denied",
  "request.expired",
  "request.activation_expired",
  "grant.active",
  "grant.extended",
  "grant.ended",
  "request.failed",
  "grant.missing",
]);

/** Events that ask approvers for a decision: the people of the step (or destination) it went to. */
const asksApprovers = new Set([
  "request.created",
  "request.step_started",
  "request.forwarded",
  "request.reminded",
]);

/** Outcomes every approver who saw the request hears of. */
const outcomes = new Set([
  "request.approved",
  "request.denied",
  "request.expired",
  "request.cancelled",
  "request.activation_expired",
]);

/** Every event the fan-out handles (the change set enqueues only these). */
export const emailedEvents: ReadonlySet<string> = new Set([
  ...toRequester,
  ...asksApprovers,
  ...outcomes,
  "request.break_glass",
]);

/** The outbox message that fans an event out to email, once per event. */
export function fanOutMessage(row: Pick<AccessRequest, "id" | "step">, event: EventInfo): OutboxMessage {
  return {
    kind: "notify",
    // The step the request was at when the event happened: its people are the ones asked.
    payload: { requestId: row.id, step: row.step, event },
    requestId: row.id,
    orderKey: `notify:${row.id}`,
    dedupeKey: `notify:${event.id}`,
  };
}

interface Recipient {
  email: string;
  audience: "requester" | "approver";
  /** Break-glass goes out by email whatever the person chose. */
  always?: boolean;
}

async function recipientsOf(
  deps: EngineDeps,
  row: AccessRequest,
  event: EventInfo,
  atStep: number,
): Promise<Recipient[]> {
  const out: Recipient[] = [];
  if (toRequester.has(event.type) && !(event.type === "request.created" && row.breakGlass !== null)) {
    out.push({ email: row.requester, audience: "requester" });
  }
  const decided = (await getDecisions(deps.store.db, row.id)).map((d) => d.actor);
  const approvers = (emails: Iterable<string>, always = false) => {
    for (const email of emails) {
      if (email === row.requester || email.startsWith("hook:") || !email.includes("@")) continue;
      out.push({ email, audience: "approver", always });
    }
  };
  switch (event.type) {
    case "request.created":
      if (row.breakGlass === null) approvers(await askedAtStep(deps.store.db, row.id, atStep));
      break;
    case "request.step_started": {
      // Someone who approved an earlier step cannot decide this one: they are not asked.
      const done = new Set(decided);
      const next = Array.isArray(event.data.approvers) ? (event.data.approvers as string[]) : [];
      approvers(next.filter((e) => !done.has(e)));
      break;
    }
    case "request.forwarded":
      approvers(Array.isArray(event.data.users) ? (event.data.users as string[]) : []);
      break;
    case "request.reminded": {
      if (row.state !== "pending") break;
      const done = new Set(decided);
      approvers((await askedAtStep(deps.store.db, row.id, row.step)).filter((e) => !done.has(e)));
      break;
    }
    case "request.break_glass": {
      // Loudly: every approver of every step of the flow, and the admins.
      const flow = deps.config.flows.get(row.flow);
      const everyone = new Set<string>(deps.config.config.users.admins);
      for (const step of flow?.policy ?? []) {
        for (const e of step.sources.users) everyone.add(e);
        for (const d of step.chain) for (const e of d.users) everyone.add(e);
      }
      for (const email of await everyoneAsked(deps.store.db, row.id)) everyone.add(email);
      approvers(everyone, true);
      break;
    }
    default:
      if (outcomes.has(event.type)) {
        const saw = await everyoneAsked(deps.store.db, row.id);
        approvers(new Set([...saw, ...decided]));
      }
  }
  const seen = new Set<string>();
  return out.filter((r) => !seen.has(r.email) && seen.add(r.email));
}

function noticeOf(
  deps: EngineDeps,
  row: AccessRequest,
  event: EventInfo,
  audience: Recipient["audience"],
): EmailNotice {
  const flow = deps.config.flows.get(row.flow);
  const target = row.target ? deps.config.targets.get(row.target) : undefined;
  const base = deps.config.config.email?.webUrl ?? deps.config.config.web?.publicUrl;
  const applicable = row.steps === null ? [row.step] : row.steps;
  const step = flow ? currentStep(deps, row) : undefined;
  // The count of approvals belongs to the step they were given in: only an approval that did not finish it.
  const approvals =
    event.type === "request.approval_recorded" &&
    typeof event.data.approvals === "number" &&
    typeof event.data.needed === "number";
  return {
    type: event.type,
    audience,
    request: {
      id: row.id,
      flow: row.flow,
      flowLabel: flow?.label ?? row.flow,
      target: row.target,
      targetLabel: target?.info.label ?? row.target,
      requester: row.requester,
      duration: Number(row.duration),
      state: row.state,
      expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt).toISOString(),
      startAt: row.startAt === null ? null : new Date(row.startAt).toISOString(),
      breakGlass: row.breakGlass,
      fields: row.fields,
    },
    actor: event.actor,
    reason: typeof event.data.reason === "string" ? event.data.reason : null,
    step:
      step && applicable.length > 1
        ? { name: step.name, index: Math.max(0, applicable.indexOf(row.step)) + 1, count: applicable.length }
        : undefined,
    approvals: approvals
      ? { count: Number(event.data.approvals), needed: Number(event.data.needed) }
      : undefined,
    link: base ? `${base.replace(/\/$/, "")}${audience === "approver" ? "/approvals" : "/"}` : undefined,
  };
}

/** The email planner, registered when email is configured: one fan-out message per event someone is emailed about. */
export const emailPlanner: EventPlanner = (events) =>
  events.flatMap(({ request, ...event }) =>
    request !== null && emailedEvents.has(event.type) ? [fanOutMessage(request, event)] : [],
  );

/** Which channels the server has: the default preference follows from them. */
export function channelsOf(deps: Pick<EngineDeps, "config">): Channels {
  return { slack: deps.config.slack !== undefined, email: deps.config.config.email !== undefined };
}

/** Delivers "notify" messages by writing one "email" message per recipient (deduplicated per event and person). */
export function createFanOutSender(deps: EngineDeps): Sender {
  return {
    async deliver(payload) {
      const event = payload.event as EventInfo;
      const row = await getRequest(deps.store.db, String(payload.requestId));
      if (!row || !deps.config.config.email) return;
      const recipients = await recipientsOf(deps, row, event, Number(payload.step ?? row.step));
      const chosen = await getPreferences(
        deps.store.db,
        recipients.map((r) => r.email),
      );
      const fallback = defaultPreference(channelsOf(deps));
      const messages: OutboxMessage[] = [];
      for (const r of recipients) {
        const preference = chosen.get(r.email) ?? fallback;
        if (!r.always && preference === "slack") continue;
        const rendered = renderEmail(noticeOf(deps, row, event, r.audience));
        const email: EmailMessage = { to: [r.email], ...rendered };
        messages.push({
          kind: "email",
          payload: { ...email },
          requestId: row.id,
          dedupeKey: `email:${event.id}:${r.email}`,
        });
      }
      if (messages.length === 0) return;
      const now = deps.clock.now();
      await deps.store.transaction((trx) => enqueue(trx, messages, now));
      deps.notify();
    },
  };
}
