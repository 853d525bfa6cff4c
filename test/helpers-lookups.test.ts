// The directory lookups against fakes of their vendors' APIs: PagerDuty on-calls (REST API v2), Okta group
// members (the official SDK), Slack channel members (the Web API client): pages, names, and clear errors.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { inspect } from "node:util";
import { ErrorCode, LogLevel, WebClient } from "@slack/web-api";
import type { SecretRef } from "../src/config/schema.ts";
import { LookupError } from "../src/directory/lookup-error.ts";
import { createOktaLookups } from "../src/directory/okta.ts";
import { createPagerDuty, pagerdutyIntegration } from "../src/directory/pagerduty.ts";
import { usersInChannel } from "../src/directory/slack-lookups.ts";
import { FakeClock } from "../src/lib/clock.ts";
import { oktaGroupTarget } from "../src/targets/okta-group.ts";
import { type FakeOkta, startFakeOkta } from "./support/fake-okta.ts";
import { type FakePagerDuty, startFakePagerDuty } from "./support/fake-pagerduty.ts";
import { FakeSlack, fakeTeam } from "./support/fake-slack.ts";

/** Puts `value` in a fresh environment variable; returns its reference. */
function envSecret(value: string): SecretRef {
  const name = `JITFLOW_TEST_LOOKUP_${randomBytes(6).toString("hex").toUpperCase()}`;
  process.env[name] = value;
  return { env: name };
}

/** The LookupError `promise` rejects with; fails if it resolves or rejects with anything else. */
async function lookupError(promise: Promise<unknown>): Promise<LookupError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof LookupError, `expected a LookupError, got ${inspect(err)}`);
    assert.equal(err.code, "LOOKUP_FAILED");
    return err;
  }
  assert.fail("the lookup succeeded");
}

/** Whether `secret` shows anywhere in the error, its causes included. */
const leaks = (err: Error, secret: string) => inspect(err, { depth: 10 }).includes(secret);

const sorted = (xs: string[]) => [...xs].sort();

