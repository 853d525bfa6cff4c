// Recording a decision inside a transaction: an approval counted towards the current step (which may begin
// the next one, approve the request and start escalating), or a denial. The commands that decide (approve,
// deny, a hook's answer at submit) all come here; it imports no other command.

import { JitflowError } from "../../errors.ts";
import { approversOf, storeApprovers } from "../../store/request-approvers.ts";
import {
  type AccessRequest,
  type DecisionRow,
  type Executor,
  getDecisions,
  getRequest,
  insertDecision,
} from "../../store/requests.ts";
import { type ResolvedApprover, resolveStep } from "../approval/approvers.ts";
import { applicableOf, clockColumns, clockOf, currentStep, policyFor } from "../approval/pending.ts";
import { neededApprovals, nextStep, type PolicyStep, stepBegins } from "../approval/policy.ts";
import type { ChangeSet, Step } from "../changes.ts";
import type { EngineDeps } from "../deps.ts";
import { flowOf } from "../engine.ts";
import { iso } from "../read/views.ts";
import { applyExtension } from "./extension.ts";

/** The next step's approvers, resolved before the transaction that may begin it (lookups are I/O). */
export interface PreparedStep {
  index: number;
  people: ResolvedApprover[];
  errors: string[];
}

/**
 * Records an approval towards the request's current step. When the step's quorum is met the next
 * step that applies begins; after the last, the request is approved (or, for a hook's decision, at
 * once with `final`) and, for flows with targets, moved to escalating with its expiry written before
 * any target is called, or scheduled for its start time.
 */
export async function approveInTransaction(
  deps: EngineDeps,
  changes: ChangeSet,
  row: AccessRequest,
  actor: string,
  reason: string | null,
  final: boolean,
  prepared?: PreparedStep,
  decided?: readonly DecisionRow[],
): Promise<AccessRequest> {
  const now = changes.now;
  // The decisions before this one, read once (or given by the caller, who read them in this transaction).
  const before = final ? [] : (decided ?? (await getDecisions(changes.trx, row.id)));
  assertDecidedOnce(
    await insertDecision(changes.trx, {
      request_id: row.id,
      actor,
      decision: "approve",
      reason,
      at: now,
      step: row.step,
    }),
    actor,
  );
  if (final) return approveFinally(deps, changes, row, actor, reason, 1);
  const step = currentStep(deps, row);
  const approvals = before.filter((d) => d.decision === "approve" && d.step === row.step).length + 1;
  const needed = await neededFor(deps, changes.trx, row, step, before);
  const stepInfo = { step: step.name, approvals, needed };
  if (approvals < needed) return changes.apply(row, "record_approval", actor, {}, { reason, ...stepInfo });
  const next = nextStep(applicableOf(row), row.step);
  if (next === undefined) return approveFinally(deps, changes, row, actor, reason, approvals, stepInfo);
  const nextPolicy = policyFor(deps, row)[next] as PolicyStep;
  const resolved =
    prepared?.index === next ? prepared : { index: next, people: [], errors: ["not resolved"] };
  await storeApprovers(changes.trx, row.id, next, resolved.people, now);
  const clock = stepBegins(nextPolicy, now, clockOf(row).deadlineAt);
  const advanced = await changes.apply(
    row,
    "advance_step",
    actor,
    { step: next, ...clockColumns(nextPolicy, clock) },
    {
      reason,
      ...stepInfo,
      next: nextPolicy.name,
      approvers: resolved.people.map((p) => p.email),
    },
  );
  for (const error of resolved.errors)
    changes.note(advanced, "approvers.unresolved", "jitflow", { step: nextPolicy.name, error });
  return advanced;
}

/** The approvals the current step needs: "all" counts the people it was sent to (not the requester). */
async function neededFor(
  deps: EngineDeps,
  db: Executor,
  row: AccessRequest,
  step: PolicyStep,
  decisions: readonly DecisionRow[],
): Promise<number> {
  if (step.quorum !== "all") return neededApprovals(step.quorum, 0);
  const selfOk = flowOf(deps, row.flow)?.config.approvers?.allowSelfApproval ?? false;
  // People who decided an earlier step cannot decide this one: "all" does not wait for them.
  const earlier = new Set(decisions.filter((d) => d.step !== row.step).map((d) => d.actor));
  const eligible = (await approversOf(db, row.id, row.step)).filter(
    (e) => (selfOk || e !== row.requester) && !earlier.has(e),
  );
  return neededApprovals("all", eligible.length);
}

