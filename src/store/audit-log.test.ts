// The hash-chained audit log on every dialect: appends verify; edits, deletions, reorders, a missing head,
// rewritten request rows and a truncated chain (against an expected head) are caught; and the CLI's answers.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { sql } from "kysely";
import { createSqliteDatabase, dialects, type TestDatabase } from "../../test/support/databases.ts";
import { appendEvents, genesisHash, hashEvent, listEvents, type NewAuditEvent } from "./audit-log.ts";
import { type VerifyResult, verifyAudit } from "./audit-verify.ts";
import { appliedSchemaVersion, migrate, openStore, type Store } from "./database.ts";
import { type AccessRequest, insertRequest, plainPolicyColumns, requestColumns } from "./requests.ts";
import { submittedDigests } from "./submitted-data.ts";

const run = promisify(execFile);
const mainTs = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

const event = (n: number, data: Record<string, unknown> = {}): NewAuditEvent => ({
  requestId: null,
  type: "test.event",
  actor: "alice@example.com",
  at: 1_700_000_000_000 + n,
  data: { n, ...data },
});

/** Five events in three transactions: [1], [2, 3], [4, 5]. */
async function appendFive(store: Store): Promise<void> {
  for (const batch of [
    [event(1)],
    [event(2, { z: 1, a: [1, { y: 2, b: null }] }), event(3)],
    [event(4), event(5)],
  ]) {
    await store.db.transaction().execute((trx) => appendEvents(trx, store.dialect, batch));
  }
}

/** A request as submit stores it, with its request.created event: with the digests of its row, or without (older jitflow). */
async function storeRequest(
  store: Store,
  id: string,
  options: { digests?: boolean; row?: Partial<AccessRequest> } = {},
): Promise<AccessRequest> {
  const at = 1_700_000_100_000;
  const row: AccessRequest = {
    ...plainPolicyColumns,
    id,
    flow: "deploy",
    target: "box",
    requester: "alice@example.com",
    requesterName: "Alice",
    requesterRole: "member",
    state: "pending",
    duration: 3600,
    fields: { reason: "rotate the signing key", ticket: "OPS-1" },
    context: { justification: "incident 42" },
    source: "api",
    createdAt: at,
    updatedAt: at,
    decidedAt: null,
    activatedAt: null,
    expiresAt: null,
    endedAt: null,
    endedReason: null,
    error: null,
    dueAt: null,
    leaseOwner: null,
    leaseUntil: null,
    version: 0,
    grant: null,
    steps: [0],
    ...options.row,
  };
  const data = {
    flow: row.flow,
    ...(options.digests === false ? {} : { submitted: submittedDigests(requestColumns(row)) }),
  };
  await store.db.transaction().execute(async (trx) => {
    await insertRequest(trx, row);
    await appendEvents(trx, store.dialect, [
      { requestId: id, type: "request.created", actor: row.requester, at, data },
    ]);
  });
  return row;
}

/** The hash of the event with this seq. */
async function hashAt(store: Store, seq: number): Promise<string> {
  const row = await store.db
    .selectFrom("audit_events")
    .select("hash")
    .where("seq", "=", seq)
    .executeTakeFirstOrThrow();
  return row.hash;
}

/** Cuts the chain after `seq` and points the head at that event: a truncation that leaves no trace inside. */
async function truncateConsistently(store: Store, seq: number): Promise<void> {
  const hash = await hashAt(store, seq);
  await sql`delete from audit_events where seq > ${seq}`.execute(store.db);
  await sql`update audit_head set seq = ${seq}, hash = ${hash} where id = 1`.execute(store.db);
}

const summary = (r: VerifyResult) => ({ ok: r.ok, events: r.events, problems: r.problems });

const editedProblem = "hash does not match the event's contents (edited)";
const linkProblem = "prevHash does not match the previous event's hash (deleted or reordered)";
const headProblem = "the chain's head does not match its last event (events deleted at the end)";
const headMissing = "the chain's head row is missing (deleted)";
const notInChain = (hash: string) =>
  `the expected head ${hash} is not in the chain (events were deleted or rewritten since it was published)`;