describe("PagerDuty: who is on call", () => {
  const token = `u+${randomBytes(12).toString("base64url")}`;
  const clock = new FakeClock(Date.now());
  let fake: FakePagerDuty;
  let pd: ReturnType<typeof createPagerDuty>;

  const requestsTo = (path: string) => fake.requests.filter((r) => r.path === path);

  before(async () => {
    // Two items a page, so three people take two pages.
    fake = await startFakePagerDuty({ token, pageSize: 2 });
    fake.setOnCall("PABC123", "DB on-call", ["Alice@Example.com", "bob@example.com", "carol@example.com"]);
    fake.setOnCall("PABC124", "DB on-call backup", ["dave@example.com"]);
    fake.setOnCall("PXYZ789", "Web", ["erin@example.com"]);
    fake.setOnCall("PXYZ790", "web", ["frank@example.com"]);
    // The same person in two escalation levels of a schedule shows up twice.
    fake.setOnCall("PDUP001", "Twice", ["gina@example.com", "Gina@example.com"]);
    const integration = pagerdutyIntegration.parse({
      type: "pagerduty",
      token: envSecret(token),
      apiUrl: fake.url,
    });
    pd = createPagerDuty(integration, { clock });
  });
  after(() => fake.close());

  test("the schema fills in PagerDuty's address and keeps other keys", () => {
    const parsed = pagerdutyIntegration.parse({ type: "pagerduty", token: { env: "PD_TOKEN" }, note: "x" });
    assert.equal(parsed.apiUrl, "https://api.pagerduty.com");
    assert.equal((parsed as Record<string, unknown>).note, "x");
    assert.equal(pagerdutyIntegration.safeParse({ type: "pagerduty", token: "inline" }).success, false);
  });

  test("by id: the people on call now, across pages, with PagerDuty's headers and filters", async () => {
    fake.requests.length = 0;
    assert.deepEqual(sorted(await pd.onCall("PABC123")), [
      "alice@example.com",
      "bob@example.com",
      "carol@example.com",
    ]);
    const calls = requestsTo("/oncalls");
    assert.equal(calls.length, 2, "three on-calls, two a page");
    assert.deepEqual(
      calls.map((r) => r.query.get("offset")),
      ["0", "2"],
    );
    for (const r of calls) {
      assert.deepEqual(r.query.getAll("schedule_ids[]"), ["PABC123"]);
      assert.deepEqual(r.query.getAll("include[]"), ["users"]);
      assert.equal(r.query.get("earliest"), "true");
      assert.equal(r.query.get("since"), null);
      assert.equal(r.accept, "application/vnd.pagerduty+json;version=2");
    }
    assert.equal(requestsTo("/schedules").length, 0, "an id needs no lookup");
  });

  test("someone on call twice is listed once", async () => {
    assert.deepEqual(await pd.onCall("PDUP001"), ["gina@example.com"]);
  });

  test("at a given instant: since and until are that instant", async () => {
    fake.requests.length = 0;
    const at = new Date("2026-03-04T05:06:07.000Z");
    await pd.onCall("PABC123", at);
    const [first] = requestsTo("/oncalls");
    assert.equal(first?.query.get("since"), at.toISOString());
    assert.equal(first?.query.get("until"), at.toISOString());
  });

  test("by name: the exact match (any case) among the schedules the query finds, cached for 10 minutes", async () => {
    fake.requests.length = 0;
    assert.deepEqual(sorted(await pd.onCall("db ON-CALL")), [
      "alice@example.com",
      "bob@example.com",
      "carol@example.com",
    ]);
    const lookups = requestsTo("/schedules");
    assert.equal(lookups.length, 1);
    assert.equal(lookups[0]?.query.get("query"), "db ON-CALL");
    assert.deepEqual(requestsTo("/oncalls")[0]?.query.getAll("schedule_ids[]"), ["PABC123"]);

    assert.deepEqual(await pd.onCall("DB on-call backup"), ["dave@example.com"]);
    await pd.onCall("db on-call");
    assert.equal(requestsTo("/schedules").length, 2, "the second lookup of a name is cached");
    clock.advance(10 * 60_000 + 1);
    await pd.onCall("db on-call");
    assert.equal(requestsTo("/schedules").length, 3, "the cache lasts 10 minutes");
  });

  test("a name that matches no schedule, or several, is an error", async () => {
    const missing = await lookupError(pd.onCall("DB"));
    assert.equal(missing.message, 'PagerDuty schedule "DB" not found');
    const several = await lookupError(pd.onCall("WEB"));
    assert.match(several.message, /2 schedules named "WEB" \(PXYZ789, PXYZ790\)/);
  });

  test("isOnCall compares emails in any case", async () => {
    assert.equal(await pd.isOnCall("ALICE@example.COM", "PABC123"), true);
    assert.equal(await pd.isOnCall(" carol@example.com ", "DB on-call"), true);
    assert.equal(await pd.isOnCall("dave@example.com", "PABC123"), false);
  });

  test("a refused token: 401, said plainly, without the token", async () => {
    const wrong = `u+${randomBytes(12).toString("base64url")}`;
    const client = createPagerDuty(
      pagerdutyIntegration.parse({ type: "pagerduty", token: envSecret(wrong), apiUrl: fake.url }),
    );
    const err = await lookupError(client.onCall("PABC123"));
    assert.equal(err.message, "PagerDuty answered 401: the API token was refused");
    assert.equal(leaks(err, wrong), false);
  });

  test("rate limited: 429, with how long to wait, without the token", async () => {
    fake.failNext(429);
    const err = await lookupError(pd.onCall("PABC123"));
    assert.match(err.message, /^PagerDuty answered 429: rate limited .*; try again in 30 s$/);
    assert.equal(leaks(err, token), false);
    assert.deepEqual(await pd.onCall("PDUP001"), ["gina@example.com"], "the next lookup works");
  });

  test("a server error and an unset token variable are LookupErrors too", async () => {
    fake.failNext(503);
    assert.match(
      (await lookupError(pd.onCall("PABC123"))).message,
      /PagerDuty answered 503 .*Internal Server Error/,
    );
    const unset = createPagerDuty(
      pagerdutyIntegration.parse({
        type: "pagerduty",
        token: { env: "JITFLOW_TEST_UNSET_PD" },
        apiUrl: fake.url,
      }),
    );
    assert.match((await lookupError(unset.onCall("PABC123"))).message, /JITFLOW_TEST_UNSET_PD is not set/);
  });
});

