// The approve and deny commands: policy checks, onApprove/onDeny hooks, quorum counting, and the start of escalation.

import { JitflowError } from "../errors.ts";
import type { Person } from "../sdk/types.ts";
import { getDecisions, type RequestRow } from "../store/requests.ts";
import { type ChangeSet, invalidTransition, type Step } from "./changes.ts";
import {
  decidersOf,
  type EngineDeps,
  flowOf,
  inTransaction,
  loadWithDecisions,
  mustGetRequest,
  reportAfterHook,
} from "./engine.ts";
import { runAfterHook, runOnHook } from "./hooks.ts";
import { assertGuestMayAct, assertMayDecide } from "./policy.ts";
import { type RequestView, toEvent, toView } from "./views.ts";

export interface DecideInput {
  id: string;
  actor: Person;
  reason?: string | undefined;
}

/**
 * Records an approval; when the quorum is met (or `final`, for a hook's decision) the request is approved
 * and, for flows with targets, moved to escalating with its expiry written before any target is called.
 */
export async function approveInTransaction(
  deps: EngineDeps,
  changes: ChangeSet,
  row: RequestRow,
  actor: string,
  reason: string | null,
  final: boolean,
): Promise<RequestRow> {
  const now = changes.now;
  await changes.trx
    .insertInto("decisions")
    .values({ request_id: row.id, actor, decision: "approve", reason, at: now })
    .onConflict((oc) => oc.columns(["request_id", "actor"]).doNothing())
    .executeTakeFirst()
    .then((r) => assertDecidedOnce(r.numInsertedOrUpdatedRows, actor));
  const flow = flowOf(deps, row.flow);
  // A hook's decision on a new request is its only decision; otherwise count the distinct approvers.
  const approvals = final
    ? 1
    : (await getDecisions(changes.trx, row.id)).filter((d) => d.decision === "approve").length;
  const needed = flow?.config.approvers?.minApprovals ?? 1;
  if (!final && approvals < needed) {
    return changes.apply(row, "record_approval", actor, {}, { reason, approvals, needed });
  }
  const steps: Step[] = [
    { command: "approve", actor, changes: { decided_at: now, due_at: null }, data: { reason, approvals } },
  ];
  if (row.target !== null) {
    // The expiry is written with the approval, before any target is called.
    const expiresAt = now + Number(row.duration) * 1000;
    steps.push({
      command: "start_escalation",
      actor: "jitflow",
      changes: { expires_at: expiresAt, due_at: now, attempts: 0, last_error: null },
      data: { expiresAt: new Date(expiresAt).toISOString() },
    });
  }
  return changes.applyAll(row, steps);
}

/** Two decisions by one person that raced: the second finds the first's row and is refused. */
function assertDecidedOnce(inserted: bigint | undefined, actor: string): void {
  if (inserted !== undefined && Number(inserted) === 0) {
    throw new JitflowError("ALREADY_APPROVED", `${actor} has already decided this request`);
  }
}

export async function denyInTransaction(
  changes: ChangeSet,
  row: RequestRow,
  actor: string,
  reason: string | null,
): Promise<RequestRow> {
  await changes.trx
    .insertInto("decisions")
    .values({ request_id: row.id, actor, decision: "deny", reason, at: changes.now })
    .onConflict((oc) => oc.columns(["request_id", "actor"]).doNothing())
    .executeTakeFirst()
    .then((r) => assertDecidedOnce(r.numInsertedOrUpdatedRows, actor));
  return changes.apply(row, "deny", actor, { decided_at: changes.now, due_at: null }, { reason });
}

