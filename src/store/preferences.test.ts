// Notification preferences on every dialect: absent until chosen, replaced by a second choice, read in
// bulk in one query, and keyed by lower-cased email.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { dialects, type TestDatabase } from "../../test/support/databases.ts";
import { migrate, openStore, type Store } from "./database.ts";
import { defaultPreference, getPreference, getPreferences, setPreference } from "./preferences.ts";

const now = 1_800_000_000_000;

test("the default is every configured channel, and Slack when none is", () => {
  assert.equal(defaultPreference({ slack: true, email: true }), "both");
  assert.equal(defaultPreference({ slack: true, email: false }), "slack");
  assert.equal(defaultPreference({ slack: false, email: true }), "email");
  assert.equal(defaultPreference({ slack: false, email: false }), "slack");
});

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

    test("no preference until one is chosen; a second choice replaces the first", async () => {
      assert.equal(await getPreference(store.db, "alice@example.com"), undefined);
      await setPreference(store.db, "alice@example.com", "email", now);
      assert.equal(await getPreference(store.db, "alice@example.com"), "email");
      await setPreference(store.db, "alice@example.com", "both", now + 1000);
      assert.equal(await getPreference(store.db, "alice@example.com"), "both");
      const rows = await store.db
        .selectFrom("preferences")
        .selectAll()
        .where("email", "=", "alice@example.com")
        .execute();
      assert.deepEqual(
        rows.map((r) => [r.email, r.notify, r.updated_at]),
        [["alice@example.com", "both", now + 1000]],
      );
    });

    test("emails are lower-cased when stored and when looked up", async () => {
      await setPreference(store.db, "Bob@Example.COM", "slack", now);
      assert.equal(await getPreference(store.db, "bob@example.com"), "slack");
      assert.equal(await getPreference(store.db, "BOB@example.com"), "slack");
      await setPreference(store.db, "bob@example.com", "email", now + 1);
      const rows = await store.db
        .selectFrom("preferences")
        .select("email")
        .where("email", "like", "%ob@%")
        .execute();
      assert.deepEqual(
        rows.map((r) => r.email),
        ["bob@example.com"],
        "one row, not one per spelling",
      );
    });

    test("many people's preferences at once: only those who chose are in the map", async () => {
      await setPreference(store.db, "carol@example.com", "slack", now);
      await setPreference(store.db, "dave@example.com", "both", now);
      const found = await getPreferences(store.db, [
        "CAROL@example.com",
        "dave@example.com",
        "dave@example.com",
        "nobody@example.com",
      ]);
      assert.deepEqual([...found.entries()].sort(), [
        ["carol@example.com", "slack"],
        ["dave@example.com", "both"],
      ]);
      assert.equal((await getPreferences(store.db, [])).size, 0);
    });

    test("a value this version does not know counts as no choice", async () => {
      await store.db
        .insertInto("preferences")
        .values({ email: "erin@example.com", notify: "pager", updated_at: now })
        .execute();
      assert.equal(await getPreference(store.db, "erin@example.com"), undefined);
      assert.equal((await getPreferences(store.db, ["erin@example.com"])).size, 0);
    });
  });
}
