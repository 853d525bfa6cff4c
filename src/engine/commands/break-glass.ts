// Break-glass review: the requests that skipped approval, listed until an admin reviews each one.

import { JitflowError } from "../../errors.ts";
import type { Person } from "../../model/types.ts";
import { breakGlassRows, getDecisionsOf, updateRequest } from "../../store/requests.ts";
import { ConflictError } from "../changes.ts";
import { type EngineDeps, inTransaction } from "../deps.ts";
import { mustGetRequest } from "../engine.ts";
import { type RequestView, readView, toView } from "../read/views.ts";
import type { ActionInput } from "./cancel.ts";

/** Break-glass requests, newest first: those not reviewed yet, or all. */
export async function breakGlassRequests(
  deps: EngineDeps,
  actor: Person,
  reviewed: boolean | undefined,
  limit = 100,
): Promise<RequestView[]> {
  if (actor.role !== "admin")
    throw new JitflowError("FORBIDDEN", "only admins may review break-glass requests");
  const rows = await breakGlassRows(deps.store.db, reviewed, limit);
  const decisions = await getDecisionsOf(
    deps.store.db,
    rows.map((r) => r.id),
  );
  return rows.map((r) =>
    toView(
      r,
      decisions.filter((d) => d.request_id === r.id),
    ),
  );
}

/** An admin marks a break-glass request reviewed, with a note; recorded in the audit log. */
export async function review(deps: EngineDeps, input: ActionInput): Promise<RequestView> {
  if (input.actor.role !== "admin")
    throw new JitflowError("FORBIDDEN", "only admins may review break-glass requests");
  const saved = await inTransaction(deps, async (changes) => {
    const current = await mustGetRequest(deps, input.id, changes.trx);
    if (current.breakGlass === null) {
      throw new JitflowError("INVALID_TRANSITION", `request ${current.id} is not a break-glass request`, {
        details: { state: current.state },
      });
    }
    if (current.reviewedAt !== null) return current;
    const set = { reviewedBy: input.actor.email, reviewedAt: changes.now };
    if (!(await updateRequest(changes.trx, current, set))) throw new ConflictError(current.id);
    const next = { ...current, ...set, version: current.version + 1 };
    changes.note(next, "request.reviewed", input.actor.email, { note: input.reason ?? null });
    return next;
  });
  return readView(deps.store.db, saved);
}
