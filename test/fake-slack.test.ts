// The fake Slack and the signed payloads are the yardstick of every Slack test, so they are tested first.

import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { App, HTTPReceiver, LogLevel, verifySlackRequest } from "@slack/bolt";
import { ErrorCode, WebClient, LogLevel as WebLogLevel } from "@slack/web-api";
import { FakeClock } from "../src/lib/clock.ts";
import { blockProblems, FakeSlack, viewProblems } from "./support/fake-slack.ts";
import { eventually } from "./support/harness.ts";
import {
  blockActions,
  blockSuggestion,
  eventCallback,
  sendToSlackEndpoint,
  slackSignature,
  slashCommand,
  urlVerification,
  viewSubmission,
} from "./support/slack-payloads.ts";

const alice = { id: "U0ALICE", email: "Alice@Example.com", name: "alice" };
const bob = { id: "U0BOB", email: "bob@example.com" };
const clock = new FakeClock(Date.now());
let fake: FakeSlack;
let slack: WebClient;

before(async () => {
  fake = await FakeSlack.start({ users: [alice, bob], clock });
  slack = new WebClient(fake.token, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logLevel: WebLogLevel.ERROR,
  });
});
after(() => fake.close());

/** The Slack error code and messages of a rejected call. */
async function slackError(call: Promise<unknown>): Promise<{ error: string; messages: string[] }> {
  try {
    await call;
  } catch (err: any) {
    assert.equal(err.code, ErrorCode.PlatformError, String(err));
    return { error: err.data.error, messages: err.data.response_metadata?.messages ?? [] };
  }
  assert.fail("the call was accepted");
}

const section = (text: string) => ({ type: "section", text: { type: "mrkdwn", text } });
const modal = (extra: Record<string, any> = {}): any => ({
  type: "modal",
  title: { type: "plain_text", text: "Request access" },
  blocks: [section("hi")],
  ...extra,
});

test("posts to a channel by name and updates the message in place", async () => {
  const posted = await slack.chat.postMessage({
    channel: "#db-approvals",
    text: "v1",
    blocks: [section("one")],
  });
  const second = await slack.chat.postMessage({ channel: "#db-approvals", text: "other" });
  assert.equal(posted.channel, fake.channelId("#db-approvals"));
  assert.match(posted.channel ?? "", /^C\d{4}$/);
  assert.ok(Number(second.ts) > Number(posted.ts), "ts values increase");

  await slack.chat.update({
    channel: posted.channel ?? "",
    ts: posted.ts ?? "",
    text: "v2",
    blocks: [section("two")],
  });
  const [first] = fake.messages("#db-approvals");
  assert.equal(first?.text, "v2");
  assert.equal(first?.blocks[0].text.text, "two");
  assert.equal(first?.updates, 1);
  assert.equal(fake.messages(posted.channel).length, 2);

  assert.equal(
    (await slackError(slack.chat.update({ channel: "#db-approvals", ts: posted.ts ?? "", text: "x" }))).error,
    "channel_not_found",
  );
  assert.equal(
    (await slackError(slack.chat.update({ channel: posted.channel ?? "", ts: "1.000001", text: "x" }))).error,
    "message_not_found",
  );
  assert.equal(
    (await slackError(slack.chat.postMessage({ channel: "C9999", text: "x" }))).error,
    "channel_not_found",
  );
  assert.equal(
    (await slackError(slack.chat.postMessage({ channel: "#db-approvals" } as any))).error,
    "no_text",
  );
  assert.deepEqual(
    fake.calls("chat.update")[0]?.args.blocks,
    [section("two")],
    "JSON form fields are parsed",
  );
});

test("a DM to a user id lands in the IM conversations.open returns", async () => {
  const dm = await slack.chat.postMessage({ channel: alice.id, text: "your request" });
  const open = await slack.conversations.open({ users: alice.id });
  assert.match(dm.channel ?? "", /^D\d{4}$/);
  assert.equal(open.channel?.id, dm.channel);
  await slack.chat.postMessage({ channel: open.channel?.id ?? "", text: "again" });
  assert.deepEqual(
    fake.dms(alice.id).map((m) => m.text),
    ["your request", "again"],
  );
  assert.deepEqual(fake.dms(bob.id), []);

  const group = await slack.conversations.open({ users: `${alice.id},${bob.id}` });
  const same = await slack.conversations.open({ users: `${bob.id},${alice.id}` });
  assert.match(group.channel?.id ?? "", /^G\d{4}$/);
  assert.equal(same.channel?.id, group.channel?.id);
  const nine = Array.from({ length: 9 }, () => alice.id).join(",");
  assert.equal((await slackError(slack.conversations.open({ users: nine }))).error, "too_many_users");
  assert.equal((await slackError(slack.conversations.open({ users: "U0NOBODY" }))).error, "user_not_found");

  await slack.chat.postEphemeral({ channel: "#db-approvals", user: bob.id, text: "only you" });
  assert.equal(fake.ephemerals(bob.id)[0]?.text, "only you");
});