for (const d of await dialects()) {
  describe(d.dialect, { skip: d.skip }, () => {
    const databases: TestDatabase[] = [];
    const stores: Store[] = [];

    /** A fresh, migrated database, with five events in it unless `empty`. */
    async function fresh(empty = false): Promise<Store> {
      const database = await d.create();
      databases.push(database);
      const store = openStore(database.url);
      stores.push(store);
      await migrate(store);
      if (!empty) await appendFive(store);
      return store;
    }

    after(async () => {
      for (const store of stores) await store.close();
      for (const database of databases) await database.drop();
    });

    test("appended events form one intact chain, in order, across transactions", async () => {
      const store = await fresh();
      const events = await listEvents(store.db, { limit: 100 });
      assert.deepEqual(await verifyAudit(store.db), {
        ok: true,
        events: 5,
        problems: [],
        head: { seq: 5, hash: events[4]?.hash },
        requests: { covered: 0, notCovered: 0 },
      });
      assert.deepEqual(
        events.map((e) => e.seq),
        [1, 2, 3, 4, 5],
      );
      assert.equal(events[0]?.prevHash, genesisHash);
      for (let i = 1; i < events.length; i += 1) assert.equal(events[i]?.prevHash, events[i - 1]?.hash);
      assert.equal(new Set(events.map((e) => e.hash)).size, 5);
      assert.deepEqual(events[1]?.data, { n: 2, z: 1, a: [1, { y: 2, b: null }] });
      assert.equal(events[4]?.at, new Date(1_700_000_000_005).toISOString());
      const head = await store.db.selectFrom("audit_head").selectAll().executeTakeFirstOrThrow();
      assert.deepEqual([head.seq, head.hash], [5, events[4]?.hash]);
    });

    test("a fresh database verifies: no events, and the head of count 0 its first migration wrote", async () => {
      const store = await fresh(true);
      assert.deepEqual(await verifyAudit(store.db), {
        ok: true,
        events: 0,
        problems: [],
        head: { seq: 0, hash: genesisHash },
        requests: { covered: 0, notCovered: 0 },
      });
    });

    test("a chain verified page by page is the same as verified at once", async () => {
      const store = await fresh();
      assert.deepEqual(summary(await verifyAudit(store.db, { pageSize: 2 })), {
        ok: true,
        events: 5,
        problems: [],
      });
      await sql`update audit_events set actor = ${"mallory@example.com"} where seq = 3`.execute(store.db);
      assert.deepEqual((await verifyAudit(store.db, { pageSize: 2 })).problems, [
        { seq: 3, problem: editedProblem },
      ]);
    });

    test("concurrent appenders still make one chain", async () => {
      const store = await fresh();
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.db
            .transaction()
            .execute((trx) => appendEvents(trx, store.dialect, [event(10 + i), event(20 + i)])),
        ),
      );
      assert.deepEqual(summary(await verifyAudit(store.db)), { ok: true, events: 21, problems: [] });
    });

    test("an edited event's data is reported as edited", async () => {
      const store = await fresh();
      await sql`update audit_events set data = ${'{"n":99}'} where seq = 2`.execute(store.db);
      assert.deepEqual(summary(await verifyAudit(store.db)), {
        ok: false,
        events: 5,
        problems: [{ seq: 2, problem: editedProblem }],
      });
    });

    test("an event rewritten with a recomputed hash breaks the chain after it", async () => {
      const store = await fresh();
      const [row] = await listEvents(store.db, { after: 1, limit: 1 });
      assert.ok(row);
      // A forger who recomputes the hash still cannot change what the next event points to.
      const forged = {
        seq: 2,
        id: row.id,
        request_id: row.requestId,
        type: row.type,
        actor: row.actor,
        at: Date.parse(row.at),
        data: '{"n":99}',
        prev_hash: row.prevHash,
      };
      await sql`update audit_events set data = ${forged.data}, hash = ${hashEvent(forged)} where seq = 2`.execute(
        store.db,
      );
      assert.deepEqual((await verifyAudit(store.db)).problems, [{ seq: 3, problem: linkProblem }]);
      // Re-pointing the next event at the forgery changes that event's contents in turn.
      await sql`update audit_events set prev_hash = ${hashEvent(forged)} where seq = 3`.execute(store.db);
      assert.deepEqual((await verifyAudit(store.db)).problems, [{ seq: 3, problem: editedProblem }]);
    });

    test("a deleted middle event is reported", async () => {
      const store = await fresh();
      await sql`delete from audit_events where seq = 3`.execute(store.db);
      assert.deepEqual(summary(await verifyAudit(store.db)), {
        ok: false,
        events: 4,
        problems: [
          { seq: 4, problem: "expected seq 3: events are missing before it" },
          { seq: 4, problem: linkProblem },
        ],
      });
    });

    test("two events with their seq swapped (reordered) are reported", async () => {
      const store = await fresh();
      await sql`update audit_events set seq = -1 where seq = 2`.execute(store.db);
      await sql`update audit_events set seq = 2 where seq = 3`.execute(store.db);
      await sql`update audit_events set seq = 3 where seq = -1`.execute(store.db);
      assert.deepEqual(summary(await verifyAudit(store.db)), {
        ok: false,
        events: 5,
        problems: [
          { seq: 2, problem: linkProblem },
          { seq: 2, problem: editedProblem },
          { seq: 3, problem: linkProblem },
          { seq: 3, problem: editedProblem },
          { seq: 4, problem: linkProblem },
        ],
      });
    });

    test("a deleted last event is reported through the head", async () => {
      const store = await fresh();
      await sql`delete from audit_events where seq = 5`.execute(store.db);
      assert.deepEqual(summary(await verifyAudit(store.db)), {
        ok: false,
        events: 4,
        problems: [{ seq: 5, problem: headProblem }],
      });
    });

    test("a deleted first event is reported", async () => {
      const store = await fresh();
      await sql`delete from audit_events where seq = 1`.execute(store.db);
      assert.deepEqual((await verifyAudit(store.db)).problems, [
        { seq: 2, problem: "expected seq 1: events are missing before it" },
        { seq: 2, problem: linkProblem },
      ]);
    });

    test("every event deleted is reported through the head", async () => {
      const store = await fresh();
      await sql`delete from audit_events`.execute(store.db);
      assert.deepEqual(summary(await verifyAudit(store.db)), {
        ok: false,
        events: 0,
        problems: [{ seq: 5, problem: headProblem }],
      });
    });

    test("a deleted head row is reported: the first migration wrote it, so it is never legitimately absent", async () => {
      const store = await fresh();
      await sql`delete from audit_head`.execute(store.db);
      const result = await verifyAudit(store.db);
      assert.deepEqual(summary(result), {
        ok: false,
        events: 5,
        problems: [{ seq: 0, problem: headMissing }],
      });
      assert.equal(result.head, null);
    });

    test("every event and the head deleted is not an empty log", async () => {
      const store = await fresh();
      await sql`delete from audit_events`.execute(store.db);
      await sql`delete from audit_head`.execute(store.db);
      assert.deepEqual(summary(await verifyAudit(store.db)), {
        ok: false,
        events: 0,
        problems: [{ seq: 0, problem: headMissing }],
      });
    });

    test("a request's stored row is checked against its request.created event, by column, never showing a value", async () => {
      const store = await fresh();
      const row = await storeRequest(store, "req-a");
      await storeRequest(store, "req-b");
      assert.deepEqual(await verifyAudit(store.db), {
        ok: true,
        events: 7,
        problems: [],
        head: { seq: 7, hash: await hashAt(store, 7) },
        requests: { covered: 2, notCovered: 0 },
      });
      // The justification and a field rewritten; the same JSON with its keys reordered is no change.
      await sql`update requests set fields = ${JSON.stringify({ reason: "routine", ticket: "OPS-1" })},
        context = ${JSON.stringify({ justification: "nothing to see" })} where id = ${"req-a"}`.execute(
        store.db,
      );
      await sql`update requests set fields = ${JSON.stringify({ ticket: "OPS-1", reason: "rotate the signing key" })}
        where id = ${"req-b"}`.execute(store.db);
      const result = await verifyAudit(store.db);
      assert.deepEqual(summary(result), {
        ok: false,
        events: 7,
        problems: [
          {
            seq: 6,
            requestId: "req-a",
            problem:
              "request req-a: context, fields changed after it was submitted (no longer what its request.created event recorded)",
          },
        ],
      });
      assert.doesNotMatch(
        JSON.stringify(result),
        /routine|nothing to see|incident 42|rotate the signing key/,
      );

      // Everything else submitted is covered too: who asked, for how long, the approval steps, the start.
      await sql`update requests set fields = ${JSON.stringify(row.fields)}, context = ${JSON.stringify(row.context)} where id = ${"req-a"}`.execute(
        store.db,
      );
      await sql`update requests set requester = ${"mallory@example.com"}, duration = ${86400}, steps = ${"[]"},
        start_at = ${1_700_000_200_000}, requester_role = ${"admin"} where id = ${"req-b"}`.execute(store.db);
      assert.deepEqual((await verifyAudit(store.db)).problems, [
        {
          seq: 7,
          requestId: "req-b",
          problem:
            "request req-b: duration, requester, requesterRole, startAt, steps changed after it was submitted (no longer what its request.created event recorded)",
        },
      ]);
    });

    test("a deleted request row, and a row with no request.created event, are reported", async () => {
      const store = await fresh();
      await storeRequest(store, "req-a");
      await storeRequest(store, "req-b");
      await sql`delete from requests where id = ${"req-a"}`.execute(store.db);
      await sql`delete from audit_events where request_id = ${"req-b"}`.execute(store.db);
      // The end of the chain cut off consistently, so that only the request rows tell.
      await sql`update audit_head set seq = 6, hash = ${await hashAt(store, 6)} where id = 1`.execute(
        store.db,
      );
      assert.deepEqual(summary(await verifyAudit(store.db)), {
        ok: false,
        events: 6,
        problems: [
          {
            seq: 6,
            requestId: "req-a",
            problem: "request req-a has a request.created event but is not in the requests table (deleted)",
          },
          {
            seq: 0,
            requestId: "req-b",
            problem:
              "request req-b has no request.created event (inserted outside jitflow, or its events were deleted)",
          },
        ],
      });
    });

    test("every event wiped and the head reset to count 0: the requests left behind show it", async () => {
      const store = await fresh(true);
      await storeRequest(store, "req-a");
      await sql`delete from audit_events`.execute(store.db);
      await sql`update audit_head set seq = 0, hash = ${genesisHash} where id = 1`.execute(store.db);
      assert.deepEqual(summary(await verifyAudit(store.db)), {
        ok: false,
        events: 0,
        problems: [
          {
            seq: 0,
            requestId: "req-a",
            problem:
              "request req-a has no request.created event (inserted outside jitflow, or its events were deleted)",
          },
        ],
      });
    });

    test("request.created events from before the digests are counted as not covered, and not failed", async () => {
      const store = await fresh();
      await storeRequest(store, "old", { digests: false });
      await storeRequest(store, "new");
      await sql`update requests set fields = ${"{}"} where id = ${"old"}`.execute(store.db);
      const result = await verifyAudit(store.db);
      assert.deepEqual(summary(result), { ok: true, events: 7, problems: [] });
      assert.deepEqual(result.requests, { covered: 1, notCovered: 1 });
    });

    test("an expected head: the head or an earlier event passes; after a consistent truncation it is not in the chain", async () => {
      const store = await fresh();
      const third = await hashAt(store, 3);
      const fifth = await hashAt(store, 5);
      assert.deepEqual((await verifyAudit(store.db, { expectHead: fifth })).expectedHead, {
        hash: fifth,
        seq: 5,
      });
      const earlier = await verifyAudit(store.db, { expectHead: third });
      assert.deepEqual([earlier.ok, earlier.expectedHead], [true, { hash: third, seq: 3 }]);

      await truncateConsistently(store, 3);
      // On its own the shortened chain is intact: nothing inside the database says events 4 and 5 existed.
      assert.deepEqual(summary(await verifyAudit(store.db)), { ok: true, events: 3, problems: [] });
      assert.equal((await verifyAudit(store.db, { expectHead: third })).ok, true);
      const cut = await verifyAudit(store.db, { expectHead: fifth });
      assert.deepEqual(summary(cut), {
        ok: false,
        events: 3,
        problems: [{ seq: 0, problem: notInChain(fifth) }],
      });
      assert.deepEqual(cut.expectedHead, { hash: fifth, seq: null });

      // Rewritten from event 2 on, with every hash recomputed: an anchor taken before still catches it.
      await sql`delete from audit_events where seq > 1`.execute(store.db);
      await sql`update audit_head set seq = 1, hash = ${await hashAt(store, 1)} where id = 1`.execute(
        store.db,
      );
      await store.db
        .transaction()
        .execute((trx) => appendEvents(trx, store.dialect, [event(2, { forged: true }), event(3)]));
      assert.equal((await verifyAudit(store.db)).ok, true);
      assert.deepEqual((await verifyAudit(store.db, { expectHead: third })).problems, [
        { seq: 0, problem: notInChain(third) },
      ]);
      // The genesis hash is every chain's ancestor.
      assert.deepEqual((await verifyAudit(store.db, { expectHead: genesisHash })).expectedHead, {
        hash: genesisHash,
        seq: 0,
      });
    });
  });
}

