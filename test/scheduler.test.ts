// The scheduler on every database, driven by a fake clock: expiry, retries with backoff, timeouts, overlaps, extensions.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FakeClock } from "../src/lib/clock.ts";
import { dialects, type TestDatabase } from "./support/databases.ts";
import { importJitflow, startTestServer, type TestServer } from "./support/harness.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

const config = `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"] },
  scheduler: { retryBaseMs: 1000, retryMaxMs: 8000 },
  targets: {
    gate: { type: "webhook", url: process.env.SCHED_HOOK_URL!, secret: env("SCHED_HOOK_SECRET") },
    refusing: { type: "custom" },
  },
  flows: [
    { name: "auto", targets: ["gate"], durations: ["1h"], implementation: "./flows/auto.ts", requestTimeout: "2h" },
    { name: "manual", targets: ["gate"], durations: ["1h"], requestTimeout: "1h" },
    { name: "broken", targets: ["refusing"], durations: ["1h"], implementation: "./flows/broken.ts" },
    { name: "guarded", targets: ["gate"], durations: ["1h"], implementation: "./flows/guarded.ts" },
  ],
});
`;

const files = {
  "flows/auto.ts": `import { approve } from "jitflow";
export async function onRequest() { return approve({ reason: "automatic" }); }
`,
  "flows/broken.ts": `import { approve, PermanentTargetError } from "jitflow";
export async function onRequest() { return approve(); }
export async function escalate() { throw new PermanentTargetError("no such group"); }
export async function deescalate() {}
`,
  "flows/guarded.ts": `import { approve, deny } from "jitflow";
export async function onRequest() { return approve(); }
export async function onEscalate() { return deny({ reason: "change freeze" }); }
`,
};

const minute = 60_000;

