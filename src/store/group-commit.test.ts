// Group commit: work that shares a SQLite transaction succeeds or fails piece by piece.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createSqliteDatabase, type TestDatabase } from "../../test/support/databases.ts";
import { migrate, openStore, type Store } from "./database.ts";

describe("group commit on SQLite", () => {
  let database: TestDatabase;
  let store: Store;
  before(async () => {
    database = await createSqliteDatabase();
    store = openStore(database.url);
    await migrate(store);
  });
  after(async () => {
    await store?.close();
    await database?.drop();
  });

  const insert = (id: string) => (trx: Parameters<Parameters<Store["transaction"]>[0]>[0]) =>
    trx
      .insertInto("tokens")
      .values({
        id,
        name: id,
        user_email: `${id}@example.com`,
        role: "member",
        hash: `hash-${id}`,
        created_at: 1,
        expires_at: null,
        revoked_at: null,
        last_used_at: null,
      })
      .execute();

  test("a piece that throws is rolled back alone; the others commit and see each other's writes", async () => {
    const results = await Promise.allSettled([
      store.transaction(async (trx) => {
        await insert("a")(trx);
        return "a";
      }),
      store.transaction(async (trx) => {
        await insert("b")(trx);
        throw new Error("b fails");
      }),
      store.transaction(async (trx) => {
        await insert("c")(trx);
        // Pieces run one after another in the shared transaction: a's row is visible here.
        return (await trx.selectFrom("tokens").select("id").where("id", "=", "a").executeTakeFirst())?.id;
      }),
    ]);
    assert.deepEqual(results[0], { status: "fulfilled", value: "a" });
    assert.equal(results[1]?.status, "rejected");
    assert.equal((results[1] as PromiseRejectedResult).reason.message, "b fails");
    assert.deepEqual(results[2], { status: "fulfilled", value: "a" });
    const ids = (await store.db.selectFrom("tokens").select("id").orderBy("id").execute()).map((r) => r.id);
    assert.deepEqual(ids, ["a", "c"]);
  });

  test("a constraint violation fails only its own piece", async () => {
    const results = await Promise.allSettled([
      store.transaction(insert("d")),
      // The same primary key twice: the second piece fails, alone.
      store.transaction(insert("d")),
      store.transaction(insert("e")),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    const ids = (
      await store.db.selectFrom("tokens").select("id").where("id", "in", ["d", "e"]).execute()
    ).map((r) => r.id);
    assert.deepEqual(ids.sort(), ["d", "e"]);
  });
});
