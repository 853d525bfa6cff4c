// A flow's approval policy as pure rules: its steps, their quorums, and what a pending request's clock
// calls for next (a reminder, forwarding to a backup destination, expiry). No I/O; tested as tables.

import type { DestinationConfig, FlowConfig, StepCondition, StepConfig } from "../../config/schema.ts";

export type Quorum = "any" | "all" | number;
export type TimeoutAction = "remind" | "escalate" | "expire";

/** Where a step's approvers come from; resolved to people when the step begins. */
export interface StepSources {
  users: string[];
  admins: boolean;
  slackChannel?: string | undefined;
  oktaGroup?: { integration: string; group: string } | undefined;
  pagerduty?: { integration: string; schedule: string } | undefined;
  getApprovers: boolean;
}

export interface PolicyStep {
  index: number;
  name: string;
  sources: StepSources;
  quorum: Quorum;
  when?: StepCondition | undefined;
  /** Where the approval message is posted; absent: the approvers are told directly. */
  channel?: string | undefined;
  /** Seconds. */
  timeout?: number | undefined;
  onTimeout: TimeoutAction;
  /** Where the approval message goes, in turn (never empty: the step itself is the first). */
  chain: DestinationConfig[];
  reminders?: { after: number; backoff: number; max: number } | undefined;
}

/** The flow's steps: `approvers.steps`, or the single-step form (`users`, `minApprovals`) as one step. */
export function policyOf(flow: FlowConfig, hasGetApprovers: boolean): PolicyStep[] {
  const a = flow.approvers;
  if (a?.steps) return a.steps.map((s, i) => fromStepConfig(s, i, a.channel));
  const users = a?.users ?? [];
  return [
    {
      index: 0,
      name: "approval",
      sources: {
        users,
        // With nobody named, the admins are the approvers (and are told).
        admins: users.length === 0 && !hasGetApprovers,
        getApprovers: hasGetApprovers,
      },
      quorum: a?.minApprovals ?? 1,
      channel: a?.channel,
      onTimeout: "expire",
      chain: chainOf(a?.destinations ?? [], a?.channel),
      reminders: a?.reminders,
    },
  ];
}

function fromStepConfig(s: StepConfig, index: number, flowChannel: string | undefined): PolicyStep {
  const channel = s.channel ?? flowChannel;
  return {
    index,
    name: s.name ?? `step ${index + 1}`,
    sources: {
      users: s.users,
      admins: s.admins,
      slackChannel: s.slackChannel,
      oktaGroup: s.oktaGroup,
      pagerduty: s.pagerduty,
      getApprovers: s.getApprovers,
    },
    quorum: s.quorum,
    when: s.when,
    channel,
    timeout: s.timeout,
    onTimeout: s.onTimeout,
    chain: chainOf(s.destinations, channel),
    reminders: s.reminders,
  };
}

/** The destinations in turn; without any, the step's own channel (or its approvers directly), with no timeout of its own. */
function chainOf(destinations: DestinationConfig[], channel: string | undefined): DestinationConfig[] {
  return destinations.length > 0 ? destinations : [{ channel, users: [], timeout: undefined }];
}

/** Approvals a step needs, given how many eligible people it was sent to. */
export function neededApprovals(quorum: Quorum, eligible: number): number {
  if (quorum === "any") return 1;
  if (quorum === "all") return Math.max(1, eligible);
  return quorum;
}

/** The step after `current` among those that apply, or undefined when `current` is the last. */
export function nextStep(applicable: readonly number[], current: number): number | undefined {
  return applicable.find((i) => i > current);
}

/** Where a pending request stands in its current step. Instants are epoch milliseconds. */
export interface PendingClock {
  stepStartedAt: number;
  /** Index into the step's chain of destinations. */
  destination: number;
  destinationAt: number;
  reminders: number;
  remindAt: number | null;
  /** requestTimeout: the request expires then whatever else happens. */
  deadlineAt: number;
}

