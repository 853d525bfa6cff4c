// The request lifecycle as one pure function: (state, command) → the next state and the audit event, or a refusal.

import type { RequestState } from "../model/types.ts";

export const states: readonly RequestState[] = [
  "pending",
  "approved",
  "denied",
  "expired",
  "cancelled",
  "escalating",
  "active",
  "deescalating",
  "ended",
  "failed",
];

export const commands = [
  "record_approval", // an approval that does not yet meet the quorum
  "advance_step", // a step met its quorum and the next one begins
  "remind", // the approvers are reminded
  "forward", // the approval message goes on to the next backup destination
  "approve",
  "deny",
  "cancel",
  "timeout", // nobody decided in time
  "start_escalation",
  "escalated",
  "fail", // the target refuses for good, or onEscalate said no: clean up (deescalating), then failed
  "revoke",
  "expire", // the grant's time is up
  "deescalated",
  "extend",
] as const;
export type Command = (typeof commands)[number];

export interface Transition {
  to: RequestState;
  event: string;
}

const table: Record<RequestState, Partial<Record<Command, Transition>>> = {
  pending: {
    record_approval: { to: "pending", event: "request.approval_recorded" },
    advance_step: { to: "pending", event: "request.step_started" },
    remind: { to: "pending", event: "request.reminded" },
    forward: { to: "pending", event: "request.forwarded" },
    approve: { to: "approved", event: "request.approved" },
    deny: { to: "denied", event: "request.denied" },
    cancel: { to: "cancelled", event: "request.cancelled" },
    timeout: { to: "expired", event: "request.expired" },
  },
  approved: {
    start_escalation: { to: "escalating", event: "grant.escalating" },
    // Approved to start later, and not started within the flow's activationWindow.
    timeout: { to: "expired", event: "request.activation_expired" },
    revoke: { to: "deescalating", event: "grant.deescalating" },
  },
  escalating: {
    escalated: { to: "active", event: "grant.active" },
    // A grant that failed is revoked like any other before it is marked failed: the attempt may have
    // half-worked, and another request may be counting on this one (overlapping grants).
    fail: { to: "deescalating", event: "grant.escalation_failed" },
    revoke: { to: "deescalating", event: "grant.deescalating" },
  },
  active: {
    revoke: { to: "deescalating", event: "grant.deescalating" },
    expire: { to: "deescalating", event: "grant.deescalating" },
    extend: { to: "active", event: "grant.extended" },
  },
  deescalating: {
    deescalated: { to: "ended", event: "grant.ended" },
    fail: { to: "failed", event: "request.failed" },
  },
  denied: {},
  expired: {},
  cancelled: {},
  ended: {},
  failed: {},
};

export const terminalStates: ReadonlySet<RequestState> = new Set(
  states.filter((s) => Object.keys(table[s]).length === 0),
);

/** Where a command takes a request in a given state, or undefined when the lifecycle forbids it. */
export function transition(state: RequestState, command: Command): Transition | undefined {
  return table[state][command];
}

/** The order of states along the lifecycle; a transition never moves to an earlier rank. */
export const rank: Record<RequestState, number> = {
  pending: 0,
  approved: 1,
  denied: 1,
  expired: 1,
  cancelled: 1,
  escalating: 2,
  failed: 5,
  active: 3,
  deescalating: 4,
  ended: 5,
};
