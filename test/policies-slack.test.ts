// A two-step policy end to end: whoever is on call in PagerDuty, then a manager; submitted through the
// API, decided with signed Slack button clicks, with the emails read back from a local SMTP server and
// the flow module's hook helpers (slack, email, pagerduty, countEvents) working against local fakes.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type FakePagerDuty, startFakePagerDuty } from "./support/fake-pagerduty.ts";
import { FakeSlack, type FakeSlackUser } from "./support/fake-slack.ts";
import {
  eventually,
  importJitflow,
  startTestServer,
  type TestServer,
  waitForState,
} from "./support/harness.ts";
import { blockActions, type SlackActor, sendToSlackEndpoint } from "./support/slack-payloads.ts";
import { type SmtpServer, startSmtpServer } from "./support/smtp.ts";

const secret = "policy-signing-secret";
const people: FakeSlackUser[] = [
  { id: "U0ALICE", email: "alice@example.com", name: "Alice" },
  { id: "U0BOB", email: "bob@example.com", name: "Bob" },
  { id: "U0CAROL", email: "carol@example.com", name: "Carol" },
  { id: "U0DAVE", email: "dave@example.com", name: "Dave" },
  { id: "U0ADMIN", email: "admin@example.com", name: "Admin" },
];
const bob: SlackActor = { id: "U0BOB" };
const carol: SlackActor = { id: "U0CAROL" };
const dave: SlackActor = { id: "U0DAVE" };

const config = (smtpPort: number) => `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"] },
  slack: { errorChannel: "#jitflow-errors" },
  email: { from: "jitflow@example.com", smtp: { host: "127.0.0.1", port: ${smtpPort} } },
  integrations: { pd: { type: "pagerduty", token: env("PD_TOKEN"), apiUrl: process.env.PD_URL } },
  targets: { box: { type: "custom", label: "Deploy box" } },
  flows: [{
    name: "deploy",
    label: "Production deploy",
    targets: ["box"],
    durations: ["1h"],
    implementation: "./flows/deploy.ts",
    vars: { schedule: "Ops on-call" },
    approvers: {
      steps: [
        { name: "on-call", pagerduty: { integration: "pd", schedule: "Ops on-call" } },
        { name: "manager", users: ["dave@example.com"] },
      ],
    },
  }],
});
`;

const files = {
  "flows/deploy.ts": `
import { deny, email, pagerduty, slack } from "jitflow";
import type { FlowEvent } from "jitflow";
export async function escalate() {}
export async function deescalate() {}
export async function onRequest(evt: FlowEvent) {
  // Sym's get_event_count: at most three requests a day.
  const asked = await evt.requester.countEvents({ type: "request.created", since: "1d", flow: evt.flow.name });
  if (asked >= 3) return deny({ reason: "too many requests today (" + asked + ")" });
}
export async function afterApprove(evt: FlowEvent) {
  const onCall = await pagerduty.onCall({ schedule: String(evt.flow.vars.schedule) });
  const members = await slack.usersInChannel("#ops");
  await slack.sendMessage("#deploys", "deploy approved for " + evt.requester.email + "; on call: " + onCall.join(","));
  await email.send({
    to: "audit@example.com",
    subject: "deploy approved",
    text: "on call " + onCall.join(",") + "; #ops: " + members.join(",") + "; on call now: " + (await pagerduty.isOnCall("bob@example.com", { schedule: "PSCHED1" })),
  });
}
`,
};