/** The clock of a step that begins now. */
export function stepBegins(step: PolicyStep, now: number, deadlineAt: number): PendingClock {
  return {
    stepStartedAt: now,
    destination: 0,
    destinationAt: now,
    reminders: 0,
    remindAt: firstReminder(step, now),
    deadlineAt,
  };
}

/** With onTimeout "remind" the first reminder is at the step's timeout; otherwise `reminders.after` in. */
function firstReminder(step: PolicyStep, startedAt: number): number | null {
  if (step.onTimeout === "remind" && step.timeout !== undefined) return startedAt + step.timeout * 1000;
  return step.reminders ? startedAt + step.reminders.after * 1000 : null;
}

/** When the next reminder is due after one was just sent (`sent` reminders so far), or null for none. */
export function reminderAfter(step: PolicyStep, sent: number, now: number): number | null {
  const r = step.reminders;
  if (!r || sent >= r.max) return null;
  return now + Math.round(r.after * 1000 * r.backoff ** sent);
}

/** The instant the step itself times out, when its onTimeout is not a reminder (reminders have remindAt). */
function stepTimeoutAt(step: PolicyStep, clock: PendingClock): number | undefined {
  if (step.timeout === undefined || step.onTimeout === "remind") return undefined;
  // Escalating moves to the next destination once; after that the destinations' own timeouts rule.
  if (step.onTimeout === "escalate" && clock.destination > 0) return undefined;
  return clock.stepStartedAt + step.timeout * 1000;
}

function destinationTimeoutAt(step: PolicyStep, clock: PendingClock): number | undefined {
  const timeout = step.chain[clock.destination]?.timeout;
  return timeout === undefined ? undefined : clock.destinationAt + timeout * 1000;
}

/** The next instant something happens to this pending request if no one decides. */
export function pendingDueAt(step: PolicyStep, clock: PendingClock): number {
  const at = [clock.deadlineAt, stepTimeoutAt(step, clock), destinationTimeoutAt(step, clock)];
  if (clock.remindAt !== null) at.push(clock.remindAt);
  return Math.min(...at.filter((t): t is number => t !== undefined));
}

export type PendingAction =
  | { kind: "expire"; reason: "request_timeout" | "step_timeout" | "destinations_exhausted" }
  | { kind: "forward"; to: number; reason: "timeout" | "escalate" | "undeliverable" }
  | { kind: "remind" }
  | { kind: "wait" };

/** What is due now for a pending request: one action at a time, the most final first. */
export function pendingAction(step: PolicyStep, clock: PendingClock, now: number): PendingAction {
  if (now >= clock.deadlineAt) return { kind: "expire", reason: "request_timeout" };
  const stepAt = stepTimeoutAt(step, clock);
  if (stepAt !== undefined && now >= stepAt) {
    if (step.onTimeout === "expire") return { kind: "expire", reason: "step_timeout" };
    if (clock.destination + 1 < step.chain.length) {
      return { kind: "forward", to: clock.destination + 1, reason: "escalate" };
    }
    return { kind: "expire", reason: "destinations_exhausted" };
  }
  const destinationAt = destinationTimeoutAt(step, clock);
  if (destinationAt !== undefined && now >= destinationAt) {
    if (clock.destination + 1 < step.chain.length) {
      return { kind: "forward", to: clock.destination + 1, reason: "timeout" };
    }
    return { kind: "expire", reason: "destinations_exhausted" };
  }
  if (clock.remindAt !== null && now >= clock.remindAt) return { kind: "remind" };
  return { kind: "wait" };
}

/** The clock after an action was taken. */
export function afterAction(
  step: PolicyStep,
  clock: PendingClock,
  action: PendingAction,
  now: number,
): PendingClock {
  if (action.kind === "forward") return { ...clock, destination: action.to, destinationAt: now };
  if (action.kind === "remind") {
    const sent = clock.reminders + 1;
    return { ...clock, reminders: sent, remindAt: reminderAfter(step, sent, now) };
  }
  return clock;
}
