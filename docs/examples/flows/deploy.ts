// Hooks of the "deploy" flow (docs/hooks.md): decide by rule, block mistakes, and make approvers say why.
import { approve, deny, type FlowEvent, ignore } from "jitflow";

/** The deploy flow's event, with its fields typed as the config declares them. */
type Deploy = FlowEvent<{ reason: string; urgency: "Normal" | "Emergency"; ticket?: string }>;

/** Only CI (a bot token) may ask on someone else's behalf; admins ask for themselves. */
export async function onPrompt(evt: Deploy) {
  if (evt.actor.email !== evt.requester.email && evt.actor.role !== "bot") {
    return ignore({ message: "only CI may request deploy access for someone else" });
  }
  return undefined;
}

/** CI gets short windows; emergencies go through at once; everything else needs a ticket and an approver. */
export async function onRequest(evt: Deploy) {
  if (evt.actor.role === "bot" && evt.duration > 3600) {
    return deny({ reason: "CI jobs get at most 1h of deploy access" });
  }
  if (evt.fields.urgency === "Emergency") {
    return approve({ reason: "emergency: approved by rule, reviewed afterwards" });
  }
  if (!evt.fields.ticket) {
    return ignore({ message: "add a change ticket (--field ticket=CHG-123) or set urgency=Emergency" });
  }
  return undefined; // wait for an approver
}

/** Approving more than an hour of deploy access needs a reason the requester can read. */
export async function onApprove(evt: Deploy) {
  if (evt.duration > 3600 && !evt.reason) {
    return ignore({ message: "approving more than 1h of deploy access needs a reason (--reason)" });
  }
  return undefined;
}

/** A denial must say why. */
export async function onDeny(evt: Deploy) {
  if (!evt.reason) return ignore({ message: "say why you deny (--reason): the requester sees it" });
  return undefined;
}