describe("Okta: who is in a group", () => {
  let fake: FakeOkta;
  let okta: ReturnType<typeof createOktaLookups>;
  let groupId: string;

  const integrationFor = (token: SecretRef) =>
    oktaGroupTarget.integration?.settings.parse({ type: "okta", orgUrl: fake.url, token }) as Parameters<
      typeof createOktaLookups
    >[0];

  before(async () => {
    // Two members a page, so four members take two pages.
    fake = await startFakeOkta({ pageSize: 2 });
    groupId = fake.addGroup("db-approvers");
    fake.addUser("alice@example.com");
    fake.addUser("carol", "Carol@Example.com");
    fake.addUser("Bob.Smith@example.com", "bob.smith@example.com");
    // No email: the login stands in.
    fake.addUser("Dave@Example.com", "");
    fake.addUser("eve@example.com");
    for (const login of ["alice@example.com", "carol", "Bob.Smith@example.com", "Dave@Example.com"]) {
      fake.addMember(groupId, login);
    }
    okta = createOktaLookups(integrationFor(envSecret(fake.token)));
  });
  after(() => fake.close());

  test("usersInGroup: every member's email (else login), lower-cased, across pages", async () => {
    fake.calls.length = 0;
    assert.deepEqual(sorted(await okta.usersInGroup(groupId)), [
      "alice@example.com",
      "bob.smith@example.com",
      "carol@example.com",
      "dave@example.com",
    ]);
    const pages = fake.calls.filter((c) => c.url.startsWith(`/api/v1/groups/${groupId}/users`));
    assert.equal(pages.length, 2);
    assert.ok(pages[1]?.url.includes("after="), "the second page follows the Link header");
  });

  test("isUserInGroup: by email or login, in any case", async () => {
    assert.equal(await okta.isUserInGroup("CAROL@example.com", groupId), true);
    assert.equal(await okta.isUserInGroup("carol", groupId), true);
    assert.equal(await okta.isUserInGroup("dave@example.com", groupId), true);
    assert.equal(await okta.isUserInGroup("eve@example.com", groupId), false);
  });

  test("an unknown group, a refused token, a rate limit: LookupErrors, without the token", async () => {
    assert.equal((await lookupError(okta.usersInGroup("00gnope"))).message, "Okta group 00gnope not found");
    assert.match((await lookupError(okta.usersInGroup("../users"))).message, /not an Okta group id/);

    const wrong = `00${randomBytes(21).toString("base64url")}`;
    const refused = await lookupError(
      createOktaLookups(integrationFor(envSecret(wrong))).usersInGroup(groupId),
    );
    assert.match(refused.message, /^Okta answered 401: the API token was refused/);
    assert.equal(leaks(refused, wrong), false);

    fake.throttle(1, 30);
    const limited = await lookupError(okta.isUserInGroup("alice@example.com", groupId));
    assert.match(limited.message, /^Okta answered 429: rate limited .*; try again in \d+ s$/);
    assert.equal(leaks(limited, fake.token), false);
  });
});

