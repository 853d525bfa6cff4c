// The outbox: messages written in the same transaction as the state change, delivered later with retries.

import type { Kysely, Transaction } from "kysely";
import type { Dialect } from "./database.ts";
import { uuidv7 } from "./ids.ts";
import type { Database, OutboxRow } from "./schema.ts";

export interface OutboxMessage {
  kind: string;
  payload: Record<string, unknown>;
  requestId: string | null;
}

export async function enqueue(
  trx: Transaction<Database>,
  messages: OutboxMessage[],
  now: number,
): Promise<void> {
  if (messages.length === 0) return;
  const rows = messages.map((m) => ({
    id: uuidv7(now),
    kind: m.kind,
    payload: JSON.stringify(m.payload),
    request_id: m.requestId,
    created_at: now,
    due_at: now,
    last_error: null,
    lease_owner: null,
    lease_until: null,
    delivered_at: null,
  }));
  for (let i = 0; i < rows.length; i += 500) {
    await trx
      .insertInto("outbox")
      .values(rows.slice(i, i + 500))
      .execute();
  }
}

/** Leases up to `limit` due, undelivered messages for `owner`. */
export async function claimOutbox(
  db: Kysely<Database>,
  dialect: Dialect,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
): Promise<OutboxRow[]> {
  const due = db
    .selectFrom("outbox")
    .select("id")
    .where("delivered_at", "is", null)
    .where("due_at", "<=", now)
    .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", now)]))
    .orderBy("due_at")
    .limit(limit)
    .$if(dialect === "postgres", (q) => q.forUpdate().skipLocked());
  return db
    .updateTable("outbox")
    .set({ lease_owner: owner, lease_until: now + leaseMs })
    .where("id", "in", due)
    .returningAll()
    .execute();
}

export async function markDelivered(
  db: Kysely<Database>,
  ids: string[],
  owner: string,
  now: number,
): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    await db
      .updateTable("outbox")
      .set({ delivered_at: now, lease_owner: null, lease_until: null })
      .where("id", "in", ids.slice(i, i + 500))
      .where("lease_owner", "=", owner)
      .execute();
  }
}

export async function markFailed(
  db: Kysely<Database>,
  id: string,
  owner: string,
  error: string,
  retryAt: number,
): Promise<void> {
  await db
    .updateTable("outbox")
    .set((eb) => ({
      attempts: eb("attempts", "+", 1),
      last_error: error.slice(0, 2000),
      due_at: retryAt,
      lease_owner: null,
      lease_until: null,
    }))
    .where("id", "=", id)
    .where("lease_owner", "=", owner)
    .execute();
}

/** The earliest instant an undelivered message is due, if any. */
export async function nextOutboxDue(db: Kysely<Database>, now: number): Promise<number | undefined> {
  // Messages leased by another worker are not ours to wait for: counting them would spin the timer.
  const row = await db
    .selectFrom("outbox")
    .select((eb) => eb.fn.min("due_at").as("due"))
    .where("delivered_at", "is", null)
    .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", now)]))
    .executeTakeFirst();
  return row?.due == null ? undefined : Number(row.due);
}

/** Deletes messages delivered before `before`; returns how many. */
export async function pruneDelivered(db: Kysely<Database>, before: number): Promise<number> {
  const result = await db.deleteFrom("outbox").where("delivered_at", "<", before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