/** The last step's quorum is met: the request is approved, and its grant started now or scheduled. */
async function approveFinally(
  deps: EngineDeps,
  changes: ChangeSet,
  row: AccessRequest,
  actor: string,
  reason: string | null,
  approvals: number,
  stepInfo: Record<string, unknown> = {},
): Promise<AccessRequest> {
  const now = changes.now;
  // Approve now, start later: the scheduler starts it at start_at, or expires it when its
  // activationWindow has passed already (approved too late).
  const window = flowOf(deps, row.flow)?.config.activationWindow;
  const start = row.target === null ? null : row.startAt;
  const missed = start !== null && window !== undefined && now > start + window * 1000;
  const later = start !== null && (start > now || missed);
  const steps: Step[] = [
    {
      command: "approve",
      actor,
      changes: { decidedAt: now, dueAt: later ? Math.max(start, now) : null, remindAt: null },
      data: { reason, approvals, ...stepInfo, ...(later ? { startAt: iso(row.startAt) } : {}) },
    },
  ];
  if (row.target !== null && !later) {
    // The expiry is written with the approval, before any target is called.
    const expiresAt = now + Number(row.duration) * 1000;
    steps.push({
      command: "start_escalation",
      actor: "jitflow",
      changes: { expiresAt: expiresAt, grant: { dueAt: now, attempts: 0, lastError: null } },
      data: { expiresAt: new Date(expiresAt).toISOString() },
    });
  }
  if (row.extendsId !== null) {
    // An extension that needed approval: approved, it extends its grant (if the grant still allows it).
    const approved = await changes.applyAll(row, [
      { ...steps[0], changes: { decidedAt: now, dueAt: null, remindAt: null } } as Step,
    ]);
    const parent = await getRequest(changes.trx, row.extendsId);
    try {
      if (!parent) throw new JitflowError("REQUEST_NOT_FOUND", `there is no request ${row.extendsId}`);
      await applyExtension(deps, changes, parent, Number(row.duration), actor, { extension: row.id });
    } catch (err) {
      if (!(err instanceof JitflowError)) throw err;
      changes.note(approved, "extension.refused", "jitflow", { error: err.message, extends: row.extendsId });
    }
    return approved;
  }
  return changes.applyAll(row, steps);
}

/**
 * Resolves the step that would begin if this approval met the current step's quorum, so its lookups
 * (on-call schedules, groups) happen outside the transaction. Undefined when no step would begin.
 */
export async function prepareNextStep(
  deps: EngineDeps,
  row: AccessRequest,
  decisions: DecisionRow[],
): Promise<PreparedStep | undefined> {
  const next = nextStep(applicableOf(row), row.step);
  const flow = flowOf(deps, row.flow);
  if (next === undefined || !flow) return undefined;
  const approvals = decisions.filter((d) => d.decision === "approve" && d.step === row.step).length;
  if (approvals + 1 < (await neededFor(deps, deps.store.db, row, currentStep(deps, row), decisions))) {
    return undefined;
  }
  const resolved = await resolveStep(deps, flow, row, flow.policy[next] as PolicyStep);
  return { index: next, ...resolved };
}

/** Two decisions by one person that raced: the second finds the first's row and is refused. */
function assertDecidedOnce(inserted: boolean, actor: string): void {
  if (!inserted) {
    throw new JitflowError("ALREADY_APPROVED", `${actor} has already decided this request`);
  }
}

export async function denyInTransaction(
  changes: ChangeSet,
  row: AccessRequest,
  actor: string,
  reason: string | null,
): Promise<AccessRequest> {
  assertDecidedOnce(
    await insertDecision(changes.trx, {
      request_id: row.id,
      actor,
      decision: "deny",
      reason,
      at: changes.now,
      step: row.step,
    }),
    actor,
  );
  return changes.apply(
    row,
    "deny",
    actor,
    { decidedAt: changes.now, dueAt: null, remindAt: null },
    { reason },
  );
}
