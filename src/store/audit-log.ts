// The hash-chained audit log: append inside a transaction, page and filter it, and verify the chain.

import { createHash } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
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

/** JSON with object keys sorted, so a hash does not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

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
  states?: string[] | undefined;
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

export interface VerifyProblem {
  seq: number;
  problem: string;
}

export interface VerifyResult {
  ok: boolean;
  events: number;
  problems: VerifyProblem[];
}

/** Walks the whole chain: any edited, deleted, inserted or reordered event breaks it. */
export async function verifyChain(db: Kysely<Database>, pageSize = 5000): Promise<VerifyResult> {
  const problems: VerifyProblem[] = [];
  let prevHash = genesisHash;
  let expectedSeq = 1;
  let count = 0;
  let after = 0;
  for (;;) {
    const rows = await db
      .selectFrom("audit_events")
      .selectAll()
      .where("seq", ">", after)
      .orderBy("seq")
      .limit(pageSize)
      .execute();
    for (const row of rows) {
      count += 1;
      if (row.seq !== expectedSeq) {
        problems.push({ seq: row.seq, problem: `expected seq ${expectedSeq}: events are missing before it` });
      }
      if (row.prev_hash !== prevHash) {
        problems.push({
          seq: row.seq,
          problem: "prevHash does not match the previous event's hash (deleted or reordered)",
        });
      }
      if (hashEvent(row) !== row.hash) {
        problems.push({ seq: row.seq, problem: "hash does not match the event's contents (edited)" });
      }
      prevHash = row.hash;
      expectedSeq = row.seq + 1;
      after = row.seq;
    }
    if (rows.length < pageSize) break;
  }
  const head = await db
    .selectFrom("audit_head")
    .select(["seq", "hash"])
    .where("id", "=", 1)
    .executeTakeFirst();
  if (head && (head.seq !== expectedSeq - 1 || head.hash !== prevHash)) {
    problems.push({
      seq: head.seq,
      problem: "the chain's head does not match its last event (events deleted at the end)",
    });
  }
  return { ok: problems.length === 0, events: count, problems };
}
