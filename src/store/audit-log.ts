// The hash-chained audit log: append inside a transaction, read its head, page and filter it.

import { createHash } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { RequestState } from "../model/types.ts";
import { canonicalJson } from "./canonical-json.ts";
import type { Dialect } from "./database.ts";
import { uuidv7 } from "./ids.ts";
import type { AuditEventsTable, Database } from "./schema.ts";

export interface NewAuditEvent {
  /** Given when the caller needs to refer to the event (notifications); generated otherwise. */
  id?: string;
  requestId: string | null;
  type: string;
  actor: string;
  at: number;
  data: Record<string, unknown>;
}

export interface AuditEvent {
  id: string;
  seq: number;
  requestId: string | null;
  type: string;
  actor: string;
  at: string;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export const genesisHash = "0".repeat(64);

/**
 * The hash of an event: SHA-256 of its fields as canonical JSON (keys sorted). `data` is stored as
 * canonical JSON already and is hashed as stored, so any edit of it, even a reformatting, shows.
 */
export function hashEvent(row: Omit<AuditEventsTable, "hash">): string {
  const body =
    `{"actor":${JSON.stringify(row.actor)},"at":${JSON.stringify(row.at)},"data":${row.data},` +
    `"id":${JSON.stringify(row.id)},"prevHash":${JSON.stringify(row.prev_hash)},` +
    `"requestId":${JSON.stringify(row.request_id)},"seq":${JSON.stringify(row.seq)},"type":${JSON.stringify(row.type)}}`;
  return createHash("sha256").update(body).digest("hex");
}

/** Appends events to the chain; the head row lock serialises appenders across replicas. */
export async function appendEvents(
  trx: Transaction<Database>,
  dialect: Dialect,
  events: NewAuditEvent[],
): Promise<void> {
  if (events.length === 0) return;
  const head = await trx
    .selectFrom("audit_head")
    .select(["seq", "hash"])
    .where("id", "=", 1)
    .$if(dialect === "postgres", (q) => q.forUpdate())
    .executeTakeFirstOrThrow();
  let { seq, hash } = head;
  const rows: AuditEventsTable[] = events.map((e) => {
    seq += 1;
    const row = {
      seq,
      id: e.id ?? uuidv7(e.at),
      request_id: e.requestId,
      type: e.type,
      actor: e.actor,
      at: e.at,
      data: canonicalJson(e.data),
      prev_hash: hash,
    };
    hash = hashEvent(row);
    return { ...row, hash };
  });
  for (let i = 0; i < rows.length; i += 500) {
    await trx
      .insertInto("audit_events")
      .values(rows.slice(i, i + 500))
      .execute();
  }
  await trx.updateTable("audit_head").set({ seq, hash }).where("id", "=", 1).execute();
}

export function toAuditEvent(row: AuditEventsTable): AuditEvent {
  return {
    id: row.id,
    seq: row.seq,
    requestId: row.request_id,
    type: row.type,
    actor: row.actor,
    at: new Date(row.at).toISOString(),
    data: JSON.parse(row.data) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export interface AuditFilter {
  /** Only events whose seq is greater than this. */
  after?: number | undefined;
  requestId?: string | undefined;
  /** The request's flow, target, requester and current state (events without a request never match). */
  flow?: string | undefined;
  target?: string | undefined;
  requester?: string | undefined;
  states?: RequestState[] | undefined;
  actor?: string | undefined;
  types?: string[] | undefined;
  /** Epoch milliseconds: from ≤ at < to. */
  from?: number | undefined;
  to?: number | undefined;
}

/** An event with the request it belongs to, as that request is now. */
export interface AuditEntry {
  event: AuditEvent;
  request: { flow: string; target: string | null; requester: string; state: string } | null;
}

/** Events matching the filter, in seq order, each joined with its request. */
export async function findEvents(
  db: Kysely<Database>,
  filter: AuditFilter,
  limit: number,
): Promise<AuditEntry[]> {
  let q = db
    .selectFrom("audit_events as e")
    .leftJoin("requests as r", "r.id", "e.request_id")
    .selectAll("e")
    .select(["r.id as r_id", "r.flow as r_flow", "r.target as r_target", "r.requester as r_requester"])
    .select("r.state as r_state")
    .where("e.seq", ">", filter.after ?? 0);
  if (filter.requestId !== undefined) q = q.where("e.request_id", "=", filter.requestId);
  if (filter.flow !== undefined) q = q.where("r.flow", "=", filter.flow);
  if (filter.target !== undefined) q = q.where("r.target", "=", filter.target);
  if (filter.requester !== undefined) q = q.where("r.requester", "=", filter.requester);
  if (filter.states?.length) q = q.where("r.state", "in", filter.states);
  if (filter.actor !== undefined) q = q.where("e.actor", "=", filter.actor);
  if (filter.types?.length) q = q.where("e.type", "in", filter.types);
  if (filter.from !== undefined) q = q.where("e.at", ">=", filter.from);
  if (filter.to !== undefined) q = q.where("e.at", "<", filter.to);
  const rows = await q.orderBy("e.seq").limit(limit).execute();
  return rows.map(({ r_id, r_flow, r_target, r_requester, r_state, ...row }) => ({
    event: toAuditEvent(row),
    request:
      r_id === null
        ? null
        : {
            flow: r_flow as string,
            target: r_target,
            requester: r_requester as string,
            state: r_state as string,
          },
  }));
}

export async function listEvents(
  db: Kysely<Database>,
  options: { after?: number; limit: number; requestId?: string },
): Promise<AuditEvent[]> {
  return (await findEvents(db, options, options.limit)).map((e) => e.event);
}

/** Every event of one request, in order. */
export async function eventsOfRequest(db: Kysely<Database>, requestId: string): Promise<AuditEvent[]> {
  const rows = await db
    .selectFrom("audit_events")
    .selectAll()
    .where("request_id", "=", requestId)
    .orderBy("seq")
    .execute();
  return rows.map(toAuditEvent);
}

/** The seq of the newest event (0 when there is none). */
export async function lastSeq(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom("audit_events")
    .select((eb) => eb.fn.max("seq").as("seq"))
    .executeTakeFirst();
  return row?.seq == null ? 0 : Number(row.seq);
}

/** The chain's head: the seq and hash the next event chains onto; undefined when its row is missing. */
export async function readHead(db: Kysely<Database>): Promise<{ seq: number; hash: string } | undefined> {
  const head = await db
    .selectFrom("audit_head")
    .select(["seq", "hash"])
    .where("id", "=", 1)
    .executeTakeFirst();
  return head && { seq: head.seq, hash: head.hash };
}

/** How many events of a type the requests of `requester` had since `since`, of one flow or target if given. */
export async function countRequesterEvents(
  db: Kysely<Database>,
  requester: string,
  query: { type: string; flow?: string | undefined; target?: string | undefined },
  since: number,
): Promise<number> {
  let q = db
    .selectFrom("audit_events")
    .innerJoin("requests", "requests.id", "audit_events.request_id")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("requests.requester", "=", requester.toLowerCase())
    .where("audit_events.type", "=", query.type)
    .where("audit_events.at", ">=", since);
  if (query.flow !== undefined) q = q.where("requests.flow", "=", query.flow);
  if (query.target !== undefined) q = q.where("requests.target", "=", query.target);
  return Number((await q.executeTakeFirst())?.n ?? 0);
}
