// The outbox: every transition becomes a signed outgoing webhook, retried until delivered, never lost.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FakeClock } from "../src/lib/clock.ts";
import { importJitflow, startTestServer, type TestServer } from "./support/harness.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

describe("outbox and outgoing webhooks", () => {
  let t: TestServer;
  let receiver: WebhookReceiver;
  const clock = new FakeClock(Date.now());
  const events: any[] = [];

  before(async () => {
    receiver = await startWebhookReceiver("notify-secret");
    const config = `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"] },
  notify: { webhooks: [{ url: process.env.NOTIFY_URL!, secret: env("NOTIFY_SECRET"), events: ["request.created", "request.approved"] }] },
  flows: [{ name: "signoff", fields: [{ name: "reason", type: "text" }] }],
});
`;
    t = await startTestServer({
      config,
      clock,
      background: false,
      env: { NOTIFY_URL: receiver.url, NOTIFY_SECRET: "notify-secret" },
    });
  });
  after(async () => {
    await t?.close();
    await receiver?.close();
  });

  test("transitions are delivered signed, only the subscribed ones, and retried after failures", async () => {
    // The receiver records bodies as target calls; here they are notification events.
    const { body } = await t
      .as("alice@example.com")
      .post("/api/v1/requests", { flow: "signoff", fields: { reason: "go" } });
    receiver.failNext(1);
    await t.server.outbox.runOnce();
    assert.equal(receiver.calls.length, 0, "first delivery failed");
    const pending = await t.server.deps.store.db
      .selectFrom("outbox")
      .selectAll()
      .where("kind", "=", "webhook")
      .where("delivered_at", "is", null)
      .execute();
    assert.equal(pending.length, 1);
    assert.equal(pending[0]?.attempts, 1);
    assert.match(String(pending[0]?.last_error), /503/);

    await t.as("admin@example.com").post(`/api/v1/requests/${body.id}/approve`);
    clock.advance(10_000);
    await t.server.outbox.runOnce();
    events.push(...receiver.calls);
    assert.deepEqual(
      events.map((e) => e.type).sort(),
      ["request.approved", "request.created"],
      "both subscribed events, nothing else",
    );
    assert.ok(events.every((e) => e.requestId === body.id));
    assert.equal(receiver.rejected, 0, "every delivery was correctly signed");
    const left = await t.server.deps.store.db
      .selectFrom("outbox")
      .select("id")
      .where("delivered_at", "is", null)
      .execute();
    assert.equal(left.length, 0, "log lines and webhooks all delivered");
  });

  test("delivered messages are kept for notify.retainDelivered (7 days by default), then deleted", async () => {
    const count = async () =>
      (await t.server.deps.store.db.selectFrom("outbox").select("id").execute()).length;
    assert.ok((await count()) > 0);
    clock.advance(6 * 86_400_000);
    await t.server.outbox.runOnce();
    assert.ok((await count()) > 0, "kept for a week");
    clock.advance(2 * 86_400_000);
    await t.server.outbox.runOnce();
    assert.equal(await count(), 0);
  });
});
