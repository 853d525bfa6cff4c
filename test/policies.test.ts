// Approval policies through the running server: steps with quorums and conditions, distinct people per
// step, timeouts, backup destinations, reminders, break-glass, start-later and extension limits, with
// the notification emails read back from a local SMTP server. Time is a fake clock moved by hand.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FakeClock } from "../src/lib/clock.ts";
import { importJitflow, startTestServer, type TestServer } from "./support/harness.ts";
import { type SmtpServer, startSmtpServer } from "./support/smtp.ts";

const config = (smtpPort: number) => `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"] },
  email: { from: "jitflow <jitflow@example.com>", smtp: { host: "127.0.0.1", port: ${smtpPort} }, webUrl: "https://jitflow.example.com" },
  targets: { sandbox: { type: "custom", label: "Sandbox" } },
  flows: [
    {
      name: "two_step",
      targets: ["sandbox"],
      durations: ["1h", "8h"],
      implementation: "./flows/sandbox.ts",
      approvers: {
        steps: [
          { name: "peer", users: ["bob@example.com", "carol@example.com"], quorum: "any" },
          { name: "manager", users: ["dave@example.com", "carol@example.com"], quorum: "any",
            when: (r) => r.duration > 4 * 3600 },
        ],
      },
    },
    {
      name: "all_of_them",
      approvers: { steps: [{ users: ["bob@example.com", "carol@example.com", "alice@example.com"], quorum: "all" }] },
    },
    {
      name: "chain",
      requestTimeout: "1d",
      approvers: {
        steps: [{
          users: ["bob@example.com"],
          destinations: [
            { users: ["bob@example.com"], timeout: "10m" },
            { users: ["carol@example.com"], timeout: "10m" },
          ],
          reminders: { after: "2m", backoff: 2, max: 2 },
        }],
      },
    },
    {
      name: "step_expiry",
      approvers: { steps: [{ users: ["bob@example.com"], timeout: "5m", onTimeout: "expire" }] },
    },
    {
      name: "extendable",
      targets: ["sandbox"],
      durations: ["1h", "8h"],
      implementation: "./flows/sandbox.ts",
      extensions: { max: 2, approvalAbove: "1h" },
      approvers: { users: ["bob@example.com"] },
    },
    {
      name: "emergency",
      targets: ["sandbox"],
      durations: ["1h"],
      implementation: "./flows/sandbox.ts",
      allowBreakGlass: true,
      activationWindow: "10m",
      extensions: { max: 2, maxTotal: "3h" },
      approvers: { users: ["bob@example.com"] },
    },
  ],
});
`;

const files = {
  "flows/sandbox.ts": `export async function escalate() {}\nexport async function deescalate() {}\n`,
};

