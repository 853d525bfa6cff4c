// Upgrading a database made by an earlier release (schema 005, before grants had their own table): every
// request carries on from where it was, on SQLite and PostgreSQL, and active grants still end on time.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FakeClock } from "../src/lib/clock.ts";
import { verifyAudit } from "../src/store/audit-verify.ts";
import { migrate, openStore } from "../src/store/database.ts";
import { dialects, type TestDatabase } from "./support/databases.ts";
import { importJitflow, startTestServer, type TestServer } from "./support/harness.ts";

/** Made by jitflow at b1fa80a with test/fixtures/make-schema-005.ts: its tables' rows, the clock, the ids. */
const fixture = JSON.parse(readFileSync(new URL("./fixtures/schema-005.json", import.meta.url), "utf8")) as {
  now: number;
  ids: Record<"pending" | "active" | "ended" | "deescalating" | "escalating", string>;
} & Record<string, Record<string, unknown>[]>;
const tables = [
  "requests",
  "decisions",
  "audit_events",
  "audit_head",
  "outbox",
  "request_approvers",
] as const;

// The same flows and targets as when the database was made; the targets now record their calls.
const config = `${importJitflow}
const fields = [{ name: "reason", type: "text" }];
export default defineConfig({
  users: { admins: ["admin@example.com"] },
  targets: { vault: { type: "custom" }, flaky: { type: "custom" } },
  flows: [
    { name: "auto", targets: ["vault"], durations: ["1h", "4h"], implementation: "./flows/calls.ts", fields },
    { name: "manual", targets: ["vault"], durations: ["1h"], requestTimeout: "8h", implementation: "./flows/calls.ts", fields },
    { name: "flaky", targets: ["flaky"], durations: ["1h"], implementation: "./flows/calls.ts", fields },
  ],
});
`;
const files = {
  "flows/calls.ts": `import { appendFileSync } from "node:fs";
const note = (call, evt) => appendFileSync(process.env.UPGRADE_CALLS, JSON.stringify({ call, id: evt.request.id, who: evt.requester.email }) + "\\n");
export async function escalate(evt) { note("escalate", evt); }
export async function deescalate(evt) { note("deescalate", evt); }
`,
};

