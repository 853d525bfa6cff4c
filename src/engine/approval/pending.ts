// A pending request's place in its policy: the step and clock kept on its row, and the scheduled
// actions (remind, forward to a backup destination, expire) applied to it in a transaction.

import type { FlowConfig } from "../../config/schema.ts";
import { backupSource, storeApprovers } from "../../store/request-approvers.ts";
import { type AccessRequest, getRequest, type RequestUpdate, updateRequest } from "../../store/requests.ts";
import { type ChangeSet, ConflictError } from "../changes.ts";
import { type EngineDeps, inTransaction } from "../deps.ts";
import {
  afterAction,
  type PendingAction,
  type PendingClock,
  type PolicyStep,
  pendingAction,
  pendingDueAt,
  policyOf,
} from "./policy.ts";

/** The steps of a request's flow (a flow removed from the config: one admin step). */
export function policyFor(deps: EngineDeps, row: Pick<AccessRequest, "flow">): PolicyStep[] {
  return deps.config.flows.get(row.flow)?.policy ?? policyOf({} as FlowConfig, false);
}

/** The step a pending request is at. */
export function currentStep(deps: EngineDeps, row: Pick<AccessRequest, "flow" | "step">): PolicyStep {
  const policy = policyFor(deps, row);
  return policy[row.step] ?? (policy[0] as PolicyStep);
}

/** The steps that apply to the request, in order (rows from before steps existed: the first). */
export function applicableOf(row: Pick<AccessRequest, "steps" | "step">): number[] {
  if (row.steps === null) return [row.step];
  return row.steps;
}

export function clockOf(row: AccessRequest): PendingClock {
  return {
    stepStartedAt: row.stepStartedAt ?? row.createdAt,
    destination: row.destination,
    destinationAt: row.destinationAt ?? row.stepStartedAt ?? row.createdAt,
    reminders: row.reminders,
    remindAt: row.remindAt,
    deadlineAt: row.deadlineAt ?? row.dueAt ?? row.createdAt,
  };
}

/** The request's properties for a clock, with dueAt its next instant. */
export function clockColumns(step: PolicyStep, clock: PendingClock): RequestUpdate {
  return {
    stepStartedAt: clock.stepStartedAt,
    destination: clock.destination,
    destinationAt: clock.destinationAt,
    reminders: clock.reminders,
    remindAt: clock.remindAt,
    deadlineAt: clock.deadlineAt,
    dueAt: pendingDueAt(step, clock),
  };
}

const expiryReasons: Record<string, string> = {
  request_timeout: "no one decided in time",
  step_timeout: "the step was not decided in time",
  destinations_exhausted: "no destination decided in time",
};

/** Applies what is due for a pending request (a reminder, forwarding, or expiry); the row is due. */
export async function tickPending(
  deps: EngineDeps,
  changes: ChangeSet,
  row: AccessRequest,
  release: RequestUpdate,
): Promise<AccessRequest> {
  const step = currentStep(deps, row);
  const clock = clockOf(row);
  const action = pendingAction(step, clock, changes.now);
  return applyPendingAction(changes, row, step, clock, action, release);
}

export async function applyPendingAction(
  changes: ChangeSet,
  row: AccessRequest,
  step: PolicyStep,
  clock: PendingClock,
  action: PendingAction,
  release: RequestUpdate = {},
): Promise<AccessRequest> {
  const now = changes.now;
  switch (action.kind) {
    case "expire":
      return changes.apply(
        row,
        "timeout",
        "jitflow",
        { ...release, dueAt: null, remindAt: null },
        { reason: expiryReasons[action.reason], step: step.name },
      );
    case "forward": {
      const destination = step.chain[action.to];
      await storeApprovers(
        changes.trx,
        row.id,
        row.step,
        (destination?.users ?? []).map((email) => ({ email, source: backupSource })),
        now,
      );
      return changes.apply(
        row,
        "forward",
        "jitflow",
        { ...release, ...clockColumns(step, afterAction(step, clock, action, now)) },
        {
          step: step.name,
          destination: action.to,
          channel: destination?.channel ?? null,
          users: destination?.users ?? [],
          reason: action.reason,
        },
      );
    }
    case "remind": {
      const next = afterAction(step, clock, action, now);
      return changes.apply(
        row,
        "remind",
        "jitflow",
        { ...release, ...clockColumns(step, next) },
        {
          step: step.name,
          reminder: next.reminders,
        },
      );
    }
    case "wait": {
      // Woken early (the request's dueAt was older than its clock): set it to the clock's next instant.
      const set = { ...release, due_at: pendingDueAt(step, clock) };
      if (!(await updateRequest(changes.trx, row, set))) throw new ConflictError(row.id);
      return { ...row, ...set, version: row.version + 1 };
    }
  }
}

/**
 * The approval message could not be delivered to the destination the request is at (a channel that
 * does not exist, nobody reachable): forward it to the next one now, or leave it to expire if none.
 */
export async function forwardUndeliverable(deps: EngineDeps, requestId: string, from: number): Promise<void> {
  const saved = await inTransaction(deps, async (changes) => {
    const row = await getRequest(changes.trx, requestId);
    if (row?.state !== "pending" || row.destination !== from) return undefined;
    const step = currentStep(deps, row);
    if (from + 1 >= step.chain.length) return undefined;
    return applyPendingAction(changes, row, step, clockOf(row), {
      kind: "forward",
      to: from + 1,
      reason: "undeliverable",
    });
  });
  if (saved?.dueAt != null) deps.wake(saved.dueAt);
}
