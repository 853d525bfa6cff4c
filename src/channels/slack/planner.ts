// Which Slack messages an audit event causes: pure, so the rules read as a table and are tested as one; and
// the planner the server registers when Slack is on, which applies them to each transaction's events.

import type { LoadedConfig } from "../../engine/load-config.ts";
import type { EventInfo, EventPlanner, OutboxMessage } from "../../store/outbox.ts";
import type { AccessRequest } from "../../store/requests.ts";
import { escapeMrkdwn } from "./blocks/text.ts";

/** What the Slack sender is asked to do; rendered from the request as it is when the message goes out. */
export type SlackOp =
  | { op: "approval.post"; requestId: string }
  | { op: "approval.update"; requestId: string }
  /** A line in the thread of each approval message: what became of the request, or a reminder. */
  | { op: "approval.reply"; requestId: string; event: EventInfo }
  | { op: "dm"; requestId: string; to: string; event: EventInfo }
  | { op: "expiring"; requestId: string; to: string; expiresAt: number }
  | { op: "error"; requestId: string; event: EventInfo }
  /** Plain text for the error channel, about no single request (drift in a target). */
  | { op: "notice"; text: string }
  /** A hook's slack.sendMessage: a channel ("#name" or an id) or a person (email). */
  | { op: "text"; to: string; text: string };

/** Events that change what the approval message shows. */
const updatesApproval = new Set([
  "request.approval_recorded",
  "request.step_started",
  "request.forwarded",
  "request.activation_expired",
  "request.approved",
  "request.denied",
  "request.expired",
  "request.cancelled",
  "grant.escalating",
  "grant.active",
  "grant.extended",
  "grant.deescalating",
  "grant.ended",
  "grant.escalation_failed",
  "request.failed",
]);

/** Events told in the thread of the approval messages, so everyone who saw the request hears of them. */
export const toldInThread = new Set([
  "request.step_started",
  "request.reminded",
  "request.approved",
  "request.denied",
  "request.expired",
  "request.cancelled",
  "request.activation_expired",
]);

/** Events the requester hears about in a direct message. */
export const toldToRequester = new Set([
  "request.created",
  "request.step_started",
  "request.activation_expired",
  "request.approved",
  "request.denied",
  "request.expired",
  "grant.active",
  "grant.extended",
  "grant.ended",
  // A failed grant says so once, when it is over (grant.escalation_failed goes to the error channel).
  "request.failed",
  // Drift detection found the access gone from the target: someone removed it by hand.
  "grant.missing",
]);

/** Events posted to slack.errorChannel. */
export const toldToErrorChannel = new Set([
  "hook.failed",
  "request.break_glass",
  "approvers.unresolved",
  "grant.retrying",
  "grant.escalation_failed",
  "request.failed",
  "grant.missing",
]);

/** The order key of a request's approval messages: its channel's when it has one, so a channel's posts stay in order. */
export function approvalOrderKey(config: LoadedConfig, row: Pick<AccessRequest, "id" | "flow">): string {
  const flow = config.flows.get(row.flow);
  // A flow whose messages go to several channels (steps, backup destinations) orders them per request.
  const channels = new Set(flow?.policy.flatMap((s) => s.chain.map((d) => d.channel)));
  const [channel] = channels;
  return channels.size === 1 && channel ? `slack:channel:${channel}` : `slack:request:${row.id}`;
}

