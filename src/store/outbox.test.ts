// The outbox on every dialect: a key's messages go out one at a time and in order, duplicates are not
// written, and a message waiting behind another is not reported as due.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { dialects, type TestDatabase } from "../../test/support/databases.ts";
import { migrate, openStore, type Store } from "./database.ts";
import {
  claimOutbox,
  enqueue,
  markDelivered,
  markDropped,
  markFailed,
  nextOutboxDue,
  type OutboxMessage,
} from "./outbox.ts";

const now = 1_800_000_000_000;
const msg = (n: number, orderKey?: string, extra: Partial<OutboxMessage> = {}): OutboxMessage => ({
  kind: "test",
  payload: { n },
  requestId: null,
  orderKey,
  ...extra,
});
const numbers = (rows: { payload: string }[]) => rows.map((r) => (JSON.parse(r.payload) as { n: number }).n);

for (const d of await dialects()) {
  describe(d.dialect, { skip: d.skip }, () => {
    let database: TestDatabase;
    let store: Store;

    before(async () => {
      database = await d.create();
      store = openStore(database.url);
      await migrate(store);
    });
    after(async () => {
      await store?.close();
      await database?.drop();
    });

    test("one message per key at a time, in the order written; keyless ones all at once", async () => {
      await store.transaction((trx) =>
        enqueue(trx, [msg(1, "a"), msg(2, "a"), msg(3, "b"), msg(4), msg(5, "a"), msg(6)], now),
      );
      const first = await claimOutbox(store.db, store.dialect, "w1", now, 60_000, 100);
      assert.deepEqual(numbers(first).sort(), [1, 3, 4, 6]);
      // Another worker finds nothing: the heads are leased and the rest wait behind them.
      assert.deepEqual(await claimOutbox(store.db, store.dialect, "w2", now, 60_000, 100), []);

      // 1 fails and waits a second: 2 and 5 must keep waiting behind it, and nothing is due before then.
      const one = first.find((r) => numbers([r])[0] === 1);
      assert.ok(one);
      await markFailed(store.db, one.id, "w1", "429", now + 1000);
      await markDelivered(
        store.db,
        first.filter((r) => r !== one).map((r) => r.id),
        "w1",
        now,
      );
      assert.deepEqual(await claimOutbox(store.db, store.dialect, "w1", now + 10, 60_000, 100), []);
      assert.equal(await nextOutboxDue(store.db, now + 10), now + 1000);

      const retried = await claimOutbox(store.db, store.dialect, "w1", now + 1000, 60_000, 100);
      assert.deepEqual(numbers(retried), [1]);
      await markDelivered(store.db, [retried[0]?.id as string], "w1", now + 1000);
      const second = await claimOutbox(store.db, store.dialect, "w1", now + 1000, 60_000, 100);
      assert.deepEqual(numbers(second), [2]);
      // A message that can never be delivered is dropped, and the key moves on.
      await markDropped(store.db, second[0]?.id as string, "w1", "channel_not_found", now + 1000);
      const third = await claimOutbox(store.db, store.dialect, "w1", now + 1000, 60_000, 100);
      assert.deepEqual(numbers(third), [5]);
      const dropped = await store.db
        .selectFrom("outbox")
        .selectAll()
        .where("id", "=", second[0]?.id as string)
        .executeTakeFirstOrThrow();
      assert.equal(dropped.last_error, "dropped: channel_not_found");
      assert.ok(dropped.delivered_at);
      await markDelivered(store.db, [third[0]?.id as string], "w1", now + 1000);
    });

    test("a second message with the same dedupe key is not written", async () => {
      await store.transaction((trx) => enqueue(trx, [msg(7, undefined, { dedupeKey: "event:Ev1" })], now));
      await store.transaction((trx) => enqueue(trx, [msg(8, undefined, { dedupeKey: "event:Ev1" })], now));
      const rows = await store.db
        .selectFrom("outbox")
        .select("payload")
        .where("dedupe_key", "=", "event:Ev1")
        .execute();
      assert.deepEqual(numbers(rows), [7]);
    });

    test("a message written for later is not claimed before its time", async () => {
      await store.transaction((trx) => enqueue(trx, [msg(9, undefined, { dueAt: now + 5000 })], now));
      const early = await claimOutbox(store.db, store.dialect, "w1", now + 4999, 60_000, 100);
      assert.ok(!numbers(early).includes(9));
      const due = await claimOutbox(store.db, store.dialect, "w1", now + 5000, 60_000, 100);
      assert.deepEqual(numbers(due), [9]);
    });
  });
}
