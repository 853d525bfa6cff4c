// The approve and deny commands: policy checks, onApprove/onDeny hooks, quorum counting, and the start of escalation.

import { JitflowError } from "../../errors.ts";
import type { Person } from "../../model/types.ts";
import { type AccessRequest, getDecisions, nextDueOf } from "../../store/requests.ts";
import { assertGuestMayAct, assertMayDecide } from "../access/policy.ts";
import { invalidTransition } from "../changes.ts";
import { type EngineDeps, inTransaction } from "../deps.ts";
import { flowOf, loadVisibleRequest, mustGetRequest, reportAfterHook } from "../engine.ts";
import { runAfterHook, runOnHook } from "../hooks.ts";
import { type RequestView, toEvent, toView } from "../read/views.ts";
import { approveInTransaction, denyInTransaction, prepareNextStep } from "./record-decision.ts";

export interface DecideInput {
  id: string;
  actor: Person;
  reason?: string | undefined;
}

async function checkDecider(deps: EngineDeps, input: DecideInput, command: "approve" | "deny") {
  const { row, decisions, deciders } = await loadVisibleRequest(deps, input.id, input.actor);
  if (row.state !== "pending") throw invalidTransition(row.state, command);
  const { rules, error } = await deciders();
  if (error)
    deps.logger.error({ requestId: row.id, error }, "approver reducer failed; only admins may decide");
  assertMayDecide(input.actor, row.requester, rules);
  // A guest named as an approver still needs the flow to let guests act.
  assertGuestMayAct(input.actor, flowOf(deps, row.flow));
  const earlier = decisions.find((d) => d.actor === input.actor.email);
  if (earlier) {
    throw new JitflowError(
      "ALREADY_APPROVED",
      earlier.step === row.step
        ? `${input.actor.email} has already decided this request`
        : `${input.actor.email} approved an earlier step; each step needs different people`,
    );
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
  const prepared = denyReason === undefined ? await prepareNextStep(deps, row, decisions) : undefined;

  const saved = await inTransaction(deps, async (changes) => {
    const current = await mustGetRequest(deps, input.id, changes.trx);
    if (current.state !== "pending") throw invalidTransition(current.state, "approve");
    const decided = await getDecisions(changes.trx, current.id);
    if (decided.some((d) => d.actor === input.actor.email)) {
      throw new JitflowError("ALREADY_APPROVED", `${input.actor.email} has already decided this request`);
    }
    return denyReason !== undefined
      ? denyInTransaction(changes, current, "hook:onApprove", denyReason)
      : approveInTransaction(deps, changes, current, input.actor.email, reason, false, prepared, decided);
  });
  const due = nextDueOf(saved);
  if (due !== null) deps.wake(due);
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
  row: AccessRequest,
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