for (const db of await dialects()) {
  describe(`upgrading a schema-005 database on ${db.dialect}`, { skip: db.skip }, () => {
    let t: TestServer;
    let database: TestDatabase;
    let callsFile: string;
    const clock = new FakeClock(fixture.now);
    const { ids } = fixture;

    before(async () => {
      database = await db.create();
      const old = openStore(database.url);
      await migrate(old, { to: "005-policies" });
      await old.db.deleteFrom("audit_head").execute();
      for (const table of tables) {
        const rows = fixture[table] ?? [];
        if (rows.length > 0)
          await old.db
            .insertInto(table)
            .values(rows as never)
            .execute();
      }
      await old.close();
      t = await startTestServer({ config, files, database, clock, background: false });
      callsFile = join(t.dir, "calls.jsonl");
      process.env.UPGRADE_CALLS = callsFile;
    });
    after(async () => {
      await t?.close();
      await database?.drop();
    });

    const admin = () => t.as("admin@example.com");
    const get = async (id: string) => (await admin().get(`/api/v1/requests/${id}`)).body;
    const run = () => t.server.scheduler.runOnce();
    const calls = () => {
      try {
        return readFileSync(callsFile, "utf8")
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { call: string; id: string; who: string });
      } catch {
        return [];
      }
    };

    test("each request that names a target has its grant, carried over with its key and identity", async () => {
      const grants = await t.server.deps.store.db
        .selectFrom("grants")
        .selectAll()
        .orderBy("request_id")
        .execute();
      const old = new Map(fixture.requests?.map((r) => [r.id as string, r]));
      assert.equal(grants.length, 5);
      for (const g of grants) {
        const before = old.get(g.request_id);
        assert.ok(before, `a grant of a request that existed: ${g.request_id}`);
        assert.equal(g.target, before.target);
        assert.equal(g.requester, before.requester);
        assert.equal(g.grant_key, before.grant_key);
        assert.equal(g.identity, before.grant_identity);
        assert.equal(g.granted_with, null, "made before grants kept their record");
      }
      assert.equal(grants.find((g) => g.request_id === ids.active)?.identity, "alice@example.com");
      // The work of grants in flight moves with them: when it is due, and its failed calls so far.
      for (const which of ["active", "deescalating", "escalating"] as const) {
        const before = old.get(ids[which]);
        const g = grants.find((r) => r.request_id === ids[which]);
        assert.equal(g?.due_at, before?.due_at, `${which}: due_at carried over`);
        assert.equal(g?.attempts, before?.attempts, `${which}: attempts carried over`);
        assert.equal(g?.last_error, before?.last_error, `${which}: last_error carried over`);
      }
      assert.match(
        String(grants.find((g) => g.request_id === ids.escalating)?.last_error),
        /flaky target is down/,
      );
      const requests = await t.server.deps.store.db.selectFrom("requests").select(["id", "due_at"]).execute();
      const due = new Map(requests.map((r) => [r.id, r.due_at]));
      assert.equal(due.get(ids.active), null, "the request's own due instant is its approval clock's only");
      assert.equal(
        due.get(ids.pending),
        old.get(ids.pending)?.due_at,
        "a pending request keeps its deadline",
      );
      const views = await Promise.all(Object.values(ids).map(get));
      assert.deepEqual(
        views.map((v) => v.state),
        ["pending", "active", "ended", "deescalating", "escalating"],
      );
    });

    test("the audit log made before the upgrade still verifies", async () => {
      const result = await verifyAudit(t.server.deps.store.db);
      assert.equal(result.ok, true, JSON.stringify(result));
    });

    test("the interrupted revocation and escalation finish", async () => {
      await run();
      assert.equal((await get(ids.deescalating)).state, "ended");
      assert.equal((await get(ids.escalating)).state, "active");
      assert.deepEqual(
        calls().map((c) => [c.call, c.id]),
        [
          ["deescalate", ids.deescalating],
          ["escalate", ids.escalating],
        ].sort((a, b) => ((a[1] as string) < (b[1] as string) ? -1 : 1)),
      );
      assert.equal((await get(ids.ended)).state, "ended", "an ended request stays ended");
    });

    test("the active grant ends when it was due to, and the target is told", async () => {
      const active = await get(ids.active);
      const expiresAt = Date.parse(active.expiresAt);
      assert.equal(expiresAt, fixture.requests?.find((r) => r.id === ids.active)?.expires_at);
      clock.set(expiresAt - 1000);
      await run();
      assert.equal((await get(ids.active)).state, "active", "not a second early");
      clock.set(expiresAt);
      await run();
      const ended = await get(ids.active);
      assert.equal(ended.state, "ended");
      assert.equal(Date.parse(ended.endedAt), expiresAt);
      assert.ok(calls().some((c) => c.call === "deescalate" && c.id === ids.active));
    });

    test("the pending request is approved, granted with a record, and ends on time", async () => {
      const approved = await admin().post(`/api/v1/requests/${ids.pending}/approve`, {});
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      await run();
      const active = await get(ids.pending);
      assert.equal(active.state, "active");
      const grant = await t.server.deps.store.db
        .selectFrom("grants")
        .selectAll()
        .where("request_id", "=", ids.pending)
        .executeTakeFirstOrThrow();
      assert.equal(grant.identity, "alice@example.com");
      assert.equal(JSON.parse(grant.granted_with ?? "null")?.type, "custom");
      clock.set(Date.parse(active.expiresAt));
      await run();
      assert.equal((await get(ids.pending)).state, "ended");
      assert.ok(calls().some((c) => c.call === "deescalate" && c.id === ids.pending));
    });
  });
}
