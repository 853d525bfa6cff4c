// More of the Slack app: the flow picker, decision notes, extending, the expiry warning, group DMs to
// approvers, and people Slack cannot name.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { FakeClock } from "../src/lib/clock.ts";
import { type FakeMessage, FakeSlack, type FakeSlackUser } from "./support/fake-slack.ts";
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
  type SlackActor,
  sendToSlackEndpoint,
  slashCommand,
  viewSubmission,
} from "./support/slack-payloads.ts";

const secret = "more-signing-secret";
const people: FakeSlackUser[] = [
  { id: "U0ALICE", email: "alice@example.com", name: "Alice" },
  { id: "U0BOB", email: "bob@example.com", name: "Bob" },
  { id: "U0CAROL", email: "carol@example.com", name: "Carol" },
  { id: "U0NOMAIL", email: "", name: "No Mail" },
  { id: "U0GONE", email: "gone@example.com", name: "Gone", deleted: true },
  ...Array.from({ length: 8 }, (_, i) => ({
    id: `U0APP${i}`,
    email: `approver${i}@example.com`,
    name: `A${i}`,
  })),
];
const alice: SlackActor = { id: "U0ALICE" };
const bob: SlackActor = { id: "U0BOB" };
const carol: SlackActor = { id: "U0CAROL" };

const config = `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  slack: { expiryWarning: "10m", errorChannel: "#errors" },
  targets: { box: { type: "custom", label: "Sandbox admin" } },
  flows: [
    {
      name: "noted",
      label: "Noted flow",
      targets: ["box"],
      durations: ["1h", "2h"],
      approvers: { users: ["bob@example.com"], channel: "#noted", decisionNote: true },
      implementation: "./flows/box.ts",
    },
    {
      name: "crowd",
      label: "Crowd flow",
      implementation: "./flows/crowd.ts",
    },
    { name: "api_only", allowedSources: ["api"] },
    { name: "nine", allowedSources: ["api"], implementation: "./flows/nine.ts" },
    {
      name: "many",
      // 20 dropdowns of 100 long choices: more than the 250 kB Slack accepts in one form.
      fields: Array.from({ length: 20 }, (_, f) => ({
        name: "region" + f,
        type: "string",
        required: false,
        allowedValues: Array.from({ length: 100 }, (_, i) => "region-" + i + "-" + "x".repeat(60)),
      })),
    },
  ],
});
`;
const files = {
  // Nine approvers (more than a group DM holds), the first of them deactivated in Slack.
  "flows/nine.ts": `export async function getApprovers() {
  return ["gone@example.com", ...Array.from({ length: 8 }, (_, i) => "approver" + i + "@example.com")];
}
`,
  "flows/box.ts": "export async function escalate() {}\nexport async function deescalate() {}\n",
  "flows/crowd.ts": `export async function getApprovers() {
  return ["bob@example.com", "carol@example.com", "nobody-in-slack@example.com"];
}
`,
};