test("looks users up by id and by email, case-insensitively", async () => {
  const byEmail = await slack.users.lookupByEmail({ email: "alice@EXAMPLE.com" });
  assert.equal(byEmail.user?.id, alice.id);
  assert.equal(byEmail.user?.profile?.email, alice.email);
  const byId = await slack.users.info({ user: bob.id });
  assert.equal(byId.user?.name, "bob");
  assert.equal(byId.user?.is_bot, false);
  assert.equal((await slackError(slack.users.lookupByEmail({ email: "x@y.z" }))).error, "users_not_found");
  assert.equal((await slackError(slack.users.info({ user: "U0NOBODY" }))).error, "user_not_found");
  const auth = await slack.auth.test();
  assert.equal(auth.user_id, "U0BOT");
});

test("a trigger opens one view, once, within 3 s", async () => {
  const trigger = fake.trigger(alice.id);
  const opened = await slack.views.open({ trigger_id: trigger, view: modal({ callback_id: "request" }) });
  assert.match(opened.view?.id ?? "", /^V\d{4}$/);
  assert.equal(fake.views()[0]?.user, alice.id);
  assert.equal(
    (await slackError(slack.views.open({ trigger_id: trigger, view: modal() }))).error,
    "exchanged_trigger_id",
  );
  assert.equal(
    (await slackError(slack.views.open({ trigger_id: "123.abc", view: modal() }))).error,
    "invalid_trigger_id",
  );

  const late = fake.trigger();
  clock.advance(3001);
  assert.equal(
    (await slackError(slack.views.open({ trigger_id: late, view: modal() }))).error,
    "expired_trigger_id",
  );

  const id = opened.view?.id ?? "";
  const updated = await slack.views.update({
    view_id: id,
    hash: opened.view?.hash,
    view: modal({ blocks: [section("2")] }),
  });
  assert.notEqual(updated.view?.hash, opened.view?.hash);
  assert.equal(fake.views()[0]?.view.blocks[0].text.text, "2");
  const stale = slack.views.update({ view_id: id, hash: opened.view?.hash, view: modal() });
  assert.equal((await slackError(stale)).error, "hash_conflict");
  assert.equal(
    (await slackError(slack.views.update({ view_id: "V9999", view: modal() }))).error,
    "not_found",
  );

  await slack.views.publish({ user_id: bob.id, view: { type: "home", blocks: [section("home")] } });
  assert.equal(fake.home(bob.id).blocks[0].text.text, "home");
  const notHome = slack.views.publish({ user_id: bob.id, view: modal() });
  assert.equal((await slackError(notHome)).error, "invalid_arguments");
});

