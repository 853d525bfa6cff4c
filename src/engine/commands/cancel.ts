// The cancel and revoke commands.

import { JitflowError } from "../../errors.ts";
import type { Person } from "../../model/types.ts";
import { assertGuestMayAct, isDecider } from "../access/policy.ts";
import { type EngineDeps, inTransaction } from "../deps.ts";
import { flowOf, loadVisibleRequest, mustGetRequest } from "../engine.ts";
import { type RequestView, readView } from "../read/views.ts";

export interface ActionInput {
  id: string;
  actor: Person;
  reason?: string | undefined;
}

export async function cancel(deps: EngineDeps, input: ActionInput): Promise<RequestView> {
  const { row } = await loadVisibleRequest(deps, input.id, input.actor);
  if (row.requester !== input.actor.email && input.actor.role !== "admin" && input.actor.role !== "bot") {
    throw new JitflowError(
      "CANCEL_NOT_ALLOWED",
      "only the requester, an admin or a bot can cancel a request",
    );
  }
  const saved = await inTransaction(deps, async (changes) => {
    const current = await mustGetRequest(deps, input.id, changes.trx);
    return changes.apply(
      current,
      "cancel",
      input.actor.email,
      { dueAt: null },
      { reason: input.reason ?? null },
    );
  });
  return readView(deps.store.db, saved);
}

export async function revoke(deps: EngineDeps, input: ActionInput): Promise<RequestView> {
  const { row, deciders } = await loadVisibleRequest(deps, input.id, input.actor);
  const flow = flowOf(deps, row.flow);
  const privileged = input.actor.role === "admin" || input.actor.role === "bot";
  if (!privileged) {
    if (!flow?.config.allowRevoke) {
      throw new JitflowError(
        "REVOKE_NOT_ALLOWED",
        `flow "${row.flow}" does not allow revoking; ask an admin`,
      );
    }
    const isRequester = row.requester === input.actor.email;
    if (!isRequester && !isDecider(input.actor, (await deciders()).rules)) {
      throw new JitflowError("REVOKE_NOT_ALLOWED", "only the requester, an approver or an admin can revoke");
    }
    assertGuestMayAct(input.actor, flow);
  }
  const now = deps.clock.now();
  const saved = await inTransaction(deps, async (changes) => {
    const current = await mustGetRequest(deps, input.id, changes.trx);
    if (current.target === null || current.extendsId !== null) {
      throw new JitflowError(
        "INVALID_TRANSITION",
        current.extendsId !== null
          ? `request ${current.id} asks to extend ${current.extendsId}: revoke that grant instead`
          : `request ${current.id} is approval-only: there is no access to revoke`,
        {
          details: { state: current.state },
        },
      );
    }
    return changes.apply(
      current,
      "revoke",
      input.actor.email,
      // Revoked before it started (approved to start later): its start is called off too.
      { endedReason: "revoked", dueAt: null, grant: { dueAt: now, attempts: 0, lastError: null } },
      { reason: input.reason ?? null },
    );
  });
  deps.wake(now);
  return readView(deps.store.db, saved);
}