describe("approval policies", () => {
  let t: TestServer;
  let smtp: SmtpServer;
  const clock = new FakeClock(Date.now());
  const as = (email: string) => t.as(email);
  const run = async () => {
    await t.server.scheduler.runOnce();
    await t.server.outbox.runOnce();
  };
  const get = async (id: string) => (await as("admin@example.com").get(`/api/v1/requests/${id}`)).body;
  const mailTo = (email: string, id: string) =>
    smtp.messages.filter((m) => m.to.includes(email) && m.text.includes(id));

  before(async () => {
    smtp = await startSmtpServer();
    t = await startTestServer({ config: config(smtp.port), files, clock, background: false });
  });
  after(async () => {
    await t?.close();
    await smtp?.close();
  });

  test("two steps: a peer, then a manager; each step needs different people", async () => {
    const created = await as("alice@example.com").post("/api/v1/requests", {
      flow: "two_step",
      duration: "8h",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    assert.deepEqual(created.body.steps, [0, 1]);
    await run();
    await smtp.waitFor((m) => m.to.includes("bob@example.com") && m.text.includes(id));
    await smtp.waitFor((m) => m.to.includes("carol@example.com") && m.text.includes(id));
    assert.equal(mailTo("dave@example.com", id).length, 0, "the manager hears nothing before their step");

    // Dave is not an approver of the first step: until his step begins the request is not his to see.
    const early = await as("dave@example.com").post(`/api/v1/requests/${id}/approve`, {});
    assert.equal(early.status, 404);
    assert.equal(early.body.error.code, "REQUEST_NOT_FOUND");

    const first = await as("carol@example.com").post(`/api/v1/requests/${id}/approve`, { reason: "ok" });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.state, "pending");
    assert.equal(first.body.step, 1);

    // Carol is named in the second step too, but approved the first: she cannot approve again.
    const again = await as("carol@example.com").post(`/api/v1/requests/${id}/approve`, {});
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "ALREADY_APPROVED");
    assert.match(again.body.error.message, /earlier step/);
    // Bob was only in the first step, which is over: he still sees the request he was sent, but may not decide.
    const bob = await as("bob@example.com").post(`/api/v1/requests/${id}/approve`, {});
    assert.equal(bob.body.error.code, "NOT_AN_APPROVER");
    assert.equal((await as("bob@example.com").get(`/api/v1/requests/${id}`)).status, 200);

    await run();
    const prompt = await smtp.waitFor((m) => m.to.includes("dave@example.com") && m.text.includes(id));
    assert.match(prompt.text, /step 2 of 2/i);

    const second = await as("dave@example.com").post(`/api/v1/requests/${id}/approve`, {});
    assert.equal(second.status, 200, JSON.stringify(second.body));
    await run();
    const done = await get(id);
    assert.equal(done.state, "active");
    assert.deepEqual(
      done.decisions.map((d: { actor: string; step: number }) => [d.actor, d.step]),
      [
        ["carol@example.com", 0],
        ["dave@example.com", 1],
      ],
    );
    const told = await smtp.waitFor(
      (m) => m.to.includes("alice@example.com") && m.text.includes(id) && /approved by dave/i.test(m.subject),
    );
    assert.ok(told.html.includes("dave@example.com"));
    // Everyone who saw it hears the outcome once.
    await smtp.waitFor(
      (m) => m.to.includes("bob@example.com") && /approved by dave/i.test(m.subject) && m.text.includes(id),
    );
    const bobs = mailTo("bob@example.com", id).filter((m) => /approved by dave/i.test(m.subject));
    assert.equal(bobs.length, 1);
  });

  test("a step whose condition does not hold is skipped", async () => {
    const created = await as("alice@example.com").post("/api/v1/requests", {
      flow: "two_step",
      duration: "1h",
    });
    const id = created.body.id as string;
    assert.deepEqual(created.body.steps, [0]);
    await as("bob@example.com").post(`/api/v1/requests/${id}/approve`, {});
    await run();
    assert.equal((await get(id)).state, "active");
  });

  test('quorum "all" waits for everyone it was sent to, except the requester', async () => {
    const created = await as("alice@example.com").post("/api/v1/requests", { flow: "all_of_them" });
    const id = created.body.id as string;
    const one = await as("bob@example.com").post(`/api/v1/requests/${id}/approve`, {});
    assert.equal(one.body.state, "pending");
    const two = await as("carol@example.com").post(`/api/v1/requests/${id}/approve`, {});
    assert.equal(two.body.state, "approved");
  });

  test("a step timeout with onTimeout expire ends the request", async () => {
    const created = await as("alice@example.com").post("/api/v1/requests", { flow: "step_expiry" });
    const id = created.body.id as string;
    clock.advance(4 * 60_000);
    await run();
    assert.equal((await get(id)).state, "pending");
    clock.advance(60_000);
    await run();
    assert.equal((await get(id)).state, "expired");
  });

  test("reminders with backoff, then backup destinations in turn, then expiry", async () => {
    const created = await as("alice@example.com").post("/api/v1/requests", { flow: "chain" });
    const id = created.body.id as string;
    await run();
    const events = async () =>
      (await as("admin@example.com").get(`/api/v1/audit?limit=500`)).body.items
        .filter((e: { requestId: string }) => e.requestId === id)
        .map((e: { type: string }) => e.type);

    clock.advance(2 * 60_000); // first reminder at +2m
    await run();
    clock.advance(3 * 60_000); // +5m: the second waits 4m (backoff 2), so not yet
    await run();
    assert.equal((await events()).filter((e: string) => e === "request.reminded").length, 1);
    clock.advance(60_000); // +6m: second reminder
    await run();
    assert.equal((await events()).filter((e: string) => e === "request.reminded").length, 2);
    const reminder = await smtp.waitFor(
      (m) => m.to.includes("bob@example.com") && m.text.includes(id) && /reminder/i.test(m.subject),
    );
    assert.ok(reminder);

    // Carol cannot decide, nor see, the request before it reaches her destination.
    assert.equal((await as("carol@example.com").post(`/api/v1/requests/${id}/approve`, {})).status, 404);
    clock.advance(4 * 60_000); // +10m: forwarded to carol
    await run();
    assert.equal((await get(id)).state, "pending");
    assert.ok((await events()).includes("request.forwarded"));
    await smtp.waitFor((m) => m.to.includes("carol@example.com") && m.text.includes(id));

    clock.advance(10 * 60_000); // the last destination times out
    await run();
    assert.equal((await get(id)).state, "expired");
  });

  test("break-glass: approved at once by the requester, announced, listed for review", async () => {
    const refused = await as("alice@example.com").post("/api/v1/requests", {
      flow: "two_step",
      duration: "1h",
      breakGlass: "prod is down",
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, "BREAK_GLASS_NOT_ALLOWED");
    const blank = await as("alice@example.com").post("/api/v1/requests", {
      flow: "emergency",
      breakGlass: "  ",
    });
    assert.equal(blank.body.error.code, "REASON_REQUIRED");

    const created = await as("alice@example.com").post("/api/v1/requests", {
      flow: "emergency",
      breakGlass: "prod is down <now>",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    await run();
    const view = await get(id);
    assert.equal(view.state, "active");
    assert.equal(view.breakGlass, "prod is down <now>");
    const loud = await smtp.waitFor((m) => m.to.includes("bob@example.com") && /BREAK-GLASS/.test(m.subject));
    assert.ok(loud.html.includes("prod is down &lt;now&gt;"));
    await smtp.waitFor((m) => m.to.includes("admin@example.com") && /BREAK-GLASS/.test(m.subject));

    // Listed for review until an admin reviews it.
    const listed = await as("admin@example.com").get("/api/v1/admin/break-glass?reviewed=false");
    assert.ok(listed.body.items.some((r: { id: string }) => r.id === id));
    assert.equal((await as("bob@example.com").get("/api/v1/admin/break-glass")).status, 403);
    assert.equal((await as("bob@example.com").post(`/api/v1/requests/${id}/review`, {})).status, 403);
    const reviewed = await as("admin@example.com").post(`/api/v1/requests/${id}/review`, {
      reason: "outage INC-7",
    });
    assert.equal(reviewed.status, 200, JSON.stringify(reviewed.body));
    assert.equal(reviewed.body.reviewedBy, "admin@example.com");
    const left = await as("admin@example.com").get("/api/v1/admin/break-glass?reviewed=false");
    assert.ok(!left.body.items.some((r: { id: string }) => r.id === id));
    const audit = (await as("admin@example.com").get("/api/v1/audit?limit=500")).body.items;
    assert.ok(
      audit.some(
        (e: { type: string; requestId: string }) => e.type === "request.reviewed" && e.requestId === id,
      ),
    );
    assert.ok(
      audit.some(
        (e: { type: string; requestId: string }) => e.type === "request.break_glass" && e.requestId === id,
      ),
    );
  });

  test("approve now, start later; a start missed by more than activationWindow expires", async () => {
    const startAt = new Date(clock.now() + 3600_000).toISOString();
    const created = await as("alice@example.com").post("/api/v1/requests", { flow: "emergency", startAt });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    assert.equal(created.body.startAt, startAt);
    await as("bob@example.com").post(`/api/v1/requests/${id}/approve`, {});
    await run();
    assert.equal((await get(id)).state, "approved", "waits for its start");
    clock.advance(3600_000);
    await run();
    assert.equal((await get(id)).state, "active");

    const late = await as("alice@example.com").post("/api/v1/requests", {
      flow: "emergency",
      startAt: new Date(clock.now() + 60_000).toISOString(),
    });
    // Approved after its start and its window have both passed.
    clock.advance(20 * 60_000);
    await as("bob@example.com").post(`/api/v1/requests/${late.body.id}/approve`, {});
    await run();
    assert.equal((await get(late.body.id)).state, "expired");

    const past = await as("alice@example.com").post("/api/v1/requests", {
      flow: "emergency",
      startAt: "next tuesday",
    });
    assert.equal(past.status, 400);
  });

  test("extensions: free up to approvalAbove, then approved like a request; at most max", async () => {
    const created = await as("alice@example.com").post("/api/v1/requests", {
      flow: "extendable",
      duration: "1h",
    });
    const id = created.body.id as string;
    await as("bob@example.com").post(`/api/v1/requests/${id}/approve`, {});
    await run();
    const active = await get(id);
    assert.equal(active.state, "active");
    const first = await as("alice@example.com").post(`/api/v1/requests/${id}/extend`, { duration: "30m" });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.extensions, 1);

    const asked = await as("alice@example.com").post(`/api/v1/requests/${id}/extend`, { duration: "1h" });
    assert.equal(asked.status, 202, JSON.stringify(asked.body));
    assert.equal(asked.body.extends, id);
    assert.equal(asked.body.state, "pending");
    assert.equal((await get(id)).expiresAt, first.body.expiresAt, "not extended before approval");
    // Revoking the extension request is refused: it grants nothing of its own.
    assert.equal(
      (await as("admin@example.com").post(`/api/v1/requests/${asked.body.id}/revoke`, {})).status,
      409,
    );

    const approved = await as("bob@example.com").post(`/api/v1/requests/${asked.body.id}/approve`, {});
    assert.equal(approved.body.state, "approved");
    const extended = await get(id);
    assert.equal(Date.parse(extended.expiresAt) - Date.parse(first.body.expiresAt), 3600_000);
    assert.equal(extended.extensions, 2);
    await run();
    assert.equal((await get(asked.body.id)).state, "approved", "the scheduler leaves it alone");

    const third = await as("alice@example.com").post(`/api/v1/requests/${id}/extend`, { duration: "1m" });
    assert.equal(third.status, 400);
    assert.equal(third.body.error.code, "EXTEND_LIMIT");
  });
});
