import { JitflowError } from "../../errors.ts";
import type { Person, RequestState, Role } from "../../model/types.ts";
import { type AuditEvent, eventsOfRequest } from "../../store/audit-log.ts";
import {
  type AccessRequest,
  type DecisionRow,
  getDecisions,
  getDecisionsOf,
  listRequests,
} from "../../store/requests.ts";
import { approverFlowsOf, assertGuestMayAct, isDecider, privileged } from "../access/policy.ts";
import type { EngineDeps } from "../deps.ts";
import { decidersOf, flowOf, loadVisibleRequest } from "../engine.ts";
import { type RequestView, toView } from "./views.ts";

export interface Me {
  email: string;
  name: string;
  role: Role;
  approverOf: string[];
}

export function meFor(deps: EngineDeps, actor: Person): Me {
  return {
    email: actor.email,
    name: actor.name,
    role: actor.role,
    approverOf: approverFlowsOf(deps, actor.email),
  };
}

/** One request, for whoever may see it (engine.ts findVisibleRequest); 404 REQUEST_NOT_FOUND otherwise. */
export async function getRequestFor(deps: EngineDeps, id: string, actor: Person): Promise<RequestView> {
  const { row, decisions } = await loadVisibleRequest(deps, id, actor);
  return toView(row, decisions);
}

export interface ListInput {
  actor: Person;
  state?: RequestState[] | undefined;
  flow?: string | undefined;
  mine?: boolean | undefined;
  /** Only pending requests this person may decide, did not make and has not decided yet. */
  awaiting?: boolean | undefined;
  cursor?: string | undefined;
  limit: number;
}

export function encodeCursor(row: Pick<AccessRequest, "createdAt" | "id">): string {
  return Buffer.from(JSON.stringify([row.createdAt, row.id])).toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, "base64url").toString()) as unknown[];
    if (Number.isSafeInteger(createdAt) && typeof id === "string")
      return { createdAt: createdAt as number, id };
  } catch {
    // fall through to the error below
  }
  throw new JitflowError("CURSOR_INVALID", "cursor is not one this server returned");
}

export async function listRequestsFor(
  deps: EngineDeps,
  input: ListInput,
): Promise<{ items: RequestView[]; nextCursor: string | null }> {
  if (input.awaiting) return awaitingFor(deps, input);
  const seesAll = privileged(input.actor);
  const rows = await listRequests(deps.store.db, {
    state: input.state,
    flow: input.flow,
    requester: input.mine ? input.actor.email : undefined,
    visibleTo:
      seesAll || input.mine
        ? undefined
        : { email: input.actor.email, flows: approverFlowsOf(deps, input.actor.email) },
    before: input.cursor ? decodeCursor(input.cursor) : undefined,
    limit: input.limit + 1,
  });
  const page = rows.slice(0, input.limit);
  const items = await Promise.all(page.map(async (r) => toView(r, await getDecisions(deps.store.db, r.id))));
  const last = page.at(-1);
  return { items, nextCursor: rows.length > input.limit && last ? encodeCursor(last) : null };
}

/** At most this many pending requests are looked at per call of `awaiting=me` (each may run reducers). */
const awaitingScanLimit = 500;
const awaitingScanPage = 100;
const reducersAtOnce = 8;

/**
 * Pending requests this person may decide by the same rules as approving (admins, approvers, reducers,
 * guests only where allowed), newest first. Each call looks at no more than `awaitingScanLimit` pending
 * rows: a page can be short, or empty, with a `nextCursor` to go on from.
 */
async function awaitingFor(
  deps: EngineDeps,
  input: ListInput,
): Promise<{ items: RequestView[]; nextCursor: string | null }> {
  const { actor } = input;
  if (input.mine || input.state?.some((s) => s !== "pending")) {
    throw new JitflowError(
      "VALIDATION_FAILED",
      "awaiting=me lists pending requests of others: it cannot be combined with mine or another state",
    );
  }
  // Bots never decide (policy.isDecider): nothing can await them.
  if (actor.role === "bot") return { items: [], nextCursor: null };
  const found: { row: AccessRequest; view: RequestView }[] = [];
  let before = input.cursor ? decodeCursor(input.cursor) : undefined;
  let scanned = 0;
  let lastScanned: AccessRequest | undefined;
  let reachedEnd = false;
  while (found.length <= input.limit && scanned < awaitingScanLimit) {
    const take = Math.min(awaitingScanPage, awaitingScanLimit - scanned);
    const rows = await listRequests(deps.store.db, {
      state: ["pending"],
      flow: input.flow,
      notRequester: actor.email,
      notDecidedBy: actor.email,
      before,
      limit: take,
    });
    scanned += rows.length;
    const decisions = groupDecisions(
      await getDecisionsOf(
        deps.store.db,
        rows.map((r) => r.id),
      ),
    );
    // Reducers (getApprovers, getPermissions) may call other systems: a few at a time, not a page at once.
    const decides: boolean[] = [];
    for (let i = 0; i < rows.length; i += reducersAtOnce) {
      const slice = rows.slice(i, i + reducersAtOnce);
      decides.push(
        ...(await Promise.all(slice.map((row) => mayDecide(deps, actor, row, decisions.get(row.id) ?? [])))),
      );
    }
    for (const [i, row] of rows.entries()) {
      if (found.length > input.limit) break;
      lastScanned = row;
      if (decides[i]) found.push({ row, view: toView(row, decisions.get(row.id) ?? []) });
    }
    const tail = rows.at(-1);
    if (rows.length < take || !tail) {
      reachedEnd = true;
      break;
    }
    before = { createdAt: tail.createdAt, id: tail.id };
  }
  const page = found.slice(0, input.limit);
  const last = page.at(-1);
  // More matches than fit: go on after the last one shown. Stopped by the scan limit: after the last row looked at.
  if (found.length > input.limit && last) {
    return { items: page.map((f) => f.view), nextCursor: encodeCursor(last.row) };
  }
  return {
    items: page.map((f) => f.view),
    nextCursor: !reachedEnd && lastScanned ? encodeCursor(lastScanned) : null,
  };
}

function groupDecisions(rows: DecisionRow[]): Map<string, DecisionRow[]> {
  const byRequest = new Map<string, DecisionRow[]>();
  for (const d of rows) byRequest.set(d.request_id, [...(byRequest.get(d.request_id) ?? []), d]);
  return byRequest;
}

/** Would approving this request pass the approver checks of decide.ts for this person? */
async function mayDecide(
  deps: EngineDeps,
  actor: Person,
  row: AccessRequest,
  decisions: DecisionRow[],
): Promise<boolean> {
  if (!isDecider(actor, (await decidersOf(deps, row, decisions, actor)).rules)) return false;
  try {
    assertGuestMayAct(actor, flowOf(deps, row.flow));
    return true;
  } catch {
    return false;
  }
}

/** A request's audit events, for whoever may see the request (404 REQUEST_NOT_FOUND otherwise). */
export async function requestEventsFor(deps: EngineDeps, id: string, actor: Person): Promise<AuditEvent[]> {
  await getRequestFor(deps, id, actor);
  return eventsOfRequest(deps.store.db, id);
}