export function slackMessagesFor(
  config: LoadedConfig,
  row: AccessRequest,
  event: EventInfo,
): OutboxMessage[] {
  const settings = config.slack;
  if (!settings) return [];
  const out: OutboxMessage[] = [];
  const message = (op: SlackOp, orderKey: string | undefined, dueAt?: number): OutboxMessage => ({
    kind: "slack",
    payload: op,
    requestId: row.id,
    orderKey,
    dueAt,
  });
  const approvalKey = approvalOrderKey(config, row);
  if (event.type === "request.created") {
    out.push(message({ op: "approval.post", requestId: row.id }, approvalKey));
  } else if (updatesApproval.has(event.type)) {
    out.push(message({ op: "approval.update", requestId: row.id }, approvalKey));
  }
  if (toldInThread.has(event.type)) {
    out.push(message({ op: "approval.reply", requestId: row.id, event }, approvalKey));
  }
  if (toldToRequester.has(event.type)) {
    out.push(message({ op: "dm", requestId: row.id, to: row.requester, event }, `slack:dm:${row.requester}`));
  }
  if (
    (event.type === "grant.active" || event.type === "grant.extended") &&
    settings.expiryWarning > 0 &&
    row.expiresAt !== null
  ) {
    const at = row.expiresAt - settings.expiryWarning * 1000;
    // A grant shorter than the warning is not warned about: the "active" message already says when it ends.
    if (at > event.at) {
      out.push(
        message(
          { op: "expiring", requestId: row.id, to: row.requester, expiresAt: row.expiresAt },
          undefined,
          at,
        ),
      );
    }
  }
  if (settings.errorChannel && toldToErrorChannel.has(event.type)) {
    out.push(message({ op: "error", requestId: row.id, event }, "slack:errors"));
  }
  return out;
}

/**
 * The Slack planner: each request event's messages, but one approval post or update per request per
 * transaction (the approval message shows the request as it is when it goes out, so one says everything
 * the transaction changed), and drift found in a target as a notice in the error channel.
 */
export function slackPlanner(config: LoadedConfig): EventPlanner {
  return (events) => {
    const out: OutboxMessage[] = [];
    const approvalTouched = new Set<string>();
    for (const event of events) {
      if (event.request === null) {
        const notice = driftNotice(config, event);
        const channel = config.slack?.errorChannel;
        if (notice && channel) {
          const op: SlackOp = { op: "notice", text: notice };
          out.push({ kind: "slack", payload: op, requestId: null, orderKey: `slack:channel:${channel}` });
        }
        continue;
      }
      const { request, ...info } = event;
      for (const m of slackMessagesFor(config, request, info)) {
        const op = (m.payload as SlackOp).op;
        if (op === "approval.post" || op === "approval.update") {
          if (approvalTouched.has(request.id)) continue;
          approvalTouched.add(request.id);
        }
        out.push(m);
      }
    }
    return out;
  };
}

/** The error channel's words for access found in a target that jitflow did not grant, or that outlived its grant. */
export function driftNotice(config: LoadedConfig, event: EventInfo): string | undefined {
  if (event.type !== "drift.outlived" && event.type !== "drift.unmanaged") return undefined;
  const data = event.data as {
    target: string;
    identity: string;
    scope?: Record<string, unknown>;
    revoked?: boolean;
    revokeError?: string;
  };
  // Names from the target and the request (a role, a DN, a repository) are escaped: Slack must not read
  // "<!channel>" in a role name as a mention.
  const label = escapeMrkdwn(config.targets.get(data.target)?.info.label ?? data.target);
  const identity = escapeMrkdwn(data.identity);
  const failed = data.revokeError === undefined ? undefined : escapeMrkdwn(data.revokeError);
  const acted = data.revoked === true || failed !== undefined;
  const where = data.scope
    ? ` (${Object.entries(data.scope)
        .map(([k, v]) => `${escapeMrkdwn(k)} ${escapeMrkdwn(String(v))}`)
        .join(", ")})`
    : "";
  return event.type === "drift.outlived"
    ? `:rotating_light: *Access outlived its grant* in *${label}*${where}: \`${identity}\` still had it after the grant ended; ${failed ? `taking it away failed: ${failed}` : "it has been taken away"}.`
    : `:rotating_light: *Access jitflow did not grant* in *${label}*${where}: \`${identity}\`${acted ? (failed ? `; taking it away failed: ${failed}` : "; it has been taken away (drift mode revoke)") : ". Add it to drift.standing if it is meant to be there, or remove it."}`;
}