describe("two-step policy through Slack: on call, then a manager", () => {
  let slackFake: FakeSlack;
  let pd: FakePagerDuty;
  let smtp: SmtpServer;
  let t: TestServer;
  const send = (body: Parameters<typeof sendToSlackEndpoint>[1]) =>
    sendToSlackEndpoint(t.url, body, { secret });

  before(async () => {
    slackFake = await FakeSlack.start({ users: people });
    slackFake.addChannel("deploys");
    slackFake.addChannel("ops", { members: ["U0BOB", "U0CAROL"] });
    pd = await startFakePagerDuty({ token: "pd-token" });
    pd.setOnCall("PSCHED1", "Ops on-call", ["bob@example.com"]);
    smtp = await startSmtpServer();
    t = await startTestServer({
      config: config(smtp.port),
      files,
      env: {
        SLACK_BOT_TOKEN: slackFake.token,
        SLACK_SIGNING_SECRET: secret,
        SLACK_API_URL: slackFake.apiUrl,
        PD_TOKEN: "pd-token",
        PD_URL: pd.url,
      },
    });
  });
  after(async () => {
    await t?.close();
    await smtp?.close();
    await pd?.close();
    await slackFake?.close();
  });

  /** The approval message a person got directly, once it is there. */
  const approvalFor = (userId: string, id: string) =>
    eventually(
      async () => slackFake.dms(userId).find((m) => JSON.stringify(m.blocks).includes(id) && !m.threadTs),
      `the approval message to ${userId}`,
    );
  const click = (user: SlackActor, id: string, message: { channel: string; ts: string }) =>
    send(blockActions({ user, actionId: "jf_approve", value: id, message }));

  test("the on-call engineer, then the manager, approve in Slack; everyone is told", async () => {
    const created = await t.as("alice@example.com").post("/api/v1/requests", { flow: "deploy" });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;

    // Step 1 went to whoever PagerDuty says is on call: Bob, in Slack and by email.
    const first = await approvalFor("U0BOB", id);
    assert.match(JSON.stringify(first.blocks), /step 1 of 2/);
    await smtp.waitFor((m) => m.to.includes("bob@example.com") && m.text.includes(id));
    assert.ok(
      pd.requests.some((r) => r.path === "/oncalls" && r.query.getAll("schedule_ids[]").includes("PSCHED1")),
    );

    // Carol is not on call: her click is refused, and nothing changes.
    await click(carol, id, first);
    assert.equal((await t.as("admin@example.com").get(`/api/v1/requests/${id}`)).body.decisions.length, 0);

    assert.equal((await click(bob, id, first)).status, 200);
    const second = await approvalFor("U0DAVE", id);
    assert.match(JSON.stringify(second.blocks), /step 2 of 2 \(manager\)/);
    await smtp.waitFor((m) => m.to.includes("dave@example.com") && /step 2 of 2: manager/.test(m.text));
    // The requester hears the first step is done, in Slack and by email.
    await eventually(
      async () => slackFake.dms("U0ALICE").find((m) => /now waits for step 2 of 2/.test(m.text)),
      "alice's DM about the next step",
    );
    // Bob's message says it moved on, in its thread.
    await eventually(
      async () =>
        slackFake
          .messages(first.channel)
          .find((m) => m.threadTs === first.ts && /now waiting for/.test(m.text)),
      "the thread reply on bob's approval message",
    );

    assert.equal((await click(dave, id, second)).status, 200);
    await waitForState(t.as("alice@example.com"), id, ["active"]);
    await smtp.waitFor(
      (m) => m.to.includes("alice@example.com") && /Approved by dave@example.com/.test(m.subject),
    );
    await smtp.waitFor(
      (m) => m.to.includes("bob@example.com") && /Approved by dave@example.com/.test(m.subject),
    );

    // The flow's afterApprove used the hook helpers: Slack post, channel members, email, on-call.
    const posted = await eventually(
      async () =>
        slackFake.messages("#deploys").find((m) => /deploy approved for alice@example.com/.test(m.text)),
      "the hook's Slack message",
    );
    assert.match(posted.text, /on call: bob@example\.com/);
    const audit = await smtp.waitFor((m) => m.to.includes("audit@example.com"));
    assert.match(audit.text, /#ops: bob@example\.com,carol@example\.com; on call now: true/);
  });

  test("countEvents in onRequest: the fourth request of the day is denied", async () => {
    const states: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const r = await t.as("carol@example.com").post("/api/v1/requests", { flow: "deploy" });
      states.push(r.body.state);
    }
    assert.deepEqual(states, ["pending", "pending", "pending"]);
    const fourth = await t.as("carol@example.com").post("/api/v1/requests", { flow: "deploy" });
    assert.equal(fourth.body.state, "denied");
    assert.match(fourth.body.decisions[0].reason, /too many requests today \(3\)/);
  });
});
