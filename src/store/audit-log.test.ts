// The hash-chained audit log on every dialect: appends verify, and edits, deletions and reorders are caught.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { sql } from "kysely";
import { createSqliteDatabase, dialects, type TestDatabase } from "../../test/support/databases.ts";
import {
  appendEvents,
  genesisHash,
  hashEvent,
  listEvents,
  type NewAuditEvent,
  verifyChain,
} from "./audit-log.ts";
import { migrate, openStore, type Store } from "./database.ts";

const run = promisify(execFile);
const mainTs = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

const event = (n: number, data: Record<string, unknown> = {}): NewAuditEvent => ({
  requestId: `req-${n}`,
  type: "request.created",
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

const editedProblem = "hash does not match the event's contents (edited)";
const linkProblem = "prevHash does not match the previous event's hash (deleted or reordered)";
const headProblem = "the chain's head does not match its last event (events deleted at the end)";

for (const d of await dialects()) {
  describe(d.dialect, { skip: d.skip }, () => {
    const databases: TestDatabase[] = [];
    const stores: Store[] = [];

    /** A fresh, migrated database with five events in it. */
    async function fresh(): Promise<Store> {
      const database = await d.create();
      databases.push(database);
      const store = openStore(database.url);
      stores.push(store);
      await migrate(store);
      await appendFive(store);
      return store;
    }

    after(async () => {
      for (const store of stores) await store.close();
      for (const database of databases) await database.drop();
    });

    test("appended events form one intact chain, in order, across transactions", async () => {
      const store = await fresh();
      assert.deepEqual(await verifyChain(store.db), { ok: true, events: 5, problems: [] });
      const events = await listEvents(store.db, { limit: 100 });
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

    test("a chain verified page by page is the same as verified at once", async () => {
      const store = await fresh();
      assert.deepEqual(await verifyChain(store.db, 2), { ok: true, events: 5, problems: [] });
      await sql`update audit_events set actor = ${"mallory@example.com"} where seq = 3`.execute(store.db);
      assert.deepEqual((await verifyChain(store.db, 2)).problems, [{ seq: 3, problem: editedProblem }]);
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
      assert.deepEqual(await verifyChain(store.db), { ok: true, events: 21, problems: [] });
    });

    test("an edited event's data is reported as edited", async () => {
      const store = await fresh();
      await sql`update audit_events set data = ${'{"n":99}'} where seq = 2`.execute(store.db);
      assert.deepEqual(await verifyChain(store.db), {
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
      assert.deepEqual((await verifyChain(store.db)).problems, [{ seq: 3, problem: linkProblem }]);
      // Re-pointing the next event at the forgery changes that event's contents in turn.
      await sql`update audit_events set prev_hash = ${hashEvent(forged)} where seq = 3`.execute(store.db);
      assert.deepEqual((await verifyChain(store.db)).problems, [{ seq: 3, problem: editedProblem }]);
    });

    test("a deleted middle event is reported", async () => {
      const store = await fresh();
      await sql`delete from audit_events where seq = 3`.execute(store.db);
      assert.deepEqual(await verifyChain(store.db), {
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
      assert.deepEqual(await verifyChain(store.db), {
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
      assert.deepEqual(await verifyChain(store.db), {
        ok: false,
        events: 4,
        problems: [{ seq: 5, problem: headProblem }],
      });
    });

    test("a deleted first event is reported", async () => {
      const store = await fresh();
      await sql`delete from audit_events where seq = 1`.execute(store.db);
      assert.deepEqual((await verifyChain(store.db)).problems, [
        { seq: 2, problem: "expected seq 1: events are missing before it" },
        { seq: 2, problem: linkProblem },
      ]);
    });

    test("every event deleted is reported through the head", async () => {
      const store = await fresh();
      await sql`delete from audit_events`.execute(store.db);
      assert.deepEqual(await verifyChain(store.db), {
        ok: false,
        events: 0,
        problems: [{ seq: 5, problem: headProblem }],
      });
    });
  });
}

describe("jitflow audit verify, as a process", () => {
  let database: TestDatabase;
  before(async () => {
    database = await createSqliteDatabase();
    const store = openStore(database.url);
    await migrate(store);
    await appendFive(store);
    await store.close();
  });
  after(async () => {
    await database?.drop();
  });

  const verify = () =>
    run(process.execPath, [mainTs, "audit", "verify", "--database", database.url]).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );

  test("an intact log: exit 0; an edited one: non-zero, with the event and the problem", async () => {
    const intact = await verify();
    assert.equal(intact.code, 0, intact.stderr);
    assert.equal(intact.stdout, "ok: 5 event(s), chain intact\n");

    const store = openStore(database.url);
    try {
      await sql`update audit_events set data = ${'{"n":2,"approved":true}'} where seq = 2`.execute(store.db);
    } finally {
      await store.close();
    }
    const tampered = await verify();
    assert.equal(tampered.code, 1);
    assert.equal(tampered.stdout, `seq 2: ${editedProblem}\nFAILED: 1 problem(s) in 5 event(s)\n`);
  });
});
