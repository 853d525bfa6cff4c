// Verifies the audit log: the hash chain, its head, each request's row against its request.created event, and an expected head.

import type { Kysely } from "kysely";
import { genesisHash, hashEvent, readHead } from "./audit-log.ts";
import type { Database } from "./schema.ts";
import { changedColumns, type SubmittedRow, submittedColumns } from "./submitted-data.ts";

export interface VerifyProblem {
  /** The event concerned; 0 for the log as a whole (its head, an expected head, a request with no event). */
  seq: number;
  problem: string;
  /** The request whose stored row the problem is about. */
  requestId?: string;
}

export interface VerifyResult {
  ok: boolean;
  events: number;
  problems: VerifyProblem[];
  /** The head as stored (the seq and hash new events chain onto); null when its row is missing. */
  head: { seq: number; hash: string } | null;
  /**
   * Request rows checked against the digests their request.created event recorded, and those whose
   * event records none (written by a jitflow from before the digests): not checked, not a problem.
   */
  requests: { covered: number; notCovered: number };
  /** Only when an expected head was given: the seq of the event with that hash (0: the genesis hash), or null. */
  expectedHead?: { hash: string; seq: number | null };
}

export interface VerifyOptions {
  /** Events read per query. */
  pageSize?: number;
  /**
   * A hash published earlier (an anchor kept outside the database): it must be the hash of an event of
   * the chain, the head or any before it, or events were deleted or rewritten since it was published.
   */
  expectHead?: string | undefined;
}

const problems = {
  edited: "hash does not match the event's contents (edited)",
  link: "prevHash does not match the previous event's hash (deleted or reordered)",
  head: "the chain's head does not match its last event (events deleted at the end)",
  headMissing: "the chain's head row is missing (deleted)",
  missing: (expected: number) => `expected seq ${expected}: events are missing before it`,
  changed: (id: string, columns: string[]) =>
    `request ${id}: ${columns.join(", ")} changed after it was submitted (no longer what its request.created event recorded)`,
  rowDeleted: (id: string) =>
    `request ${id} has a request.created event but is not in the requests table (deleted)`,
  noEvent: (id: string) =>
    `request ${id} has no request.created event (inserted outside jitflow, or its events were deleted)`,
  notInChain: (hash: string) =>
    `the expected head ${hash} is not in the chain (events were deleted or rewritten since it was published)`,
};

interface Created {
  seq: number;
  requestId: string;
  /** The digests the event recorded; undefined for events written before they were. */
  submitted: Record<string, unknown> | undefined;
}

function submittedOf(data: string): Record<string, unknown> | undefined {
  try {
    const submitted = (JSON.parse(data) as { submitted?: unknown }).submitted;
    return submitted !== null && typeof submitted === "object"
      ? (submitted as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined; // not JSON: the chain check reports the event as edited
  }
}

/** Compares the stored rows of requests with what their request.created events recorded. */
async function checkRequests(
  db: Kysely<Database>,
  created: Created[],
  summary: VerifyResult["requests"],
  found: VerifyProblem[],
): Promise<void> {
  const columns = Object.values(submittedColumns);
  for (let i = 0; i < created.length; i += 500) {
    const chunk = created.slice(i, i + 500);
    const rows: SubmittedRow[] = await db
      .selectFrom("requests")
      .select(["id", ...columns])
      .where(
        "id",
        "in",
        chunk.map((c) => c.requestId),
      )
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const event of chunk) {
      const row = byId.get(event.requestId);
      if (!row) {
        found.push({
          seq: event.seq,
          requestId: event.requestId,
          problem: problems.rowDeleted(event.requestId),
        });
        continue;
      }
      if (!event.submitted) {
        summary.notCovered += 1;
        continue;
      }
      summary.covered += 1;
      const changed = changedColumns(row, event.submitted);
      if (changed.length > 0) {
        found.push({
          seq: event.seq,
          requestId: event.requestId,
          problem: problems.changed(event.requestId, changed),
        });
      }
    }
  }
}

/**
 * Walks the whole chain: any edited, deleted, inserted or reordered event breaks it; the head must
 * exist and match the last event; every request row must match its request.created event, and have
 * one. The chain is not keyed, so a consistent rewrite of the end of it, head included, is caught only
 * against a head published earlier (`expectHead`).
 */
export async function verifyAudit(db: Kysely<Database>, options: VerifyOptions = {}): Promise<VerifyResult> {
  const pageSize = options.pageSize ?? 5000;
  const found: VerifyProblem[] = [];
  const aboutRequests: VerifyProblem[] = [];
  const requests = { covered: 0, notCovered: 0 };
  let anchor: number | null = options.expectHead === genesisHash ? 0 : null;
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
    const created: Created[] = [];
    for (const row of rows) {
      count += 1;
      if (row.seq !== expectedSeq) found.push({ seq: row.seq, problem: problems.missing(expectedSeq) });
      if (row.prev_hash !== prevHash) found.push({ seq: row.seq, problem: problems.link });
      const hash = hashEvent(row);
      if (hash !== row.hash) found.push({ seq: row.seq, problem: problems.edited });
      else if (anchor === null && hash === options.expectHead) anchor = row.seq;
      if (row.type === "request.created" && row.request_id !== null) {
        created.push({ seq: row.seq, requestId: row.request_id, submitted: submittedOf(row.data) });
      }
      prevHash = row.hash;
      expectedSeq = row.seq + 1;
      after = row.seq;
    }
    await checkRequests(db, created, requests, aboutRequests);
    if (rows.length < pageSize) break;
  }

  const head = (await readHead(db)) ?? null;
  if (!head) found.push({ seq: 0, problem: problems.headMissing });
  else if (head.seq !== expectedSeq - 1 || head.hash !== prevHash)
    found.push({ seq: head.seq, problem: problems.head });

  found.push(...aboutRequests);
  const unrecorded = await db
    .selectFrom("requests as r")
    .select("r.id")
    .where(({ exists, not, selectFrom }) =>
      not(
        exists(
          selectFrom("audit_events as e")
            .select("e.seq")
            .whereRef("e.request_id", "=", "r.id")
            .where("e.type", "=", "request.created"),
        ),
      ),
    )
    .orderBy("r.created_at")
    .orderBy("r.id")
    .execute();
  for (const { id } of unrecorded) found.push({ seq: 0, requestId: id, problem: problems.noEvent(id) });

  if (options.expectHead !== undefined && anchor === null) {
    found.push({ seq: 0, problem: problems.notInChain(options.expectHead) });
  }
  return {
    ok: found.length === 0,
    events: count,
    problems: found,
    head,
    requests,
    ...(options.expectHead === undefined ? {} : { expectedHead: { hash: options.expectHead, seq: anchor } }),
  };
}
