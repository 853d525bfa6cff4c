// The Slack app end to end: signed slash commands, option loads, modal submissions and button clicks
// drive a request's whole life, and the fake Slack shows what people were shown.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createSqliteDatabase } from "./support/databases.ts";
import { FakeSlack, type FakeSlackUser } from "./support/fake-slack.ts";
import {
  eventually,
  importJitflow,
  startTestServer,
  type TestServer,
  waitForState,
} from "./support/harness.ts";
import {
  blockActions,
  blockSuggestion,
  eventCallback,
  type SlackActor,
  sendToSlackEndpoint,
  slashCommand,
  viewSubmission,
} from "./support/slack-payloads.ts";

const secret = "test-signing-secret";
const people: FakeSlackUser[] = [
  { id: "U0ALICE", email: "alice@example.com", name: "Alice" },
  { id: "U0BOB", email: "bob@example.com", name: "Bob" },
  { id: "U0CAROL", email: "carol@example.com", name: "Carol" },
  { id: "U0ADMIN", email: "admin@example.com", name: "Admin" },
  { id: "U0EVE", email: "eve@outside.org", name: "Eve" },
  { id: "U0GUEST", email: "gus@example.com", name: "Gus", restricted: true },
];
const alice: SlackActor = { id: "U0ALICE" };
const bob: SlackActor = { id: "U0BOB" };
const carol: SlackActor = { id: "U0CAROL" };
const eve: SlackActor = { id: "U0EVE" };

const config = `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  slack: { errorChannel: "#jitflow-errors" },
  targets: { box: { type: "custom", label: "Sandbox admin" }, other: { type: "custom", label: "Other box" } },
  flows: [
    {
      name: "sandbox",
      label: "Sandbox",
      targets: ["box", "other"],
      durations: ["1h", "4h"],
      fields: [
        { name: "reason", label: "Why?", type: "text", required: true },
        { name: "urgency", type: "string", allowedValues: ["Normal", "Emergency"] },
        { name: "repo", type: "string", prefetch: true, required: false },
        { name: "buddy", type: "user", required: false },
      ],
      approvers: { users: ["bob@example.com"], channel: "#approvals" },
      allowRevoke: true,
      implementation: "./flows/sandbox.ts",
      additionalHeaderText: "Access to the sandbox is logged.",
    },
    {
      name: "noisy",
      targets: ["box"],
      durations: ["1h"],
      approvers: { users: ["bob@example.com"] },
      implementation: "./flows/noisy.ts",
    },
    { name: "burst", approvers: { channel: "#burst" } },
  ],
});
`;

const files = {
  "flows/sandbox.ts": `
export async function escalate() {}
export async function deescalate() {}
export const prefetch = {
  repo: async () => [
    { value: "web", label: "Web app" },
    { value: "api", label: "API server" },
    { value: "x".repeat(120), label: "A repository with a very long name" },
  ],
};
`,
  "flows/noisy.ts": `
export async function escalate() {}
export async function deescalate() {}
export async function afterApprove() { throw new Error("chat webhook down"); }
`,
};

