// Audit events in words: "Approved by bob@example.com", "Access granted until 14:35".

import { formatDateTime, formatDuration } from "./format.ts";
import type { AuditEvent } from "./types.ts";

/** The event types the server records (docs/api.md#audit-events), for filters. */
export const eventTypes = [
  "request.created",
  "request.approval_recorded",
  "request.approved",
  "request.denied",
  "request.cancelled",
  "request.expired",
  "grant.escalating",
  "grant.retrying",
  "grant.active",
  "grant.extended",
  "grant.deescalating",
  "grant.ended",
  "grant.escalation_failed",
  "request.failed",
  "hook.failed",
] as const;

/** "alice@example.com", "the onRequest rule", "jitflow". */
export function actorText(actor: string): string {
  if (actor.startsWith("hook:")) return `the ${actor.slice(5)} hook`;
  return actor;
}

const str = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;
const num = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined);
const until = (value: unknown): string => {
  const at = str(value);
  return at ? ` until ${formatDateTime(at)}` : "";
};

/** One sentence saying what happened. */
export function describeEvent(event: AuditEvent): string {
  const by = actorText(event.actor);
  const d = event.data;
  switch (event.type) {
    case "request.created": {
      const duration = num(d.duration);
      const forWhom = str(d.submittedBy) ? ` by ${str(d.submittedBy)} for ${by}` : ` by ${by}`;
      return `Requested${forWhom}${duration ? ` for ${formatDuration(duration)}` : ""}`;
    }
    case "request.approval_recorded": {
      const count = num(d.approvals);
      const needed = num(d.needed);
      return `Approved by ${by}${count && needed ? ` (${count} of ${needed} approvals)` : ""}`;
    }
    case "request.approved":
      return `Approved by ${by}`;
    case "request.denied":
      return `Denied by ${by}`;
    case "request.cancelled":
      return `Cancelled by ${by}`;
    case "request.expired":
      return "Expired: nobody decided in time";
    case "grant.escalating":
      return "Granting access";
    case "grant.retrying":
      return `The target failed ${num(d.attempts) ?? "several"} times; retrying`;
    case "grant.active":
      return `Access granted${until(d.expiresAt)}`;
    case "grant.extended": {
      const by_ = num(d.by);
      return `Extended${by_ ? ` by ${formatDuration(by_)}` : ""}${until(d.expiresAt)} by ${by}`;
    }
    case "grant.deescalating":
      return event.actor === "jitflow" ? "Time is up: removing access" : `Revoked by ${by}: removing access`;
    case "grant.ended": {
      const reason = str(d.endedReason);
      return `Access removed${reason ? ` (${reason})` : ""}`;
    }
    case "grant.escalation_failed":
      return "Granting failed";
    case "request.failed":
      return "Failed; whatever was granted has been removed";
    case "hook.failed":
      return "A hook failed";
    default:
      return event.type;
  }
}

/** The reason, note or error an event carries, if any. */
export function eventNote(event: AuditEvent): string | undefined {
  return str(event.data.reason) ?? str(event.data.error);
}
