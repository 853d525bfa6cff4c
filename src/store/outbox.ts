// The outbox: messages written in the same transaction as the state change, delivered later with retries.

import type { ExpressionBuilder, Kysely, Transaction } from "kysely";
import type { Dialect } from "./database.ts";
import { uuidv7 } from "./ids.ts";
import { claimLeased, notLeased } from "./leases.ts";
import type { AccessRequest } from "./requests.ts";
import type { Database, OutboxRow } from "./schema.ts";

export interface OutboxMessage {
  kind: string;
  payload: Record<string, unknown>;
  requestId: string | null;
  /** Messages sharing a key are delivered one at a time, in the order they were written. */
  orderKey?: string | undefined;
  /** A second message with the same key is not written (Slack retries, double submissions). */
  dedupeKey?: string | undefined;
  /** Not before this instant (default: at once). */
  dueAt?: number | undefined;
}

/** An audit event as the messages it causes carry it. */
export interface EventInfo {
  id: string;
  type: string;
  actor: string;
  at: number;
  data: Record<string, unknown>;
}

/**
 * An event one transaction recorded, as planners see it: the audit event, and the request as it was just
 * after it (null for an event of the system rather than of one request, such as drift found in a target).
 */
export interface RecordedEvent extends EventInfo {
  request: AccessRequest | null;
}

/**
 * Turns the events of one transaction into the outbox messages they cause (Slack posts, emails, webhooks,
 * log lines). The server registers one for each channel that is on; the engine knows none of them.
 */
export type EventPlanner = (events: readonly RecordedEvent[]) => OutboxMessage[];

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
    due_at: m.dueAt ?? now,
    order_key: m.orderKey ?? null,
    dedupe_key: m.dedupeKey ?? null,
    last_error: null,
    lease_owner: null,
    lease_until: null,
    delivered_at: null,
  }));
  for (let i = 0; i < rows.length; i += 500) {
    await trx
      .insertInto("outbox")
      .values(rows.slice(i, i + 500))
      .onConflict((oc) => oc.column("dedupe_key").doNothing())
      .execute();
  }
}

/**
 * Leases up to `limit` due, undelivered messages for `owner`. Of the messages sharing an order key only
 * the oldest undelivered one can be leased, so a key's messages go out one by one, in order, even
 * when one of them waits for a retry.
 */
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
    .where(notLeased(now))
    .where(headOfItsKey)
    .orderBy("due_at")
    .limit(limit);
  return claimLeased(db, dialect, "outbox", due, owner, now, leaseMs);
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
  countAttempt = true,
): Promise<void> {
  await db
    .updateTable("outbox")
    .set((eb) => ({
      attempts: eb("attempts", "+", countAttempt ? 1 : 0),
      last_error: error.slice(0, 2000),
      due_at: retryAt,
      lease_owner: null,
      lease_until: null,
    }))
    .where("id", "=", id)
    .where("lease_owner", "=", owner)
    .execute();
}

/** Extends this owner's leases on the messages it is still working on. */
export async function renewOutboxLeases(db: Kysely<Database>, owner: string, until: number): Promise<void> {
  await db
    .updateTable("outbox")
    .set({ lease_until: until })
    .where("lease_owner", "=", owner)
    .where("delivered_at", "is", null)
    .execute();
}

/** Gives up on a message that can never be delivered: it is kept, marked delivered, with the reason. */
export async function markDropped(
  db: Kysely<Database>,
  id: string,
  owner: string,
  error: string,
  now: number,
): Promise<void> {
  await db
    .updateTable("outbox")
    .set((eb) => ({
      attempts: eb("attempts", "+", 1),
      last_error: `dropped: ${error}`.slice(0, 2000),
      delivered_at: now,
      lease_owner: null,
      lease_until: null,
    }))
    .where("id", "=", id)
    .where("lease_owner", "=", owner)
    .execute();
}

/** No older message with the same order key is still undelivered. */
function headOfItsKey(eb: ExpressionBuilder<Database, "outbox">) {
  return eb.or([
    eb("order_key", "is", null),
    eb.not(
      eb.exists(
        eb
          .selectFrom("outbox as earlier")
          .select("earlier.id")
          .whereRef("earlier.order_key", "=", "outbox.order_key")
          .where("earlier.delivered_at", "is", null)
          .whereRef("earlier.id", "<", "outbox.id"),
      ),
    ),
  ]);
}

/** The earliest instant an undelivered message is due, if any. */
export async function nextOutboxDue(db: Kysely<Database>, now: number): Promise<number | undefined> {
  // Messages leased by another worker are not ours to wait for: counting them would spin the timer.
  const row = await db
    .selectFrom("outbox")
    .select((eb) => eb.fn.min("due_at").as("due"))
    .where("delivered_at", "is", null)
    .where(notLeased(now))
    // A message waiting behind an older one of its key is not due yet, whatever its due_at says.
    .where(headOfItsKey)
    .executeTakeFirst();
  return row?.due == null ? undefined : Number(row.due);
}

/** Deletes messages delivered before `before`; returns how many. */
export async function pruneDelivered(db: Kysely<Database>, before: number): Promise<number> {
  const result = await db.deleteFrom("outbox").where("delivered_at", "<", before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Delivers messages of one kind; `deliver` throws to retry later (a `retryAfterMs` on the error is honoured). */
export interface Sender {
  deliver(payload: Record<string, unknown>, message: OutboxRow): Promise<void>;
  /**
   * Mark each message delivered as soon as it is, not with its batch: for messages whose effect is not
   * idempotent (an action someone took), so a crash mid-batch re-runs as few of them as possible.
   */
  markEach?: boolean;
}