describe("Slack app", () => {
  let slack: FakeSlack;
  let t: TestServer;
  const send = (
    body: Parameters<typeof sendToSlackEndpoint>[1],
    options: Partial<Parameters<typeof sendToSlackEndpoint>[2]> = {},
  ) => sendToSlackEndpoint(t.url, body, { secret, ...options });
  const admin = () => t.as("admin@example.com");

  before(async () => {
    slack = await FakeSlack.start({ users: people });
    t = await startTestServer({
      config,
      files,
      env: { SLACK_BOT_TOKEN: slack.token, SLACK_SIGNING_SECRET: secret, SLACK_API_URL: slack.apiUrl },
    });
  });
  after(async () => {
    await t?.close();
    await slack?.close();
  });

  /** The request form as Slack shows it after /jitflow request FLOW. */
  async function openForm(user: SlackActor, flow: string) {
    const trigger = slack.trigger();
    const res = await send(
      slashCommand({ user, text: `request ${flow}`, triggerId: trigger, responseUrl: slack.responseUrl() }),
    );
    assert.equal(res.status, 200);
    return eventually(async () => {
      const view = slack.views().find((v) => v.user === user.id && v.view.callback_id === "jf_request");
      return view;
    }, "the request form");
  }

  const stateOf = (values: Record<string, unknown>) => {
    const state: Record<string, Record<string, any>> = {};
    for (const [block, value] of Object.entries(values)) state[block] = { v: value };
    return state;
  };

  test("a request's whole life, through Slack alone", async () => {
    const form = await openForm(alice, "sandbox");
    const blocks = form.view.blocks as any[];
    assert.equal(slack.calls("views.open")[0]?.args.view.callback_id, "jf_loading", "a loading view first");
    assert.match(JSON.stringify(blocks[0]), /Access to the sandbox is logged/);
    const inputs = blocks.filter((b) => b.type === "input").map((b) => [b.block_id, b.element.type]);
    assert.deepEqual(inputs, [
      ["jf:target", "static_select"],
      ["jf:duration", "static_select"],
      ["f:reason", "plain_text_input"],
      ["f:urgency", "static_select"],
      ["f:repo", "external_select"],
      ["f:buddy", "users_select"],
    ]);

    const suggestion = await send(
      blockSuggestion({
        user: alice,
        actionId: "v",
        blockId: "f:repo",
        value: "web",
        view: { id: form.id, callbackId: "jf_request", privateMetadata: form.view.private_metadata },
      }),
    );
    assert.deepEqual(suggestion.body.options, [
      { text: { type: "plain_text", text: "Web app", emoji: true }, value: '"web"' },
    ]);
    const long = await send(
      blockSuggestion({
        user: alice,
        actionId: "v",
        blockId: "f:repo",
        value: "long",
        view: { id: form.id, callbackId: "jf_request", privateMetadata: form.view.private_metadata },
      }),
    );
    const longOption = long.body.options[0];
    assert.ok(longOption.value.length <= 75, "a long value travels as a short key");

    const submit = (values: Record<string, unknown>, viewId = form.id) =>
      send(
        viewSubmission({
          user: alice,
          view: {
            id: viewId,
            callbackId: "jf_request",
            privateMetadata: form.view.private_metadata,
            state: stateOf(values),
          },
        }),
      );
    const target = { type: "static_select", selected_option: { value: "box" } };
    const duration = { type: "static_select", selected_option: { value: "3600" } };
    const missing = await submit({
      "jf:target": target,
      "jf:duration": duration,
      "f:reason": { type: "plain_text_input", value: "" },
    });
    assert.equal(missing.body.response_action, "errors");
    assert.match(missing.body.errors["f:reason"], /required/);
    assert.equal((await admin().get("/api/v1/requests")).body.items.length, 0, "nothing was asked");

    const ok = await submit({
      "jf:target": target,
      "jf:duration": duration,
      "f:reason": { type: "plain_text_input", value: "deploy <!channel> fix" },
      "f:urgency": { type: "static_select", selected_option: { value: "i:1" } },
      "f:repo": { type: "external_select", selected_option: { value: longOption.value } },
      "f:buddy": { type: "users_select", selected_user: "U0CAROL" },
    });
    assert.equal(ok.body.response_action, "update");
    // Pressing Submit twice asks once.
    const again = await submit({
      "jf:target": target,
      "jf:duration": duration,
      "f:reason": { type: "plain_text_input", value: "deploy <!channel> fix" },
      "f:urgency": { type: "static_select", selected_option: { value: "i:0" } },
    });
    assert.equal(again.body.response_action, "update");

    const request = await eventually(
      async () => (await admin().get("/api/v1/requests")).body.items[0],
      "the request",
    );
    assert.equal(request.requester.email, "alice@example.com");
    assert.equal(request.source, "slack");
    assert.equal(request.target, "box");
    assert.equal(request.duration, 3600);
    assert.deepEqual(request.fields, {
      reason: "deploy <!channel> fix",
      urgency: "Emergency",
      repo: "x".repeat(120),
      buddy: "carol@example.com",
    });
    // A second submission, had it been taken, would wait in the outbox beside the first: once every Slack
    // action in it is handled, no other request can still come.
    await eventually(async () => {
      const waiting = await t.server.deps.store.db
        .selectFrom("outbox")
        .select("id")
        .where("kind", "=", "slack.inbound")
        .where("delivered_at", "is", null)
        .execute();
      return waiting.length === 0 ? true : undefined;
    }, "every Slack action to be handled");
    assert.equal((await admin().get("/api/v1/requests")).body.items.length, 1, "one request for one form");

    const posted = await eventually(async () => slack.messages("#approvals")[0], "the approval message");
    const text = JSON.stringify(posted.blocks);
    assert.match(text, /alice@example.com/);
    assert.match(text, /Sandbox admin/);
    assert.match(text, /&lt;!channel&gt;/, "user input cannot ping a channel");
    assert.match(text, /jf_approve/);
    assert.match(text, /jf_deny/);
    await eventually(
      async () => (slack.dms("U0ALICE").some((m) => /waiting for approval/.test(m.text)) ? true : undefined),
      "the DM saying it was sent",
    );

    const message = { channel: posted.channel, ts: posted.ts };
    const click = (user: SlackActor, actionId: string) =>
      send(
        blockActions({
          user,
          actionId,
          value: request.id,
          message,
          triggerId: slack.trigger(),
          responseUrl: slack.responseUrl(),
        }),
      );

    // Carol has no part in the request: she is told what an unknown request gets, in words that make
    // sense beside the message she sees, and nothing changes.
    assert.equal((await click(carol, "jf_approve")).status, 200);
    const told = await eventually(async () => slack.ephemerals("U0CAROL")[0], "carol's explanation");
    assert.equal(told.text, `You cannot act on request ${request.id}.`);
    assert.equal((await admin().get(`/api/v1/requests/${request.id}`)).body.state, "pending");

    const acked = await click(bob, "jf_approve");
    assert.equal(acked.status, 200);
    assert.ok(acked.ms < 3000, `acknowledged in ${acked.ms} ms`);
    await click(bob, "jf_approve");
    const active = await waitForState(admin(), request.id, ["active"]);
    assert.equal(active.decisions.length, 1, "a double click approves once");
    assert.equal(slack.ephemerals("U0BOB").length, 0, "a double click is not answered with an error");
    assert.equal(active.decisions[0].actor, "bob@example.com");

    const updated = await eventually(async () => {
      const m = slack.messages("#approvals")[0];
      return m && /Active/.test(JSON.stringify(m.blocks)) ? m : undefined;
    }, "the approval message to show the grant");
    const after = JSON.stringify(updated.blocks);
    assert.doesNotMatch(after, /jf_approve/, "no more Approve button");
    assert.match(after, /jf_revoke/, "a Revoke button while active");
    assert.match(after, /bob@example.com/);
    const top = slack.messages("#approvals").filter((m) => !m.threadTs);
    assert.equal(top.length, 1, "updated in place, not posted again");
    // Everyone in the channel hears the outcome once, in the message's thread.
    const replies = slack.messages("#approvals").filter((m) => m.threadTs === top[0]?.ts);
    assert.equal(replies.filter((m) => /Approved by bob@example.com/.test(m.text)).length, 1);
    await eventually(
      async () =>
        slack.dms("U0ALICE").some((m) => /approved by bob@example.com/.test(m.text)) ? true : undefined,
      "the approval DM",
    );
    await eventually(
      async () => (slack.dms("U0ALICE").some((m) => /You now have/.test(m.text)) ? true : undefined),
      "the active DM",
    );

    await click(alice, "jf_revoke");
    const ended = await waitForState(admin(), request.id, ["ended"]);
    assert.equal(ended.endedReason, "revoked");
    await eventually(
      async () => (/Ended/.test(JSON.stringify(slack.messages("#approvals")[0]?.blocks)) ? true : undefined),
      "the message to show the end",
    );
    await eventually(
      async () => (slack.dms("U0ALICE").some((m) => /has ended/.test(m.text)) ? true : undefined),
      "the end DM",
    );
  });

  test("forged, stale, future and replayed requests are refused and change nothing", async () => {
    const before = (await admin().get("/api/v1/requests")).body.items.length;
    const body = slashCommand({
      user: alice,
      text: "request sandbox",
      triggerId: slack.trigger(),
      responseUrl: slack.responseUrl(),
    });
    const now = Math.floor(Date.now() / 1000);
    const forged = await send(body, { signature: `v0=${"0".repeat(64)}` });
    assert.equal(forged.status, 401);
    assert.equal(forged.body.error.code, "SLACK_SIGNATURE_INVALID");
    const otherSecret = await sendToSlackEndpoint(t.url, body, { secret: "not-the-secret" });
    assert.equal(otherSecret.body.error.code, "SLACK_SIGNATURE_INVALID");
    const stale = await send(body, { timestamp: now - 310 });
    assert.equal(stale.status, 401);
    assert.equal(stale.body.error.code, "SLACK_TIMESTAMP_INVALID");
    const future = await send(body, { timestamp: now + 310 });
    assert.equal(future.body.error.code, "SLACK_TIMESTAMP_INVALID");
    const noHeaders = await fetch(`${t.url}/slack/events`, {
      method: "POST",
      body: body.body,
      headers: { "content-type": body.contentType },
    });
    assert.equal(noHeaders.status, 401);

    const first = await send(body, { timestamp: now });
    assert.equal(first.status, 200);
    const replay = await send(body, { timestamp: now });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error.code, "SLACK_REPLAYED");
    const opened = slack.calls("views.open").filter((c) => c.args.trigger_id && c.response.ok).length;
    const garbage = await send({
      contentType: "application/x-www-form-urlencoded",
      body: "payload=%7Bnot-json",
    });
    assert.equal(garbage.status, 400);
    assert.equal(garbage.body.error.code, "SLACK_BODY_INVALID");
    for (const json of ["null", "[1,2]", "42"]) {
      const odd = await send({ contentType: "application/json", body: json });
      assert.equal(odd.status, 400, json);
      assert.equal(odd.body.error.code, "SLACK_BODY_INVALID");
    }
    assert.equal(slack.calls("views.open").filter((c) => c.args.trigger_id && c.response.ok).length, opened);
    assert.equal((await admin().get("/api/v1/requests")).body.items.length, before);
  });

  test("guests cannot request, and cannot press buttons on flows that do not let them", async () => {
    await send(slashCommand({ user: eve, triggerId: slack.trigger(), responseUrl: slack.responseUrl() }));
    await eventually(
      async () =>
        slack.views().find((v) => v.user === "U0EVE" && /Guests cannot request/.test(JSON.stringify(v.view))),
      "the guest notice",
    );
    await send(
      slashCommand({ user: { id: "U0GUEST" }, triggerId: slack.trigger(), responseUrl: slack.responseUrl() }),
    );
    await eventually(
      async () =>
        slack
          .views()
          .find((v) => v.user === "U0GUEST" && /Guests cannot request/.test(JSON.stringify(v.view))),
      "the notice for a Slack guest with a member's address",
    );
    const { body } = await t.as("alice@example.com").post("/api/v1/requests", { flow: "burst" });
    await send(blockActions({ user: eve, actionId: "jf_approve", value: body.id }));
    // Not an approver of the flow: the request is not hers to see, so it is answered as an unknown one.
    const told = await eventually(async () => slack.dms("U0EVE")[0], "eve's explanation");
    assert.equal(told.text, `You cannot act on request ${body.id}.`);
    assert.equal((await admin().get(`/api/v1/requests/${body.id}`)).body.state, "pending");
  });

  test("list, whoami, help and the App Home", async () => {
    const { body } = await t.as("alice@example.com").post("/api/v1/requests", {
      flow: "sandbox",
      target: "other",
      fields: { reason: "look", urgency: "Normal" },
    });
    assert.equal(body.state, "pending");
    const listUrl = slack.responseUrl();
    await send(slashCommand({ user: alice, text: "list", triggerId: slack.trigger(), responseUrl: listUrl }));
    const listed = await eventually(async () => slack.responses().find((r) => r.url === listUrl), "the list");
    assert.equal(listed.body.response_type, "ephemeral");
    assert.match(
      JSON.stringify(listed.body.blocks),
      new RegExp(`jf_cancel.*${body.id}|${body.id}.*jf_cancel`),
    );

    const whoUrl = slack.responseUrl();
    await send(slashCommand({ user: bob, text: "whoami", triggerId: slack.trigger(), responseUrl: whoUrl }));
    const who = await eventually(async () => slack.responses().find((r) => r.url === whoUrl), "whoami");
    assert.match(who.body.text, /bob@example.com.*member/);

    const help = await send(
      slashCommand({ user: bob, text: "help", triggerId: slack.trigger(), responseUrl: slack.responseUrl() }),
    );
    assert.match(help.body.text, /\/jitflow list/);
    const unknown = await send(
      slashCommand({
        user: bob,
        text: "frobnicate",
        triggerId: slack.trigger(),
        responseUrl: slack.responseUrl(),
      }),
    );
    assert.match(unknown.body.text, /don't know "frobnicate"/);

    const event = eventCallback({
      event: { type: "app_home_opened", user: "U0BOB", tab: "home", channel: "D0BOB" },
      eventId: "Ev0HOME1",
    });
    assert.equal((await send(event)).status, 200);
    const home = await eventually(async () => slack.home("U0BOB"), "bob's home tab");
    const shown = JSON.stringify(home.blocks);
    assert.match(shown, /Waiting for your decision/);
    assert.match(shown, new RegExp(body.id));
    // Slack retrying the same event (a new signature, the same event id) publishes nothing more.
    const publishes = slack.calls("views.publish").length;
    await send(event, { retryNum: 1, retryReason: "http_timeout" });
    await t.server.outbox.runOnce();
    assert.equal(slack.calls("views.publish").length, publishes);
    await t.as("alice@example.com").post(`/api/v1/requests/${body.id}/cancel`);
  });

  test("a flow's errors go to the error channel", async () => {
    const { body } = await t.as("alice@example.com").post("/api/v1/requests", { flow: "noisy" });
    await admin().post(`/api/v1/requests/${body.id}/approve`);
    const posted = await eventually(
      async () => slack.messages("#jitflow-errors").find((m) => /chat webhook down/.test(m.text)),
      "the error post",
    );
    assert.match(JSON.stringify(posted.blocks), new RegExp(body.id));
    // Approvers of a flow without a channel get a direct message.
    await eventually(
      async () => (slack.dms("U0BOB").some((m) => /noisy/.test(JSON.stringify(m.blocks))) ? true : undefined),
      "bob's DM",
    );
  });

  test("200 requests to one channel are all posted, in order, through rate limits", async () => {
    slack.rateLimit("chat.postMessage", { times: 3, retryAfter: 1, channel: "#burst" });
    const ids: string[] = [];
    for (let i = 0; i < 200; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, () =>
          t.as("carol@example.com").post("/api/v1/requests", { flow: "burst" }),
        ),
      );
      ids.push(...batch.map((r) => r.body.id));
    }
    ids.sort();
    const posted = await eventually(
      async () => {
        const messages = slack.messages("#burst").filter((m) => /carol@example.com/.test(m.text));
        return messages.length >= 200 ? messages : undefined;
      },
      "200 approval messages",
      60_000,
    );
    assert.equal(posted.length, 200, "none lost, none twice");
    const order = posted.map((m) => /Request `([^`]+)`/.exec(JSON.stringify(m.blocks))?.[1]);
    assert.deepEqual(order, ids);
    assert.ok(
      slack.calls("chat.postMessage").some((c) => c.status === 429),
      "Slack did rate limit",
    );
    const waited = await t.server.deps.store.db
      .selectFrom("outbox")
      .select(["attempts", "last_error"])
      .where("kind", "=", "slack")
      .where("last_error", "like", "%rate limited%")
      .execute();
    assert.ok(waited.length > 0);
    assert.ok(
      waited.every((r) => r.attempts === 0),
      "waiting out a 429 is not a failed attempt (no growing backoff)",
    );
  });
});

describe("Slack after a crash", () => {
  test("a click acknowledged before a crash is carried out after the restart", async () => {
    const slack = await FakeSlack.start({ users: people });
    const database = await createSqliteDatabase();
    const env = { SLACK_BOT_TOKEN: slack.token, SLACK_SIGNING_SECRET: secret, SLACK_API_URL: slack.apiUrl };
    const first = await startTestServer({ config, files, env, database, background: false });
    const { body } = await first.as("alice@example.com").post("/api/v1/requests", { flow: "burst" });
    const acked = await sendToSlackEndpoint(
      first.url,
      blockActions({ user: { id: "U0ADMIN" }, actionId: "jf_approve", value: body.id }),
      { secret },
    );
    assert.equal(acked.status, 200);
    // The server stops before its outbox ran: the click is only in the database.
    await first.close();
    const second = await startTestServer({ config, files, env, database });
    try {
      const approved = await waitForState(second.as("admin@example.com"), body.id, ["approved"]);
      assert.equal(approved.decisions[0].actor, "admin@example.com");
    } finally {
      await second.close();
      await database.drop();
      await slack.close();
    }
  });
});

describe("Slack off", () => {
  test("without credentials the server runs and /slack/events says Slack is off", async () => {
    delete process.env.SLACK_BOT_TOKEN;
    delete process.env.SLACK_SIGNING_SECRET;
    const t = await startTestServer({
      config: `${importJitflow}\nexport default defineConfig({ flows: [{ name: "x" }] });\n`,
    });
    try {
      const res = await fetch(`${t.url}/slack/events`, { method: "POST", body: "x" });
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as any).error.code, "SLACK_NOT_CONFIGURED");
    } finally {
      await t.close();
    }
  });
});