describe("Slack: who is in a channel", () => {
  const people = {
    alice: { id: "U0ALICE", email: "Alice@Example.com" },
    bob: { id: "U0BOB", email: "bob@example.com" },
    carol: { id: "U0CAROL", email: "carol@example.com" },
    deployBot: { id: "U0DEPLOY", email: "deploy@example.com", isBot: true },
    gone: { id: "U0GONE", email: "gone@example.com", deleted: true },
    typo: { id: "U0TYPO", email: "typed@example.com", emailConfirmed: false },
    app: { id: fakeTeam.botUserId, email: "jitflow@example.com", isBot: true },
  };
  let fake: FakeSlack;
  let channelId: string;
  let privateId: string;
  let hiddenId: string;

  const clientFor = (token = fake.token) =>
    new WebClient(token, {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      logLevel: LogLevel.ERROR,
    });

  before(async () => {
    // Two items a page, so the channels and members below take several pages each.
    fake = await FakeSlack.start({ users: Object.values(people), pageSize: 2 });
    for (const name of ["general", "random", "old-db-oncall"])
      fake.addChannel(name, { members: [people.bob.id] });
    fake.addChannel("archived-db", { archived: true, members: [people.alice.id] });
    channelId = fake.addChannel("#db-oncall", {
      members: Object.values(people).map((p) => p.id),
    });
    privateId = fake.addChannel("#sre-private", {
      private: true,
      members: [people.carol.id, people.app.id],
    });
    hiddenId = fake.addChannel("#secret", { private: true, members: [people.alice.id] });
  });
  after(() => fake.close());

  test("by name: people with confirmed emails, lower-cased; no bots, no deactivated people", async () => {
    const before = fake.calls().length;
    assert.deepEqual(sorted(await usersInChannel(clientFor(), "#db-oncall")), [
      "alice@example.com",
      "bob@example.com",
      "carol@example.com",
    ]);
    const calls = fake.calls().slice(before);
    const lists = calls.filter((c) => c.method === "conversations.list");
    assert.ok(lists.length >= 2, "the channel is past the first page of conversations.list");
    assert.equal(lists[0]?.args.types, "public_channel,private_channel");
    assert.equal(lists[0]?.args.exclude_archived, "true");
    const members = calls.filter((c) => c.method === "conversations.members");
    assert.equal(members.length, 4, "seven members, two a page");
    assert.ok(members.every((c) => c.args.channel === channelId));
  });

  test("by id (C… and G…): no channel lookup", async () => {
    const lists = () => fake.calls("conversations.list").length;
    const before = lists();
    assert.equal((await usersInChannel(clientFor(), channelId)).length, 3);
    assert.deepEqual(await usersInChannel(clientFor(), privateId), ["carol@example.com"]);
    assert.equal(lists(), before);
  });

  test("a private channel is found by name when the app is in it", async () => {
    assert.deepEqual(await usersInChannel(clientFor(), "#sre-private"), ["carol@example.com"]);
  });

  test("a channel name is resolved once per 10 minutes per client", async () => {
    const clock = new FakeClock(Date.now());
    const client = clientFor();
    const lists = () => fake.calls("conversations.list").length;
    await usersInChannel(client, "#general", { clock });
    const afterFirst = lists();
    await usersInChannel(client, "#general", { clock });
    assert.equal(lists(), afterFirst);
    clock.advance(10 * 60_000 + 1);
    await usersInChannel(client, "#general", { clock });
    assert.ok(lists() > afterFirst);
  });

  test("a channel that does not exist, is archived, or hides from the app: channel not found", async () => {
    for (const [channel, label] of [
      ["#nope", "#nope"],
      ["#archived-db", "#archived-db"],
      ["#secret", "#secret"],
      [hiddenId, hiddenId],
      ["C9999", "C9999"],
    ]) {
      const err = await lookupError(usersInChannel(clientFor(), channel as string));
      assert.equal(err.message, `Slack channel ${label} not found or the app is not in it`);
    }
  });

  test("a refused token and a rate limit are LookupErrors, without the token", async () => {
    const wrong = `xoxb-${randomBytes(8).toString("hex")}`;
    const refused = await lookupError(usersInChannel(clientFor(wrong), channelId));
    assert.match(refused.message, /^Slack refused the bot token \(invalid_auth\)/);
    assert.equal(leaks(refused, wrong), false);

    fake.rateLimit("conversations.members", { retryAfter: 7 });
    const limited = await lookupError(usersInChannel(clientFor(), channelId));
    assert.match(limited.message, /^Slack rate limited .*; try again in 7 s$/);
    assert.equal(leaks(limited, fake.token), false);
  });

  test("the fake refuses what Slack refuses", async () => {
    const client = clientFor();
    const errorOf = async (call: Promise<unknown>) => {
      try {
        await call;
      } catch (err: any) {
        assert.equal(err.code, ErrorCode.PlatformError, String(err));
        return err.data.error;
      }
      assert.fail("accepted");
    };
    assert.equal(await errorOf(client.conversations.members({ channel: "#db-oncall" })), "channel_not_found");
    assert.equal(
      await errorOf(client.conversations.members({ channel: channelId, limit: 0 })),
      "invalid_limit",
    );
    assert.equal(
      await errorOf(client.conversations.list({ types: "public_channel,bogus" })),
      "invalid_types",
    );
    const list = await client.conversations.list({ limit: 1 });
    const cursor = list.response_metadata?.next_cursor;
    assert.ok(cursor);
    assert.equal(
      await errorOf(client.conversations.members({ channel: channelId, cursor })),
      "invalid_cursor",
    );
    // Without private_channel in types, private channels stay out even when the app is in them.
    const all = await client.paginate("conversations.list", { types: "public_channel" });
    const names: string[] = [];
    for await (const page of all) names.push(...((page as any).channels ?? []).map((c: any) => c.name));
    assert.ok(names.includes("archived-db") && !names.includes("sre-private"));
  });
});
