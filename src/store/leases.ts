// Leased rows: the scheduler leases due requests and grants, the outbox worker due messages, so that of several
// replicas exactly one works on a row at a time, and a row whose worker died is taken up once its lease runs out.

import type { ExpressionBuilder, Kysely, SelectQueryBuilder, Transaction } from "kysely";
import type { Dialect } from "./database.ts";
import type { Database, GrantsTable, OutboxRow, RequestsTable } from "./schema.ts";

/** The tables whose rows are leased: each has id, due_at, lease_owner and lease_until. */
export type LeasedTable = "requests" | "grants" | "outbox";

interface RowOf {
  requests: RequestsTable;
  grants: GrantsTable;
  outbox: OutboxRow;
}

/** Nobody holds the row, or its lease ran out. */
export function notLeased(now: number) {
  return (eb: ExpressionBuilder<Database, LeasedTable>) =>
    eb.or([eb("lease_until", "is", null), eb("lease_until", "<", now)]);
}

/** The rows of `table` due by `now` that nobody holds, earliest first: what a claim chooses from. */
export function dueRows(db: Kysely<Database>, table: LeasedTable, now: number, limit: number) {
  return db
    .selectFrom(table)
    .select("id")
    .where("due_at", "<=", now)
    .where(notLeased(now))
    .orderBy("due_at")
    .limit(limit);
}

/**
 * Leases the rows `candidates` selects for `owner` until now + leaseMs, and returns them. On PostgreSQL the
 * candidates are locked, and skipped by other replicas claiming at the same moment.
 */
export async function claimLeased<T extends LeasedTable>(
  db: Kysely<Database>,
  dialect: Dialect,
  table: T,
  candidates: SelectQueryBuilder<Database, LeasedTable, { id: string }>,
  owner: string,
  now: number,
  leaseMs: number,
): Promise<RowOf[T][]> {
  const locked = candidates.$if(dialect === "postgres", (q) => q.forUpdate().skipLocked());
  const rows = await db
    .updateTable(table as LeasedTable)
    .set({ lease_owner: owner, lease_until: now + leaseMs })
    .where("id", "in", locked)
    .returningAll()
    .execute();
  return rows as RowOf[T][];
}

/**
 * Gives back leases of a table: every one (SQLite at start: the one process that held them is gone), those
 * one owner holds (a batch that failed: its rows are taken up again now), or those held under an owner's
 * name prefix (a scheduler stopping: each of its batches leases under `owner/N`).
 */
export async function releaseLeases(
  db: Kysely<Database>,
  table: LeasedTable,
  held: "any" | { by: string } | { under: string },
): Promise<void> {
  await db
    .updateTable(table)
    .set({ lease_owner: null, lease_until: null })
    .$call((q) =>
      held === "any"
        ? q.where("lease_owner", "is not", null)
        : "by" in held
          ? q.where("lease_owner", "=", held.by)
          : q.where("lease_owner", "like", `${held.under}%`),
    )
    .execute();
}

/** The tables whose due instants the scheduler follows. */
export type ScheduledTable = "requests" | "grants";

/** Leases up to `limit` rows of a scheduled table whose work is due, for `owner`, until now + leaseMs; their ids. */
export async function claimDue(
  db: Kysely<Database>,
  dialect: Dialect,
  table: ScheduledTable,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
): Promise<string[]> {
  const rows = await claimLeased(db, dialect, table, dueRows(db, table, now, limit), owner, now, leaseMs);
  return rows.map((r) => r.id);
}

/** The earliest due instant in a table among rows nobody holds a lease on (or whose lease ran out). */
export async function nextUnleasedDue(
  db: Kysely<Database>,
  table: ScheduledTable,
  now: number,
): Promise<number | undefined> {
  const row = await db
    .selectFrom(table as LeasedTable)
    .select((eb) => eb.fn.min("due_at").as("due"))
    .where("due_at", "is not", null)
    .where(notLeased(now))
    .executeTakeFirst();
  return row?.due == null ? undefined : Number(row.due);
}

/** Extends (until a time) or gives back (null) this owner's leases on these rows, 500 at a time. */
export async function setLeases(
  db: Kysely<Database> | Transaction<Database>,
  table: ScheduledTable,
  owner: string,
  ids: readonly string[],
  until: number | null,
): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    await db
      .updateTable(table as LeasedTable)
      .set(until === null ? { lease_owner: null, lease_until: null } : { lease_until: until })
      .where("id", "in", ids.slice(i, i + 500))
      .where("lease_owner", "=", owner)
      .execute();
  }
}