describe("jitflow audit verify, as a process", () => {
  const databases: TestDatabase[] = [];
  after(async () => {
    for (const database of databases) await database.drop();
  });

  /** A migrated SQLite file with five events in it. */
  async function fiveEvents(): Promise<{ url: string; store: () => Store }> {
    const database = await createSqliteDatabase();
    databases.push(database);
    const store = openStore(database.url);
    await migrate(store);
    await appendFive(store);
    await store.close();
    return { url: database.url, store: () => openStore(database.url) };
  }

  async function change(open: () => Store, fn: (store: Store) => Promise<unknown>): Promise<void> {
    const store = open();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  }

  const verify = (url: string, ...args: string[]) =>
    run(process.execPath, [mainTs, "audit", "verify", "--database", url, ...args]).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );

  test("an intact log: exit 0; an edited one: non-zero, with the event and the problem", async () => {
    const db = await fiveEvents();
    const intact = await verify(db.url);
    assert.equal(intact.code, 0, intact.stderr);
    assert.equal(intact.stdout, "ok: 5 event(s), chain intact\n");

    await change(db.store, (store) =>
      sql`update audit_events set data = ${'{"n":2,"approved":true}'} where seq = 2`.execute(store.db),
    );
    const tampered = await verify(db.url);
    assert.equal(tampered.code, 1);
    assert.equal(tampered.stdout, `seq 2: ${editedProblem}\nFAILED: 1 problem(s) in 5 event(s)\n`);
  });

  test("--json prints the whole result, the head to keep as an anchor included", async () => {
    const db = await fiveEvents();
    let hash = "";
    await change(db.store, async (store) => {
      hash = await hashAt(store, 5);
    });
    const out = await verify(db.url, "--json");
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), {
      ok: true,
      events: 5,
      problems: [],
      head: { seq: 5, hash },
      requests: { covered: 0, notCovered: 0 },
    });
    const anchored = await verify(db.url, "--json", "--expect-head", hash);
    assert.deepEqual(JSON.parse(anchored.stdout).expectedHead, { hash, seq: 5 });
  });

  test("a request id planted in the database cannot act on the terminal that reads the report", async () => {
    const db = await fiveEvents();
    const planted = "x\u001b]0;pwned\u0007\u001b[2J\rall good";
    await change(db.store, (store) => storeRequest(store, planted, { digests: false }));
    await change(db.store, (store) =>
      sql`delete from audit_events where request_id = ${planted}`.execute(store.db),
    );
    await change(db.store, async (store) => {
      const last = await store.db
        .selectFrom("audit_events")
        .select(["seq", "hash"])
        .orderBy("seq", "desc")
        .executeTakeFirstOrThrow();
      await sql`update audit_head set seq = ${last.seq}, hash = ${last.hash} where id = 1`.execute(store.db);
    });
    const out = await verify(db.url);
    assert.equal(out.code, 1);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: raw control characters are what must not appear
    assert.doesNotMatch(out.stdout, /[\u0000-\u0009\u000b-\u001f\u007f]/);
    assert.match(
      out.stdout,
      /request x\\u001b\]0;pwned\\u0007\\u001b\[2J\\rall good has no request\.created event/,
    );
  });

  test("a deleted head row: exit 1, saying so", async () => {
    const db = await fiveEvents();
    await change(db.store, (store) => sql`delete from audit_head`.execute(store.db));
    const out = await verify(db.url);
    assert.equal(out.code, 1);
    assert.equal(out.stdout, `${headMissing}\nFAILED: 1 problem(s) in 5 event(s)\n`);
  });

  test("--expect-head: an anchor from earlier passes; once the end is cut off and the head rewritten, exit 1", async () => {
    const db = await fiveEvents();
    let third = "";
    let fifth = "";
    await change(db.store, async (store) => {
      third = await hashAt(store, 3);
      fifth = await hashAt(store, 5);
    });
    const head = await verify(db.url, "--expect-head", fifth);
    assert.equal(head.code, 0, head.stderr);
    assert.equal(
      head.stdout,
      "ok: 5 event(s), chain intact\nexpected head: in the chain at seq 5, 0 event(s) after it\n",
    );
    const earlier = await verify(db.url, "--expect-head", third.toUpperCase());
    assert.equal(earlier.code, 0, earlier.stderr);
    assert.match(earlier.stdout, /^expected head: in the chain at seq 3, 2 event\(s\) after it$/m);

    await change(db.store, (store) => truncateConsistently(store, 3));
    assert.equal((await verify(db.url)).code, 0, "without the anchor, nothing shows");
    const cut = await verify(db.url, "--expect-head", fifth);
    assert.equal(cut.code, 1);
    assert.equal(cut.stdout, `${notInChain(fifth)}\nFAILED: 1 problem(s) in 3 event(s)\n`);
  });

  test("exit 2 when it cannot verify: a malformed hash, a database that does not exist (not created), one never migrated", async () => {
    const db = await fiveEvents();
    const bad = await verify(db.url, "--expect-head", "abc123");
    assert.deepEqual(
      [bad.code, bad.stdout, bad.stderr],
      [
        2,
        "",
        'error: VALIDATION_FAILED: --expect-head must be a hash published by jitflow (64 hex digits), not "abc123"\n',
      ],
    );
    const missingArgument = await verify(db.url, "--expect-head");
    assert.equal(missingArgument.code, 2);
    assert.match(missingArgument.stderr, /--expect-head/);

    const empty = await createSqliteDatabase();
    databases.push(empty);
    const path = empty.url.slice("sqlite:".length);
    const absent = await verify(empty.url);
    assert.deepEqual([absent.code, absent.stdout], [2, ""]);
    assert.ok(
      absent.stderr.startsWith(
        `error: DATABASE_NOT_FOUND: there is no database at ${path} (--database); nothing was created.`,
      ),
      absent.stderr,
    );
    assert.equal(existsSync(path), false, "the database was not created");
    assert.equal(existsSync(dirname(path)), true);

    const never = openStore(empty.url);
    await sql`create table unrelated (id integer)`.execute(never.db);
    await never.close();
    const unmigrated = await verify(empty.url);
    assert.equal(unmigrated.code, 2);
    assert.equal(
      unmigrated.stderr,
      `error: DATABASE_NOT_MIGRATED: the database ${empty.url} (--database) has no jitflow tables; create them with jitflow migrate, or start jitflow serve on it\n`,
    );

    // A database an older jitflow left: this one refuses to read it until it is migrated, and changes nothing.
    const older = openStore(empty.url);
    await sql`drop table unrelated`.execute(older.db);
    await migrate(older, { to: "005-policies" });
    await older.close();
    const behind = await verify(empty.url);
    assert.equal(behind.code, 2);
    assert.match(
      behind.stderr,
      /^error: SCHEMA_MISMATCH: the database sqlite:\S+ is at schema 005-policies; this jitflow expects 006-grants/,
    );
    const after = openStore(empty.url);
    assert.equal(await appliedSchemaVersion(after), "005-policies", "nothing was migrated");
    await after.close();
  });
});