test("rejects what breaks Slack's limits, naming the path", async () => {
  const many = Array.from({ length: 51 }, () => ({ type: "divider" }));
  const tooMany = await slackError(slack.chat.postMessage({ channel: "#limits", text: "x", blocks: many }));
  assert.deepEqual(tooMany, { error: "invalid_blocks", messages: ["blocks: 51 blocks, limit 50"] });

  const long = await slackError(
    slack.chat.postMessage({
      channel: "#limits",
      text: "x",
      blocks: [{ type: "divider" }, section("a".repeat(3001))],
    }),
  );
  assert.deepEqual(long.messages, ["blocks[1].text.text: 3001 chars, limit 3000"]);

  const title = await slackError(
    slack.views.open({
      trigger_id: fake.trigger(),
      view: modal({ title: { type: "plain_text", text: "t".repeat(25) } }),
    }),
  );
  assert.deepEqual(title, { error: "invalid_arguments", messages: ["view.title.text: 25 chars, limit 24"] });

  const select = {
    type: "section",
    text: { type: "mrkdwn", text: "Pick" },
    accessory: {
      type: "static_select",
      action_id: "pick",
      options: [{ text: { type: "plain_text", text: "o".repeat(76) }, value: "v" }],
    },
  };
  const option = await slackError(
    slack.chat.postMessage({ channel: "#limits", text: "x", blocks: [select] }),
  );
  assert.deepEqual(option.messages, ["blocks[0].accessory.options[0].text.text: 76 chars, limit 75"]);

  const input = {
    type: "input",
    label: { type: "plain_text", text: "Why" },
    element: { type: "plain_text_input" },
  };
  const inMessage = await slackError(
    slack.chat.postMessage({ channel: "#limits", text: "x", blocks: [input] }),
  );
  assert.deepEqual(inMessage.messages, [
    "blocks[0].type: input blocks are only allowed in modals and Home tabs",
  ]);
  assert.deepEqual(fake.messages("#limits"), [], "nothing rejected was stored");

  const huge = await slack.chat.postMessage({ channel: "#limits", text: "y".repeat(40_001) });
  assert.equal(huge.ok, true, "long text is truncated, not refused");
  assert.equal(fake.messages("#limits")[0]?.text.length, 40_000);
});

test("the validator's rules, case by case", () => {
  const button = (extra: Record<string, any>) => ({
    type: "actions",
    elements: [{ type: "button", text: { type: "plain_text", text: "Go" }, action_id: "go", ...extra }],
  });
  const cases: [string, unknown[], string[]][] = [
    [
      "header over 150",
      [{ type: "header", text: { type: "plain_text", text: "h".repeat(151) } }],
      ["blocks[0].text.text: 151 chars, limit 150"],
    ],
    [
      "header in mrkdwn",
      [{ type: "header", text: { type: "mrkdwn", text: "h" } }],
      ['blocks[0].text.type: must be plain_text, got "mrkdwn"'],
    ],
    ["section with neither", [{ type: "section" }], ["blocks[0]: a section needs text or fields"]],
    [
      "11 fields",
      [{ type: "section", fields: Array.from({ length: 11 }, () => ({ type: "mrkdwn", text: "f" })) }],
      ["blocks[0].fields: 11 items, limit 10"],
    ],
    ["empty section text", [section("")], ["blocks[0].text.text: must not be empty"]],
    [
      "button value over 2000",
      [button({ value: "v".repeat(2001) })],
      ["blocks[0].elements[0].value: 2001 chars, limit 2000"],
    ],
    [
      "button text over 75",
      [button({ text: { type: "plain_text", text: "b".repeat(76) } })],
      ["blocks[0].elements[0].text.text: 76 chars, limit 75"],
    ],
    [
      "long action_id",
      [button({ action_id: "a".repeat(256) })],
      ["blocks[0].elements[0].action_id: 256 chars, limit 255"],
    ],
    [
      "confirm deny over 30",
      [
        button({
          confirm: {
            title: { type: "plain_text", text: "Sure?" },
            text: { type: "mrkdwn", text: "ok" },
            confirm: { type: "plain_text", text: "Yes" },
            deny: { type: "plain_text", text: "n".repeat(31) },
          },
        }),
      ],
      ["blocks[0].elements[0].confirm.deny.text: 31 chars, limit 30"],
    ],
    [
      "repeated block_id",
      [
        { type: "divider", block_id: "x" },
        { type: "divider", block_id: "x" },
      ],
      ['blocks[1].block_id: "x" repeats in this surface'],
    ],
    [
      "repeated action_id",
      [{ type: "actions", elements: [button({}).elements[0], button({}).elements[0]] }],
      ['blocks[0].elements[1].action_id: "go" repeats in this block'],
    ],
    [
      "26 actions",
      [
        {
          type: "actions",
          elements: Array.from({ length: 26 }, (_, i) => ({ ...button({}).elements[0], action_id: `a${i}` })),
        },
      ],
      ["blocks[0].elements: 26 items, limit 25"],
    ],
    [
      "11 context elements",
      [{ type: "context", elements: Array.from({ length: 11 }, () => ({ type: "mrkdwn", text: "c" })) }],
      ["blocks[0].elements: 11 items, limit 10"],
    ],
    ["unknown block", [{ type: "carousel" }], ['blocks[0].type: unknown block type "carousel"']],
    [
      "option value over 75",
      [
        {
          type: "actions",
          elements: [
            {
              type: "static_select",
              options: [{ text: { type: "plain_text", text: "o" }, value: "v".repeat(76) }],
            },
          ],
        },
      ],
      ["blocks[0].elements[0].options[0].value: 76 chars, limit 75"],
    ],
    [
      "101 options",
      [
        {
          type: "actions",
          elements: [
            {
              type: "static_select",
              options: Array.from({ length: 101 }, (_, i) => ({
                text: { type: "plain_text", text: "o" },
                value: `${i}`,
              })),
            },
          ],
        },
      ],
      ["blocks[0].elements[0].options: 101 items, limit 100"],
    ],
    ["fine", [section("ok"), { type: "divider" }, { type: "rich_text", elements: [] }], []],
  ];
  for (const [name, blocks, expected] of cases)
    assert.deepEqual(blockProblems(blocks, "message"), expected, name);

  const input = {
    type: "input",
    label: { type: "plain_text", text: "Why" },
    element: { type: "plain_text_input", max_length: 3001 },
  };
  assert.deepEqual(viewProblems(modal({ blocks: [input] }), "modal"), [
    "view.blocks[0].element.max_length: 3001, must be 1–3000",
    "view.submit: required when the view has input blocks",
  ]);
  assert.deepEqual(viewProblems(modal({ private_metadata: "m".repeat(3001) }), "modal"), [
    "view.private_metadata: 3001 chars, limit 3000",
  ]);
  assert.deepEqual(
    viewProblems(modal({ blocks: Array.from({ length: 101 }, () => ({ type: "divider" })) }), "modal"),
    ["view.blocks: 101 blocks, limit 100"],
  );
});

