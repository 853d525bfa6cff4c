// Reading and writing requests: insert, get, conditional update, list with cursors, and leasing due work. A
// request is read with its grant (store/grants.ts) attached.

import type { Kysely } from "kysely";
import type { RequestState } from "../model/types.ts";
import type { Dialect, Executor } from "./database.ts";
import { type Grant, type GrantChanges, grantsOf, insertGrant } from "./grants.ts";
import { claimLeased, dueRows, notLeased } from "./leases.ts";
import type { Database, DecisionsTable, RequestsTable } from "./schema.ts";

/** A request as read: its own columns, and the grant it gives (null for a request that names no target). */
export type RequestRow = RequestsTable & { grant: Grant | null };
/**
 * What a command changes on a request: its columns, and under `grant` its grant's (written in the same
 * transaction, by ChangeSet).
 */
export type RequestChanges = RequestColumns & { grant?: GrantChanges };
/** The request's own columns a command changes. */
export type RequestColumns = Partial<RequestsTable>;

/** When the request's next work is due: its own (approval clock, start) or its grant's. */
export function nextDueOf(row: Pick<RequestRow, "due_at" | "grant">): number | null {
  const grant = row.grant?.dueAt ?? null;
  if (row.due_at === null) return grant;
  return grant === null ? row.due_at : Math.min(row.due_at, grant);
}
export type DecisionRow = DecisionsTable;
export type { Executor } from "./database.ts";

/** The policy columns of a request that has none of the policy's features in use (tests, imports). */
export const plainPolicyColumns = {
  steps: null,
  step: 0,
  step_started_at: null,
  destination: 0,
  destination_at: null,
  reminders: 0,
  remind_at: null,
  deadline_at: null,
  start_at: null,
  break_glass: null,
  reviewed_by: null,
  reviewed_at: null,
  extends_id: null,
  extensions: 0,
  extended_seconds: 0,
} satisfies Partial<RequestsTable>;

/** Inserts a request and its grant. */
export async function insertRequest(trx: Executor, row: RequestRow): Promise<void> {
  const { grant, ...columns } = row;
  await trx.insertInto("requests").values(columns).execute();
  if (grant) await insertGrant(trx, grant);
}

/** Attaches each request's grant (one more query for the lot). */
async function withGrants(db: Executor, rows: RequestsTable[]): Promise<RequestRow[]> {
  if (rows.length === 0) return [];
  const grants = await grantsOf(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => ({ ...r, grant: grants.get(r.id) ?? null }));
}

export async function getRequest(db: Executor, id: string): Promise<RequestRow | undefined> {
  const row = await db.selectFrom("requests").selectAll().where("id", "=", id).executeTakeFirst();
  return row ? (await withGrants(db, [row]))[0] : undefined;
}

export async function getDecisions(db: Executor, id: string): Promise<DecisionRow[]> {
  return db.selectFrom("decisions").selectAll().where("request_id", "=", id).orderBy("at").execute();
}

/** The decisions of several requests, in order. */
export async function getDecisionsOf(db: Executor, ids: string[]): Promise<DecisionRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom("decisions").selectAll().where("request_id", "in", ids).orderBy("at").execute();
}

/**
 * Updates a request only if it is still in `fromState` at `version` (optimistic concurrency).
 * Returns false when another writer got there first.
 */
export async function updateRequest(
  trx: Executor,
  current: Pick<RequestRow, "id" | "state" | "version">,
  changes: RequestColumns,
): Promise<boolean> {
  const result = await trx
    .updateTable("requests")
    .set({ ...changes, version: current.version + 1 })
    .where("id", "=", current.id)
    .where("state", "=", current.state)
    .where("version", "=", current.version)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export interface ListFilter {
  state?: RequestState[];
  flow?: string;
  requester?: string;
  /** Leave out requests made by this person. */
  notRequester?: string;
  /** Leave out requests this person has approved or denied. */
  notDecidedBy?: string;
  /** Only requests these people may see: their own, or these flows. */
  visibleTo?: { email: string; flows: string[] };
  before?: { createdAt: number; id: string };
  limit: number;
}

export async function listRequests(db: Executor, filter: ListFilter): Promise<RequestRow[]> {
  let q = db.selectFrom("requests").selectAll();
  if (filter.state?.length) q = q.where("state", "in", filter.state);
  if (filter.flow) q = q.where("flow", "=", filter.flow);
  if (filter.requester) q = q.where("requester", "=", filter.requester);
  if (filter.notRequester) q = q.where("requester", "!=", filter.notRequester);
  if (filter.notDecidedBy) {
    const email = filter.notDecidedBy;
    q = q.where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom("decisions")
            .select("decisions.actor")
            .whereRef("decisions.request_id", "=", "requests.id")
            .where("decisions.actor", "=", email),
        ),
      ),
    );
  }
  if (filter.visibleTo) {
    const { email, flows } = filter.visibleTo;
    q = q.where((eb) =>
      eb.or([
        eb("requester", "=", email),
        ...(flows.length ? [eb("flow", "in", flows)] : []),
        eb.exists(
          eb
            .selectFrom("decisions")
            .select("decisions.actor")
            .whereRef("decisions.request_id", "=", "requests.id")
            .where("decisions.actor", "=", email),
        ),
      ]),
    );
  }
  if (filter.before) {
    const { createdAt, id } = filter.before;
    q = q.where((eb) =>
      eb.or([
        eb("created_at", "<", createdAt),
        eb.and([eb("created_at", "=", createdAt), eb("id", "<", id)]),
      ]),
    );
  }
  return withGrants(
    db,
    await q.orderBy("created_at", "desc").orderBy("id", "desc").limit(filter.limit).execute(),
  );
}

