// A pending request's place in its policy: the step and clock kept on its row, and the scheduled
// actions (remind, forward to a backup destination, expire) applied to it in a transaction.

import type { FlowConfig } from "../../config/schema.ts";
import { backupSource, storeApprovers } from "../../store/request-approvers.ts";
import { getRequest, type RequestColumns, type RequestRow, updateRequest } from "../../store/requests.ts";
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
export function policyFor(deps: EngineDeps, row: Pick<RequestRow, "flow">): PolicyStep[] {
  return deps.config.flows.get(row.flow)?.policy ?? policyOf({} as FlowConfig, false);
}

/** The step a pending request is at. */
export function currentStep(deps: EngineDeps, row: Pick<RequestRow, "flow" | "step">): PolicyStep {
  const policy = policyFor(deps, row);
  return policy[row.step] ?? (policy[0] as PolicyStep);
}

/** The steps that apply to the request, in order (rows from before steps existed: the first). */
export function applicableOf(row: Pick<RequestRow, "steps" | "step">): number[] {
  if (row.steps === null) return [row.step];
  return JSON.parse(row.steps) as number[];
}

export function clockOf(row: RequestRow): PendingClock {
  return {
    stepStartedAt: row.step_started_at ?? row.created_at,
    destination: row.destination,
    destinationAt: row.destination_at ?? row.step_started_at ?? row.created_at,
    reminders: row.reminders,
    remindAt: row.remind_at,
    deadlineAt: row.deadline_at ?? row.due_at ?? row.created_at,
  };
}

/** The row's columns for a clock, with due_at its next instant. */
export function clockColumns(step: PolicyStep, clock: PendingClock): RequestColumns {
  return {
    step_started_at: clock.stepStartedAt,
    destination: clock.destination,
    destination_at: clock.destinationAt,
    reminders: clock.reminders,
    remind_at: clock.remindAt,
    deadline_at: clock.deadlineAt,
    due_at: pendingDueAt(step, clock),
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
  row: RequestRow,
  release: RequestColumns,
): Promise<RequestRow> {
  const step = currentStep(deps, row);
  const clock = clockOf(row);
  const action = pendingAction(step, clock, changes.now);
  return applyPendingAction(changes, row, step, clock, action, release);
}

export async function applyPendingAction(
  changes: ChangeSet,
  row: RequestRow,
  step: PolicyStep,
  clock: PendingClock,
  action: PendingAction,
  release: RequestColumns = {},
): Promise<RequestRow> {
  const now = changes.now;
  switch (action.kind) {
    case "expire":
      return changes.apply(
        row,
        "timeout",
        "jitflow",
        { ...release, due_at: null, remind_at: null },
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
      // Woken early (the row's due_at was older than its clock): set it to the clock's next instant.
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
  if (saved?.due_at != null) deps.wake(saved.due_at);
}
