// The extend command: an active grant's end moved later at once, or, above the flow's threshold, an
// extension request of its own, decided like any request.

import { JitflowError } from "../../errors.ts";
import { durationProblem, parseDuration } from "../../lib/duration.ts";
import type { Person } from "../../model/types.ts";
import { nextDueOf } from "../../store/requests.ts";
import { invalidTransition } from "../changes.ts";
import { type EngineDeps, inTransaction } from "../deps.ts";
import { flowOf, loadVisibleRequest, mustGetRequest } from "../engine.ts";
import type { RequestView } from "../read/views.ts";
import { readView } from "../read/views.ts";
import { applyExtension, checkExtensionLimits } from "./extension.ts";
import { requestExtension } from "./submit.ts";

export interface ExtendInput {
  id: string;
  actor: Person;
  duration: string | number;
  /**
   * The expiry the actor saw when they chose to extend. When given, extending is idempotent: if the
   * grant already ends `duration` later than this (a retry of the same extension), nothing more is
   * added; if it ends anywhere else, someone changed it meanwhile and the extension is refused.
   */
  ifExpiresAt?: number | undefined;
}

export async function extend(deps: EngineDeps, input: ExtendInput): Promise<RequestView> {
  const seconds = parseDuration(input.duration);
  if (seconds === undefined) {
    throw new JitflowError("DURATION_INVALID", durationProblem(input.duration));
  }
  const { row } = await loadVisibleRequest(deps, input.id, input.actor);
  if (row.requester !== input.actor.email && input.actor.role !== "admin" && input.actor.role !== "bot") {
    throw new JitflowError("EXTEND_NOT_ALLOWED", "only the requester, an admin or a bot can extend a grant");
  }
  if (row.state !== "active" || row.expiresAt === null) throw invalidTransition(row.state, "extend");
  const flow = flowOf(deps, row.flow);
  const limits = flow?.config.extensions;
  checkExtensionLimits(row, seconds, limits);
  // Above the flow's threshold an extension is a request of its own, decided by the flow's policy.
  const threshold = limits?.approvalAbove;
  if (threshold !== undefined && row.extendedSeconds + seconds > threshold && input.actor.role !== "admin") {
    return requestExtension(deps, row, seconds, input.actor);
  }
  const saved = await inTransaction(deps, async (changes) => {
    const current = await mustGetRequest(deps, input.id, changes.trx);
    if (current.state !== "active" || current.expiresAt === null)
      throw invalidTransition(current.state, "extend");
    if (input.ifExpiresAt !== undefined && current.expiresAt !== input.ifExpiresAt) {
      if (current.expiresAt === input.ifExpiresAt + seconds * 1000) return current;
      throw new JitflowError(
        "INVALID_TRANSITION",
        "the grant's end changed since you chose to extend it; look again",
        {
          details: { state: current.state, expiresAt: new Date(current.expiresAt).toISOString() },
        },
      );
    }
    return applyExtension(deps, changes, current, seconds, input.actor.email);
  });
  const due = nextDueOf(saved);
  if (due !== null) deps.wake(due);
  return readView(deps.store.db, saved);
}