/** How many requests each flow has in each state (only pairs that occur). */
export async function countByFlowAndState(
  db: Executor,
): Promise<{ flow: string; state: string; count: number }[]> {
  const rows = await db
    .selectFrom("requests")
    .select(["flow", "state", (eb) => eb.fn.countAll().as("count")])
    .groupBy(["flow", "state"])
    .execute();
  return rows.map((r) => ({ flow: r.flow, state: r.state, count: Number(r.count) }));
}

/** Leases up to `limit` rows whose due instant has come, for `owner`, until now + leaseMs. */
export async function claimDue(
  db: Kysely<Database>,
  dialect: Dialect,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
): Promise<RequestsTable[]> {
  return claimLeased(db, dialect, "requests", dueRows(db, "requests", now, limit), owner, now, leaseMs);
}

/** Extends this owner's leases on these rows. */
export async function renewLeases(
  db: Kysely<Database>,
  owner: string,
  ids: readonly string[],
  until: number,
): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    await db
      .updateTable("requests")
      .set({ lease_until: until })
      .where("id", "in", ids.slice(i, i + 500))
      .where("lease_owner", "=", owner)
      .execute();
  }
}

/** The earliest due instant among rows nobody holds a lease on (or whose lease ran out). */
export async function nextDue(db: Kysely<Database>, now: number): Promise<number | undefined> {
  const row = await db
    .selectFrom("requests")
    .select((eb) => eb.fn.min("due_at").as("due"))
    .where("due_at", "is not", null)
    .where(notLeased(now))
    .executeTakeFirst();
  return row?.due == null ? undefined : Number(row.due);
}

/** Other requests of the same person for the same grant (target and bound fields) in the given states. */
export async function sameGrant(
  db: Executor,
  row: Pick<RequestRow, "id" | "grant">,
  states: RequestState[],
): Promise<RequestRow[]> {
  if (row.grant === null) return [];
  const { requester, key } = row.grant;
  const rows = await db
    .selectFrom("requests")
    .selectAll()
    .where("id", "in", (eb) =>
      eb
        .selectFrom("grants")
        .select("grants.request_id")
        .where("grants.requester", "=", requester)
        .where("grants.grant_key", "=", key),
    )
    .where("state", "in", states)
    .where("id", "!=", row.id)
    .execute();
  return withGrants(db, rows);
}

/** The requests with these ids, read 500 at a time. */
export async function getRequests(db: Executor, ids: readonly string[]): Promise<RequestRow[]> {
  const rows: RequestsTable[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    rows.push(
      ...(await db
        .selectFrom("requests")
        .selectAll()
        .where("id", "in", ids.slice(i, i + 500))
        .execute()),
    );
  }
  return withGrants(db, rows);
}

/** The rows among `ids` that `owner` still holds the lease on, in id order. */
export async function leasedRequests(
  db: Executor,
  owner: string,
  ids: readonly string[],
): Promise<RequestRow[]> {
  if (ids.length === 0) return [];
  return withGrants(
    db,
    await db
      .selectFrom("requests")
      .selectAll()
      .where("id", "in", ids)
      .where("lease_owner", "=", owner)
      .orderBy("id")
      .execute(),
  );
}

/** Makes a request's grant due now, if the request is still in `state` (drift found an outlived grant). */
export async function makeGrantDueNow(
  db: Executor,
  id: string,
  state: RequestState,
  now: number,
): Promise<void> {
  await db
    .updateTable("grants")
    .set({ due_at: now })
    .where("request_id", "=", id)
    .where("request_id", "in", (eb) =>
      eb.selectFrom("requests").select("requests.id").where("requests.state", "=", state),
    )
    .execute();
}

