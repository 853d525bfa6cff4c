// Reading and writing request rows: insert, get, conditional update, list with cursors, and leasing due work.

import type { Kysely, Transaction } from "kysely";
import type { RequestState } from "../model/types.ts";
import type { Dialect } from "./database.ts";
import type { Database, DecisionsTable, RequestsTable } from "./schema.ts";

export type RequestRow = RequestsTable;
export type DecisionRow = DecisionsTable;
export type Executor = Kysely<Database> | Transaction<Database>;

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
} satisfies Partial<RequestRow>;

export async function insertRequest(trx: Executor, row: RequestRow): Promise<void> {
  await trx.insertInto("requests").values(row).execute();
}

export async function getRequest(db: Executor, id: string): Promise<RequestRow | undefined> {
  return db.selectFrom("requests").selectAll().where("id", "=", id).executeTakeFirst();
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
  changes: Partial<RequestRow>,
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
  return q.orderBy("created_at", "desc").orderBy("id", "desc").limit(filter.limit).execute();
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
): Promise<RequestRow[]> {
  const due = db
    .selectFrom("requests")
    .select("id")
    .where("due_at", "<=", now)
    .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", now)]))
    .orderBy("due_at")
    .limit(limit)
    .$if(dialect === "postgres", (q) => q.forUpdate().skipLocked());
  return db
    .updateTable("requests")
    .set({ lease_owner: owner, lease_until: now + leaseMs })
    .where("id", "in", due)
    .returningAll()
    .execute();
}

/** Extends this owner's leases on these rows. */
export async function renewLeases(
  db: Kysely<Database>,
  owner: string,
  ids: string[],
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

/** Drops this owner's leases on these rows. */
export async function releaseLeases(db: Kysely<Database>, owner: string, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    await db
      .updateTable("requests")
      .set({ lease_owner: null, lease_until: null })
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
    .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", now)]))
    .executeTakeFirst();
  return row?.due == null ? undefined : Number(row.due);
}

/** Other requests of the same person for the same grant (target and bound fields) in the given states. */
export async function sameGrant(
  db: Executor,
  row: Pick<RequestRow, "id" | "requester" | "grant_key">,
  states: RequestState[],
): Promise<RequestRow[]> {
  if (row.grant_key === null) return [];
  return db
    .selectFrom("requests")
    .selectAll()
    .where("requester", "=", row.requester)
    .where("grant_key", "=", row.grant_key)
    .where("state", "in", states)
    .where("id", "!=", row.id)
    .execute();
}