for (const db of await dialects()) {
  describe(`scheduler on ${db.dialect}`, { skip: db.skip }, () => {
    let t: TestServer;
    let hook: WebhookReceiver;
    let clock: FakeClock;
    let database: TestDatabase;

    before(async () => {
      hook = await startWebhookReceiver("sched-secret");
      clock = new FakeClock(Date.now());
      database = await db.create();
      t = await startTestServer({
        config,
        files,
        database,
        clock,
        background: false,
        env: { SCHED_HOOK_URL: hook.url, SCHED_HOOK_SECRET: "sched-secret" },
      });
    });
    after(async () => {
      await t?.close();
      await database?.drop();
      await hook?.close();
    });

    const alice = () => t.as("alice@example.com");
    const run = () => t.server.scheduler.runOnce();
    const get = async (id: string) => (await alice().get(`/api/v1/requests/${id}`)).body;
    /** When the request's grant is next due (a retry of its target call). */
    const dueAt = async (id: string) =>
      (
        await t.server.deps.store.db
          .selectFrom("grants")
          .select("due_at")
          .where("request_id", "=", id)
          .executeTakeFirstOrThrow()
      ).due_at;

    test("a grant becomes active, survives until its expiry, and is revoked at it", async () => {
      const { body } = await alice().post("/api/v1/requests", { flow: "auto" });
      assert.equal(body.state, "escalating");
      await run();
      const active = await get(body.id);
      assert.equal(active.state, "active");
      assert.equal(Date.parse(active.expiresAt), clock.now() + 60 * minute);
      assert.ok(hook.grants.has("gate:alice@example.com"));

      clock.advance(59 * minute);
      await run();
      assert.equal((await get(body.id)).state, "active", "not a moment early");
      clock.advance(minute);
      await run();
      const ended = await get(body.id);
      assert.equal(ended.state, "ended");
      assert.equal(ended.endedReason, "scheduled");
      assert.ok(!hook.grants.has("gate:alice@example.com"));
    });

    test("a failing target is retried with growing, capped backoff, attempts and error visible", async () => {
      hook.failNext(5);
      const { body } = await alice().post("/api/v1/requests", { flow: "auto" });
      const gaps: number[] = [];
      for (let attempt = 1; attempt <= 5; attempt += 1) {
        await run();
        const row = await get(body.id);
        assert.equal(row.state, "escalating");
        assert.equal(row.attempts, attempt);
        assert.match(row.lastError, /503/);
        const due = Number(await dueAt(body.id));
        gaps.push(due - clock.now());
        await run();
        assert.equal((await get(body.id)).attempts, attempt, "nothing runs before the retry is due");
        clock.set(due);
      }
      // base 1 s doubling with ±25% jitter, capped at 8 s
      gaps.forEach((gap, i) => {
        const nominal = Math.min(8000, 1000 * 2 ** i);
        assert.ok(gap >= nominal * 0.75 - 1 && gap <= nominal * 1.25 + 1, `gap ${i} = ${gap}`);
      });
      await run();
      const active = await get(body.id);
      assert.equal(active.state, "active");
      assert.equal(active.lastError, null);
      await alice().post(`/api/v1/requests/${body.id}/revoke`);
      await run();
      assert.equal((await get(body.id)).state, "ended");
    });

    test("undecided requests expire after the flow's timeout", async () => {
      const { body } = await alice().post("/api/v1/requests", { flow: "manual" });
      clock.advance(59 * minute);
      await run();
      assert.equal((await get(body.id)).state, "pending");
      clock.advance(minute);
      await run();
      assert.equal((await get(body.id)).state, "expired");
      const late = await t.as("admin@example.com").post(`/api/v1/requests/${body.id}/approve`);
      assert.equal(late.body.error.code, "INVALID_TRANSITION");
    });

    test("overlapping grants are counted: ending one keeps the access the other gives", async () => {
      const first = (await alice().post("/api/v1/requests", { flow: "auto" })).body;
      await run();
      clock.advance(30 * minute);
      const second = (await alice().post("/api/v1/requests", { flow: "auto" })).body;
      assert.deepEqual(second.overlaps, [first.id]);
      await run();
      const callsBefore = hook.calls.length;
      clock.advance(30 * minute);
      await run();
      const firstEnded = await get(first.id);
      assert.equal(firstEnded.state, "ended");
      assert.equal(hook.calls.length, callsBefore, "the target was not told to revoke");
      assert.ok(hook.grants.has("gate:alice@example.com"), "access is still there");
      const audit = await t.as("admin@example.com").get(`/api/v1/audit?requestId=${first.id}&limit=100`);
      const endedEvent = audit.body.items.find((e: { type: string }) => e.type === "grant.ended");
      assert.deepEqual(endedEvent.data.stillGrantedBy, [second.id]);

      clock.advance(30 * minute);
      await run();
      assert.equal((await get(second.id)).state, "ended");
      assert.ok(!hook.grants.has("gate:alice@example.com"), "the last grant took the access away");
    });

    test("a new grant waits for an earlier revocation of the same access to finish", async () => {
      const first = (await alice().post("/api/v1/requests", { flow: "auto" })).body;
      await run();
      hook.failNext(1);
      await alice().post(`/api/v1/requests/${first.id}/revoke`);
      await run();
      assert.equal((await get(first.id)).state, "deescalating");
      const second = (await alice().post("/api/v1/requests", { flow: "auto" })).body;
      await run();
      assert.equal((await get(second.id)).state, "escalating", "waits while the revocation is unfinished");
      assert.match((await get(second.id)).lastError, /waiting for an earlier grant/);
      clock.advance(5 * minute);
      await run();
      await run();
      assert.equal((await get(first.id)).state, "ended");
      assert.equal((await get(second.id)).state, "active");
      assert.ok(hook.grants.has("gate:alice@example.com"), "revoke then grant, in that order");
      await alice().post(`/api/v1/requests/${second.id}/revoke`);
      await run();
    });

    test("extend moves the expiry, capped by the flow's largest duration", async () => {
      const { body } = await alice().post("/api/v1/requests", { flow: "auto" });
      await run();
      const tooLong = await alice().post(`/api/v1/requests/${body.id}/extend`, { duration: "30m" });
      assert.equal(tooLong.status, 400);
      assert.equal(tooLong.body.error.code, "EXTEND_TOO_LONG");
      clock.advance(45 * minute);
      const extended = await alice().post(`/api/v1/requests/${body.id}/extend`, { duration: "30m" });
      assert.equal(extended.status, 200);
      const expiresAt = Date.parse(extended.body.expiresAt);
      assert.equal(expiresAt, clock.now() + 45 * minute);
      // Bob has no part in alice's grant: to him it does not exist.
      const notMine = await t
        .as("bob@example.com")
        .post(`/api/v1/requests/${body.id}/extend`, { duration: "1m" });
      assert.equal(notMine.body.error.code, "REQUEST_NOT_FOUND");
      clock.advance(16 * minute);
      await run();
      assert.equal((await get(body.id)).state, "active", "the old expiry no longer applies");
      clock.set(expiresAt);
      await run();
      assert.equal((await get(body.id)).state, "ended");
    });

    test("a failed grant that another request was counting on is revoked, not left behind", async () => {
      const first = (await alice().post("/api/v1/requests", { flow: "auto" })).body;
      await run();
      assert.ok(hook.grants.has("gate:alice@example.com"));
      // Revoke, and at once ask again through a flow whose onEscalate refuses: the revocation of the
      // first sees the second escalating and leaves the access to it; the second then fails.
      await alice().post(`/api/v1/requests/${first.id}/revoke`);
      const second = (await alice().post("/api/v1/requests", { flow: "guarded" })).body;
      await run();
      const ended = await get(first.id);
      assert.equal(ended.state, "ended");
      const failed = await get(second.id);
      assert.equal(failed.state, "failed");
      assert.equal(failed.endedReason, "failed");
      assert.match(failed.error, /change freeze/);
      assert.ok(
        !hook.grants.has("gate:alice@example.com"),
        "no access is left without a request to revoke it",
      );
    });

    test("a target that refuses for good, or onEscalate saying no, fails the request", async () => {
      const broken = (await alice().post("/api/v1/requests", { flow: "broken" })).body;
      const guarded = (await alice().post("/api/v1/requests", { flow: "guarded" })).body;
      await run();
      const failed = await get(broken.id);
      assert.equal(failed.state, "failed");
      assert.match(failed.error, /no such group/);
      const refused = await get(guarded.id);
      assert.equal(refused.state, "failed");
      assert.match(refused.error, /change freeze/);
    });
  });
}