test("rateLimit answers 429 with Retry-After; failNext answers an error; both only as often as asked", async () => {
  fake.rateLimit("chat.postMessage", { retryAfter: 7, channel: "#busy" });
  await slack.chat.postMessage({ channel: "#quiet", text: "other channels pass" });
  await assert.rejects(slack.chat.postMessage({ channel: "#busy", text: "x" }), (err: any) => {
    assert.equal(err.code, ErrorCode.RateLimitedError);
    assert.equal(err.retryAfter, 7);
    return true;
  });
  await slack.chat.postMessage({ channel: "#busy", text: "once only" });
  assert.deepEqual(
    fake
      .calls("chat.postMessage")
      .slice(-3)
      .map((c) => c.status),
    [200, 429, 200],
  );

  fake.failNext("users.info", "fatal_error");
  assert.equal((await slackError(slack.users.info({ user: bob.id }))).error, "fatal_error");
  assert.equal((await slack.users.info({ user: bob.id })).ok, true);
});

test("a wrong or missing token is refused; an unknown method is a 404", async () => {
  const wrong = new WebClient("xoxb-wrong", { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
  assert.equal((await slackError(wrong.auth.test())).error, "invalid_auth");
  const bare = await fetch(`${fake.apiUrl}auth.test`, { method: "POST" });
  assert.deepEqual(await bare.json(), { ok: false, error: "not_authed" });
  const inBody = await fetch(`${fake.apiUrl}auth.test`, {
    method: "POST",
    body: new URLSearchParams({ token: fake.token }),
  });
  assert.equal((await inBody.json()).ok, true);
  const unknown = await fetch(`${fake.apiUrl}chat.nope`, {
    method: "POST",
    headers: { authorization: `Bearer ${fake.token}` },
  });
  assert.equal(unknown.status, 404);
  assert.deepEqual(await unknown.json(), { ok: false, error: "unknown_method" });
});

test("response URLs record what is posted, up to Slack's 5 posts", async () => {
  const url = fake.responseUrl();
  const post = (body: unknown) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const first = await post({ text: "done", replace_original: true });
  assert.equal(first.status, 200);
  assert.equal(await first.text(), "ok");
  assert.equal((await post({ blocks: [section("")] })).status, 400);
  for (let i = 0; i < 4; i++) await post({ text: `${i}` });
  assert.equal((await post({ text: "sixth" })).status, 404);
  const mine = fake.responses().filter((r) => r.url === url);
  assert.deepEqual(
    mine.map((r) => r.body.text),
    ["done", "0", "1", "2", "3"],
  );
});

test("slackSignature agrees with Bolt's verifySlackRequest", () => {
  const body = slashCommand({ user: alice, triggerId: "t", responseUrl: "http://x/r" }).body;
  const ts = Math.floor(Date.now() / 1000);
  const headers = {
    "x-slack-signature": slackSignature("s3cret", body, ts),
    "x-slack-request-timestamp": ts,
  };
  assert.doesNotThrow(() => verifySlackRequest({ signingSecret: "s3cret", body, headers }));
  assert.throws(() => verifySlackRequest({ signingSecret: "other", body, headers }), /signature mismatch/);
});

test("Bolt routes every payload builder's body to the right listener", async () => {
  const secret = "bolt-secret";
  const receiver = new HTTPReceiver({
    signingSecret: secret,
    endpoints: "/slack/events",
    logLevel: LogLevel.ERROR,
  });
  const app = new App({
    token: fake.token,
    receiver,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
  });
  const seen: string[] = [];
  app.command("/jitflow", async ({ ack, command, client }) => {
    seen.push(`command ${command.text} ${command.user_id}`);
    await ack();
    await client.views.open({ trigger_id: command.trigger_id, view: modal({ callback_id: "from-bolt" }) });
  });
  app.action("approve", async ({ ack, body }) => {
    seen.push(`action ${(body as any).actions[0].value} ${(body as any).message.ts}`);
    await ack();
  });
  app.action("pick", async ({ ack, action }) => {
    seen.push(`select ${(action as any).selected_option.value}`);
    await ack();
  });
  app.view("request", async ({ ack, view }) => {
    seen.push(`view ${view.state.values.reason?.text?.value} ${view.private_metadata}`);
    await ack({ response_action: "errors", errors: { reason: "too short" } });
  });
  app.options("role", async ({ ack, options }) => {
    seen.push(`options ${options.value}`);
    await ack({ options: [{ text: { type: "plain_text", text: "Reader" }, value: "reader" }] });
  });
  app.event("app_home_opened", async ({ event }) => {
    seen.push(`event ${event.user}`);
  });
  const server = createServer(receiver.requestListener);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const send = (body: Parameters<typeof sendToSlackEndpoint>[1]) =>
    sendToSlackEndpoint(url, body, { secret });
  try {
    const command = await send(
      slashCommand({ user: alice, text: "db", triggerId: fake.trigger(), responseUrl: fake.responseUrl() }),
    );
    assert.equal(command.status, 200);
    assert.equal(command.body, "");
    await send(
      blockActions({
        user: bob,
        actionId: "approve",
        value: "req-1",
        message: { channel: "C0001", ts: "1700000000.000100" },
        responseUrl: fake.responseUrl(),
      }),
    );
    await send(
      blockActions({
        user: bob,
        actionId: "pick",
        view: { id: "V0001", type: "home" },
        selectedOption: { text: "Prod", value: "prod" },
      }),
    );
    const submitted = await send(
      viewSubmission({
        user: alice,
        view: {
          id: "V0001",
          callbackId: "request",
          privateMetadata: "m",
          state: { reason: { text: { type: "plain_text_input", value: "because" } } },
        },
      }),
    );
    assert.deepEqual(submitted.body, { response_action: "errors", errors: { reason: "too short" } });
    const suggested = await send(
      blockSuggestion({
        user: alice,
        actionId: "role",
        blockId: "role",
        value: "rea",
        view: { id: "V0001", callbackId: "request" },
      }),
    );
    assert.equal(suggested.body.options[0].value, "reader");
    await send(eventCallback({ event: { type: "app_home_opened", user: alice.id, tab: "home" } }));
    const challenge = await send(urlVerification("abc"));
    assert.deepEqual(challenge.body, { challenge: "abc" });
    const forged = await sendToSlackEndpoint(url, urlVerification("abc"), { secret, signature: "v0=00" });
    assert.equal(forged.status, 401);

    // Bolt acknowledges events before their listener runs: wait for the last one to be seen.
    await eventually(async () => (seen.length >= 6 ? true : undefined), "every listener to run");
    assert.deepEqual(seen, [
      `command db ${alice.id}`,
      "action req-1 1700000000.000100",
      "select prod",
      "view because m",
      "options rea",
      `event ${alice.id}`,
    ]);
    const opened = fake.views().find((v) => v.view.callback_id === "from-bolt");
    assert.equal(opened?.user, alice.id, "the fake knows whose trigger the payload carried");
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