async function checkDecider(deps: EngineDeps, input: DecideInput, command: "approve" | "deny") {
  const { row, decisions } = await loadWithDecisions(deps, input.id);
  if (row.state !== "pending") throw invalidTransition(row.state, command);
  const { rules, error } = await decidersOf(deps, row, decisions, input.actor);
  if (error)
    deps.logger.error({ requestId: row.id, error }, "approver reducer failed; only admins may decide");
  assertMayDecide(input.actor, row.requester, rules);
  // A guest named as an approver still needs the flow to let guests act.
  assertGuestMayAct(input.actor, flowOf(deps, row.flow));
  if (decisions.some((d) => d.actor === input.actor.email)) {
    throw new JitflowError("ALREADY_APPROVED", `${input.actor.email} has already decided this request`);
  }
  return { row, decisions };
}

export async function approve(deps: EngineDeps, input: DecideInput): Promise<RequestView> {
  const { row, decisions } = await checkDecider(deps, input, "approve");
  const flow = flowOf(deps, row.flow);
  const ms = deps.config.config.hooks.timeoutMs;
  const reason = input.reason ?? null;
  const outcome = await runOnHook(
    flow?.module,
    "onApprove",
    toEvent(deps.config, row, decisions, input.actor, reason),
    ms,
  );
  if (!outcome.ok) {
    await reportAfterHook(deps, row, outcome.error);
    throw new JitflowError("HOOK_FAILED", `${outcome.error}; the approval was not applied`);
  }
  if (outcome.value?.kind === "ignore") throw new JitflowError("HOOK_IGNORED", outcome.value.message);
  const denyReason = outcome.value?.kind === "deny" ? (outcome.value.reason ?? reason) : undefined;

  const saved = await inTransaction(deps, async (changes) => {
    const current = await mustGetRequest(deps, input.id, changes.trx);
    if (current.state !== "pending") throw invalidTransition(current.state, "approve");
    if ((await getDecisions(changes.trx, current.id)).some((d) => d.actor === input.actor.email)) {
      throw new JitflowError("ALREADY_APPROVED", `${input.actor.email} has already decided this request`);
    }
    return denyReason !== undefined
      ? denyInTransaction(changes, current, "hook:onApprove", denyReason)
      : approveInTransaction(deps, changes, current, input.actor.email, reason, false);
  });
  if (saved.due_at !== null) deps.wake(saved.due_at);
  return finish(deps, saved, input.actor, saved.state === "denied" ? "afterDeny" : "afterApprove");
}

export async function deny(deps: EngineDeps, input: DecideInput): Promise<RequestView> {
  const { row, decisions } = await checkDecider(deps, input, "deny");
  const flow = flowOf(deps, row.flow);
  const ms = deps.config.config.hooks.timeoutMs;
  const reason = input.reason ?? null;
  const outcome = await runOnHook(
    flow?.module,
    "onDeny",
    toEvent(deps.config, row, decisions, input.actor, reason),
    ms,
  );
  if (!outcome.ok) {
    await reportAfterHook(deps, row, outcome.error);
    throw new JitflowError("HOOK_FAILED", `${outcome.error}; the denial was not applied`);
  }
  if (outcome.value?.kind === "ignore") throw new JitflowError("HOOK_IGNORED", outcome.value.message);
  const saved = await inTransaction(deps, async (changes) => {
    const current = await mustGetRequest(deps, input.id, changes.trx);
    if (current.state !== "pending") throw invalidTransition(current.state, "deny");
    return denyInTransaction(changes, current, input.actor.email, reason);
  });
  return finish(deps, saved, input.actor, "afterDeny");
}

async function finish(
  deps: EngineDeps,
  row: RequestRow,
  actor: Person,
  hook: "afterApprove" | "afterDeny",
): Promise<RequestView> {
  const decisions = await getDecisions(deps.store.db, row.id);
  if (hook === "afterDeny" || row.state !== "pending") {
    const module = flowOf(deps, row.flow)?.module;
    const error = await runAfterHook(
      module,
      hook,
      toEvent(deps.config, row, decisions, actor),
      deps.config.config.hooks.timeoutMs,
    );
    await reportAfterHook(deps, row, error);
  }
  return toView(row, decisions);
}