describe("Slack app, more", () => {
  let slack: FakeSlack;
  let t: TestServer;
  const clock = new FakeClock(Date.now());
  const send = (body: Parameters<typeof sendToSlackEndpoint>[1]) =>
    sendToSlackEndpoint(t.url, body, { secret, timestamp: Math.floor(clock.now() / 1000) });
  const admin = () => t.as("admin@example.com");

  before(async () => {
    slack = await FakeSlack.start({ users: people });
    t = await startTestServer({
      config,
      files,
      clock,
      env: { SLACK_BOT_TOKEN: slack.token, SLACK_SIGNING_SECRET: secret, SLACK_API_URL: slack.apiUrl },
    });
  });
  after(async () => {
    await t?.close();
    await slack?.close();
  });

  test("/jitflow alone shows the flows I may request; choosing one opens its form", async () => {
    await send(
      slashCommand({ user: alice, triggerId: slack.trigger(alice.id), responseUrl: slack.responseUrl() }),
    );
    const picker = await eventually(
      async () => slack.views().find((v) => v.user === alice.id && v.view.callback_id === "jf_pick"),
      "the flow picker",
    );
    const offered = picker.view.blocks
      .find((b: any) => b.type === "input")
      .element.options.map((o: any) => o.value);
    assert.deepEqual(offered, ["noted", "crowd", "many"], "api-only flows are not offered in Slack");
    const pick = (flow: string) =>
      send(
        viewSubmission({
          user: alice,
          view: {
            id: picker.id,
            callbackId: "jf_pick",
            state: { "jf:flow": { v: { type: "static_select", selected_option: { value: flow } } } },
          },
        }),
      );
    const form = await pick("noted");
    assert.equal(form.body.response_action, "update");
    assert.equal(form.body.view.callback_id, "jf_request");
    assert.deepEqual(JSON.parse(form.body.view.private_metadata), { flow: "noted" });
    const refused = await pick("api_only");
    assert.equal(refused.body.response_action, "errors");
    assert.ok(refused.body.errors["jf:flow"]);
  });

  test("a flow that asks for a decision note opens a box for it, and the requester reads it", async () => {
    const { body } = await t.as("alice@example.com").post("/api/v1/requests", { flow: "noted" });
    const posted = await eventually(async () => slack.messages("#noted")[0], "the approval message");
    await send(
      blockActions({
        user: bob,
        actionId: "jf_approve",
        value: body.id,
        message: { channel: posted.channel, ts: posted.ts },
        triggerId: slack.trigger(bob.id),
      }),
    );
    const box = await eventually(
      async () => slack.views().find((v) => v.user === bob.id && v.view.callback_id === "jf_decide"),
      "the note box",
    );
    assert.equal(
      (await admin().get(`/api/v1/requests/${body.id}`)).body.state,
      "pending",
      "nothing decided yet",
    );
    const res = await send(
      viewSubmission({
        user: bob,
        view: {
          id: box.id,
          callbackId: "jf_decide",
          privateMetadata: box.view.private_metadata,
          state: { "jf:note": { v: { type: "plain_text_input", value: "ok for the migration" } } },
        },
      }),
    );
    assert.equal(res.status, 200);
    const active = await waitForState(admin(), body.id, ["active"]);
    assert.equal(active.decisions[0].reason, "ok for the migration");
    await eventually(
      async () => (slack.dms(alice.id).some((m) => /ok for the migration/.test(m.text)) ? true : undefined),
      "the DM with the note",
    );

    // Extend from Slack: a box to choose how much longer.
    await send(
      blockActions({
        user: alice,
        actionId: "jf_extend",
        value: body.id,
        triggerId: slack.trigger(alice.id),
      }),
    );
    const extendBox = await eventually(
      async () => slack.views().find((v) => v.user === alice.id && v.view.callback_id === "jf_extend_submit"),
      "the extend box",
    );
    await send(
      viewSubmission({
        user: alice,
        view: {
          id: extendBox.id,
          callbackId: "jf_extend_submit",
          privateMetadata: extendBox.view.private_metadata,
          state: { "jf:extend": { v: { type: "static_select", selected_option: { value: "3600" } } } },
        },
      }),
    );
    const extended = await eventually(async () => {
      const r = (await admin().get(`/api/v1/requests/${body.id}`)).body;
      return Date.parse(r.expiresAt) - Date.parse(active.expiresAt) === 3_600_000 ? r : undefined;
    }, "the extension");
    await eventually(
      async () => (slack.dms(alice.id).some((m) => /was extended until/.test(m.text)) ? true : undefined),
      "the extension DM",
    );

    // Ten minutes before the (extended) end, a warning; the one scheduled for the old end says nothing.
    const warnings = () => slack.dms(alice.id).filter((m) => /ends/.test(m.text) && /in 10m/.test(m.text));
    clock.set(Date.parse(active.expiresAt) - 600_000 + 1);
    t.server.outbox.wake();
    await t.server.outbox.runOnce();
    assert.equal(warnings().length, 0, "no warning for an expiry that moved");
    clock.set(Date.parse(extended.expiresAt) - 600_000);
    await t.server.outbox.runOnce();
    await eventually(async () => (warnings().length === 1 ? true : undefined), "the expiry warning");

    // Extending past the flow's largest duration is refused, and Alice is told why.
    await send(
      blockActions({
        user: alice,
        actionId: "jf_extend",
        value: body.id,
        triggerId: slack.trigger(alice.id),
      }),
    );
    const again = await eventually(
      async () =>
        slack.views().filter((v) => v.user === alice.id && v.view.callback_id === "jf_extend_submit")[1],
      "the second extend box",
    );
    await send(
      viewSubmission({
        user: alice,
        view: {
          id: again.id,
          callbackId: "jf_extend_submit",
          privateMetadata: again.view.private_metadata,
          state: { "jf:extend": { v: { type: "static_select", selected_option: { value: "7200" } } } },
        },
      }),
    );
    await eventually(
      async () => (slack.dms(alice.id).some((m) => /allows at most/.test(m.text)) ? true : undefined),
      "the refusal",
    );
  });

  test("approvers named by getApprovers share one group DM; people not in Slack are left out", async () => {
    const { body } = await t.as("alice@example.com").post("/api/v1/requests", { flow: "crowd" });
    const opened = await eventually(
      async () => slack.calls("conversations.open").find((c) => c.response.ok),
      "the group DM",
    );
    assert.deepEqual(String(opened.args.users).split(",").sort(), ["U0BOB", "U0CAROL"]);
    const message = await eventually(
      async () =>
        slack.messages(opened.response.channel.id).find((m) => JSON.stringify(m.blocks).includes(body.id)),
      "the approval message in the group DM",
    );
    assert.match(JSON.stringify(message.blocks), /jf_approve/);
  });

  test("a form too large for Slack turns its longest dropdowns into searches", async () => {
    await send(
      slashCommand({
        user: alice,
        text: "request many",
        triggerId: slack.trigger(alice.id),
        responseUrl: slack.responseUrl(),
      }),
    );
    const form = await eventually(
      async () =>
        slack
          .views()
          .find((v) => v.user === alice.id && v.view.private_metadata === JSON.stringify({ flow: "many" })),
      "the form",
    );
    assert.ok(Buffer.byteLength(JSON.stringify(form.view)) < 250_000, "Slack accepted it");
    const searched = form.view.blocks.filter((b: any) => b.element?.type === "external_select");
    assert.ok(searched.length > 0);
    const blockId = searched[0].block_id;
    const res = await send(
      blockSuggestion({
        user: alice,
        actionId: "v",
        blockId,
        value: "region-14-",
        view: { id: form.id, callbackId: "jf_request", privateMetadata: form.view.private_metadata },
      }),
    );
    assert.deepEqual(
      res.body.options.map((o: any) => o.value),
      ["i:14"],
    );
    assert.match(res.body.options[0].text.text, /^region-14-x+/);
  });

  test("an approver Slack refuses does not keep the others from being asked", async () => {
    const { body } = await t.as("alice@example.com").post("/api/v1/requests", { flow: "nine" });
    for (let i = 0; i < 8; i++) {
      await eventually(
        async () =>
          slack.dms(`U0APP${i}`).some((m) => JSON.stringify(m.blocks).includes(body.id)) ? true : undefined,
        `approver ${i}'s message`,
      );
    }
    const reported = await eventually(
      async () => slack.messages("#errors").find((m) => /gone@example.com/.test(JSON.stringify(m.blocks))),
      "the error-channel post",
    );
    assert.match(JSON.stringify(reported.blocks), /user_disabled/);
  });

  test("the same extension carried out twice extends once", async () => {
    const { body } = await t.as("alice@example.com").post("/api/v1/requests", { flow: "noted" });
    await admin().post(`/api/v1/requests/${body.id}/approve`);
    const active = await waitForState(admin(), body.id, ["active"]);
    const seen = new Set(slack.views().map((v) => v.id));
    const openBox = async () => {
      await send(
        blockActions({
          user: alice,
          actionId: "jf_extend",
          value: body.id,
          triggerId: slack.trigger(alice.id),
        }),
      );
      const box = await eventually(
        async () =>
          slack
            .views()
            .find((v) => v.user === alice.id && v.view.callback_id === "jf_extend_submit" && !seen.has(v.id)),
        "an extend box",
      );
      seen.add(box.id);
      return box;
    };
    // Both boxes are opened before either is submitted: they saw the same end, like a retry would.
    const boxes = [await openBox(), await openBox()];
    for (const box of boxes) {
      await send(
        viewSubmission({
          user: alice,
          view: {
            id: box.id,
            callbackId: "jf_extend_submit",
            privateMetadata: box.view.private_metadata,
            state: { "jf:extend": { v: { type: "static_select", selected_option: { value: "3600" } } } },
          },
        }),
      );
    }
    await t.server.outbox.runOnce();
    await eventually(async () => {
      const r = (await admin().get(`/api/v1/requests/${body.id}`)).body;
      return Date.parse(r.expiresAt) - Date.parse(active.expiresAt) === 3_600_000 ? r : undefined;
    }, "one extension");
    await t.server.outbox.runOnce();
    const audit = await admin().get(`/api/v1/audit?requestId=${body.id}`);
    assert.equal(audit.body.items.filter((e: any) => e.type === "grant.extended").length, 1);
  });

  test("a note's or Extend's box opens only for who may see the request; others hear what a missing one gets", async () => {
    const { body } = await t.as("alice@example.com").post("/api/v1/requests", { flow: "noted" });
    const id = body.id as string;
    const posted = await eventually(
      async () => slack.messages("#noted").find((m) => !m.threadTs && JSON.stringify(m.blocks).includes(id)),
      "the approval message",
    );
    const message = { channel: posted.channel, ts: posted.ts };
    /** Carol (no part in the request) presses a button: the box opened for her, or what she is told. */
    const press = async (
      actionId: string,
      requestId: string,
      told: () => FakeMessage[],
      on?: typeof message,
    ) => {
      const trigger = slack.trigger(carol.id);
      const earlier = told().length;
      const res = await send(
        blockActions({
          user: carol,
          actionId,
          value: requestId,
          triggerId: trigger,
          ...(on ? { message: on } : {}),
        }),
      );
      assert.equal(res.status, 200);
      const got = await eventually(async () => {
        const opened = slack.calls("views.open").find((c) => c.args.trigger_id === trigger);
        if (opened) return { box: opened.args.view };
        const answer = told()
          .slice(earlier)
          .find((m) => m.text.includes(requestId));
        return answer && { box: undefined, answer };
      }, `what carol got for ${actionId} on ${requestId}`);
      assert.equal(got.box, undefined, `no box opens for carol: ${JSON.stringify(got.box)}`);
      // Where and what she was told, with the id taken out, so that the two answers can be compared whole.
      const { channel, text, blocks } = got.answer as FakeMessage;
      return JSON.parse(JSON.stringify({ channel, text, blocks }).replaceAll(requestId, "ID"));
    };

    for (const actionId of ["jf_approve", "jf_deny"]) {
      const hidden = await press(actionId, id, () => slack.ephemerals(carol.id), message);
      const missing = await press(actionId, randomUUID(), () => slack.ephemerals(carol.id), message);
      assert.deepEqual(hidden, missing, `${actionId}: the same answer as for a request that does not exist`);
      assert.equal(hidden.text, "You cannot act on request ID.");
    }
    assert.equal((await admin().get(`/api/v1/requests/${id}`)).body.state, "pending");

    assert.equal((await admin().post(`/api/v1/requests/${id}/approve`)).status, 200);
    const active = await waitForState(admin(), id, ["active"]);
    const hidden = await press("jf_extend", id, () => slack.dms(carol.id));
    const missing = await press("jf_extend", randomUUID(), () => slack.dms(carol.id));
    assert.deepEqual(hidden, missing, "Extend: the same answer as for a request that does not exist");
    assert.equal(hidden.text, "You cannot act on request ID.");
    assert.equal((await admin().get(`/api/v1/requests/${id}`)).body.expiresAt, active.expiresAt);
  });

  test("a Slack user without an email is told jitflow cannot tell who they are", async () => {
    const url = slack.responseUrl();
    await send(
      slashCommand({
        user: { id: "U0NOMAIL" },
        text: "whoami",
        triggerId: slack.trigger(),
        responseUrl: url,
      }),
    );
    const answer = await eventually(async () => slack.responses().find((r) => r.url === url), "the answer");
    assert.match(answer.body.text, /no confirmed email address/);
  });
});