/** Escalations of these people's grants that waited for a revocation may go now. */
export async function wakeWaitingEscalations(
  db: Executor,
  grants: readonly Pick<Grant, "requester" | "key">[],
  now: number,
): Promise<void> {
  for (let i = 0; i < grants.length; i += 200) {
    const chunk = grants.slice(i, i + 200);
    await db
      .updateTable("grants")
      .set({ due_at: now })
      .where((g) =>
        g.or(
          chunk.map((r) =>
            g.and([g("grants.requester", "=", r.requester), g("grants.grant_key", "=", r.key)]),
          ),
        ),
      )
      .where("request_id", "in", (eb) =>
        eb.selectFrom("requests").select("requests.id").where("requests.state", "=", "escalating"),
      )
      .execute();
  }
}

/** The states in which a grant may exist at its target. */
export const liveStates: RequestState[] = ["escalating", "active", "deescalating"];

/** Live grants (escalating, active, deescalating) of these people with these grant keys. */
export async function liveGrantsOf(
  db: Executor,
  requesters: readonly string[],
  grantKeys: readonly string[],
): Promise<RequestRow[]> {
  if (requesters.length === 0 || grantKeys.length === 0) return [];
  const rows = await db
    .selectFrom("requests")
    .selectAll()
    .where("state", "in", liveStates)
    .where("id", "in", (eb) =>
      eb
        .selectFrom("grants")
        .select("grants.request_id")
        .where("grants.requester", "in", requesters)
        .where("grants.grant_key", "in", grantKeys),
    )
    .execute();
  return withGrants(db, rows);
}

/** A target's live grants, and those that ended since `since` having been granted (drift compares them with the target). */
export async function grantsAtTarget(db: Executor, target: string, since: number): Promise<RequestRow[]> {
  const rows = await db
    .selectFrom("requests")
    .selectAll()
    .where("target", "=", target)
    .where((eb) =>
      eb.or([
        eb("state", "in", liveStates),
        eb.and([
          eb("ended_at", ">=", since),
          eb(
            "id",
            "in",
            eb
              .selectFrom("grants")
              .select("grants.request_id")
              .where("grants.target", "=", target)
              .where("grants.identity", "is not", null),
          ),
        ]),
      ]),
    )
    .execute();
  return withGrants(db, rows);
}

/** A target's live grants that hold this identity, or hold none recorded yet. */
export async function liveGrantsHolding(
  db: Executor,
  target: string,
  identity: string,
): Promise<RequestRow[]> {
  const rows = await db
    .selectFrom("requests")
    .selectAll()
    .where("state", "in", liveStates)
    .where("id", "in", (eb) =>
      eb
        .selectFrom("grants")
        .select("grants.request_id")
        .where("grants.target", "=", target)
        .where((g) => g.or([g("grants.identity", "=", identity), g("grants.identity", "is", null)])),
    )
    .execute();
  return withGrants(db, rows);
}

/** Records the last hook or target error shown with a request, outside the lifecycle. */
export async function setRequestError(db: Executor, id: string, error: string | null): Promise<void> {
  await db.updateTable("requests").set({ error }).where("id", "=", id).execute();
}

/** The waiting (pending) extension request of a grant, if there is one. */
export async function pendingExtensionOf(db: Executor, parentId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("requests")
    .select("id")
    .where("extends_id", "=", parentId)
    .where("state", "=", "pending")
    .executeTakeFirst();
  return row?.id;
}

/** Break-glass requests, newest first: all, only those not reviewed yet, or only reviewed ones. */
export async function breakGlassRows(
  db: Executor,
  reviewed: boolean | undefined,
  limit: number,
): Promise<RequestRow[]> {
  let query = db.selectFrom("requests").selectAll().where("break_glass", "is not", null);
  if (reviewed === false) query = query.where("reviewed_at", "is", null);
  if (reviewed === true) query = query.where("reviewed_at", "is not", null);
  return withGrants(db, await query.orderBy("id", "desc").limit(limit).execute());
}

/** Records one person's decision on a request's current step; false when they had already decided. */
export async function insertDecision(db: Executor, decision: DecisionRow): Promise<boolean> {
  const result = await db
    .insertInto("decisions")
    .values(decision)
    .onConflict((oc) => oc.columns(["request_id", "actor"]).doNothing())
    .executeTakeFirst();
  // Drivers that do not count inserted rows leave it undefined: then the conflict cannot be seen, and it counts.
  return result.numInsertedOrUpdatedRows === undefined || Number(result.numInsertedOrUpdatedRows) > 0;
}
