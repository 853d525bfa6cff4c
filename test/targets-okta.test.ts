// okta_group through the real @okta/okta-sdk-nodejs against a fake Okta: the target contract, throttling,
// tokens without permission or refused, unknown groups and people, Link-header pages, aborts, and the
// groups offered for a bound groupId.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { SecretRef } from "../src/config/schema.ts";
import { RetryLaterError } from "../src/errors.ts";
import { type OktaGroupSettings, oktaGroupTarget } from "../src/targets/okta-group.ts";
import { OwnIdentityError, PermanentTargetError, type TargetConnector } from "../src/targets/target.ts";
import { type FakeOkta, startFakeOkta } from "./support/fake-okta.ts";
import { callFor, targetContract } from "./support/target-contract.ts";

const integrationSchema = oktaGroupTarget.integration?.settings;
assert.ok(integrationSchema, "okta_group needs an integration");

const info = { name: "okta", type: "okta_group", label: "Okta group", settings: {} };

/** Puts `value` in a fresh environment variable; returns its reference and a way to remove it. */
function envSecret(value: string): { ref: SecretRef; remove(): void } {
  const name = `JITFLOW_TEST_OKTA_${randomBytes(6).toString("hex").toUpperCase()}`;
  process.env[name] = value;
  return { ref: { env: name }, remove: () => delete process.env[name] };
}

function connectorFor(
  fake: FakeOkta,
  token: SecretRef,
  timeoutMs?: number,
): TargetConnector<OktaGroupSettings> {
  const integration = integrationSchema?.parse({ type: "okta", orgUrl: fake.url, token, timeoutMs });
  assert.ok(integration);
  return oktaGroupTarget.create(info, oktaGroupTarget.settings.parse({ groupId: "00gstatic" }), integration);
}

/** The groups a bound `groupId` can take, as a field with `prefetch: true` offers them. */
async function optionsOf(
  connector: TargetConnector<OktaGroupSettings>,
  query = "",
  signal = AbortSignal.timeout(60_000),
  key = "groupId",
) {
  assert.ok(connector.options, "okta_group lists options");
  return connector.options({ key, settings: {}, query, signal });
}

const byLabel = (a: { label: string }, b: { label: string }) => a.label.localeCompare(b.label);

const isRetried = (err: unknown) =>
  err instanceof Error && !(err instanceof PermanentTargetError) && !(err instanceof RetryLaterError);

targetContract<OktaGroupSettings>("okta_group", async () => {
  const fake = await startFakeOkta();
  const secret = envSecret(fake.token);
  const groupId = fake.addGroup("prod-admins");
  fake.addUser("alice@example.com");
  fake.addUser("Bob.Smith@example.com", "bob.smith@example.com");
  // A standing member: list() must report them, and nobody's deescalate may touch them.
  fake.addUser("carol@example.com");
  fake.addMember(groupId, "carol@example.com");
  const connector = connectorFor(fake, secret.ref);
  return {
    connector,
    settings: { groupId },
    people: [
      { email: "alice@example.com", identity: "alice@example.com", canonical: "alice@example.com" },
      // Okta keeps the login's case; lookups ignore it.
      {
        email: "bob.smith@example.com",
        identity: "bob.smith@example.com",
        canonical: "Bob.Smith@example.com",
      },
    ],
    holders: async () => fake.members(groupId),
    makeUnavailable: () => fake.stop(),
    restore: () => fake.start(),
    unknownSettings: { groupId: "00gNOSUCHGROUP0000000" },
    close: async () => {
      await connector.close?.();
      await fake.close();
      secret.remove();
    },
  };
});

describe("okta_group", () => {
  let fake: FakeOkta;
  let secret: { ref: SecretRef; remove(): void };
  let connector: TargetConnector<OktaGroupSettings>;
  let groupId: string;
  const person = { email: "dave@example.com", identity: "dave@example.com", canonical: "Dave@example.com" };

  before(async () => {
    fake = await startFakeOkta();
    secret = envSecret(fake.token);
    connector = connectorFor(fake, secret.ref, 60_000);
    groupId = fake.addGroup("sandbox-admins");
    fake.addUser("Dave@example.com", "dave@example.com");
  });
  after(async () => {
    await connector.close?.();
    await fake.close();
    secret.remove();
  });

  test("escalate resolves a login short name and returns the login as Okta spells it", async () => {
    const result = await connector.escalate(callFor(person, { groupId }, "dave"));
    assert.equal(result?.identity, "Dave@example.com");
    assert.deepEqual(fake.members(groupId), ["Dave@example.com"]);
    await connector.deescalate(callFor(person, { groupId }, "Dave@example.com"));
    assert.deepEqual(fake.members(groupId), []);
  });

  test("a 429 is RetryLaterError until X-Rate-Limit-Reset, not retried by the SDK, then works", async () => {
    fake.throttle(1, 30);
    const sent = fake.calls.length;
    await assert.rejects(
      () => connector.escalate(callFor(person, { groupId })),
      (err: unknown) => {
        assert.ok(err instanceof RetryLaterError, String(err));
        // The reset is whole seconds and so is the Date it is measured from.
        assert.ok(err.retryAfterMs >= 29_000 && err.retryAfterMs <= 31_000, `waits ${err.retryAfterMs} ms`);
        assert.match(err.message, /rate limit/);
        return true;
      },
    );
    assert.equal(fake.calls.length - sent, 1, "one request, no retry inside the SDK");
    await connector.escalate(callFor(person, { groupId }));
    assert.deepEqual(fake.members(groupId), ["Dave@example.com"]);
    await connector.deescalate(callFor(person, { groupId }, person.canonical));
  });

  test("a 500 is a plain error (retried by the scheduler), then the call works", async () => {
    fake.failNext(1, 500);
    await assert.rejects(() => connector.escalate(callFor(person, { groupId })), isRetried);
    await connector.escalate(callFor(person, { groupId }));
    assert.deepEqual(fake.members(groupId), ["Dave@example.com"]);
    await connector.deescalate(callFor(person, { groupId }, person.canonical));
  });

  test("an unknown group is permanent and named; removing from it is success", async () => {
    const unknown = { groupId: "00gGONE00000000000000" };
    await assert.rejects(
      () => connector.escalate(callFor(person, unknown)),
      (err: unknown) =>
        err instanceof PermanentTargetError &&
        err.message === "okta_group: group 00gGONE00000000000000 does not exist",
    );
    await connector.deescalate(callFor(person, unknown, person.canonical));
  });

  test("someone Okta does not know: escalate fails for good, deescalate is success", async () => {
    const ghost = {
      email: "ghost@example.com",
      identity: "ghost@example.com",
      canonical: "ghost@example.com",
    };
    await assert.rejects(
      () => connector.escalate(callFor(ghost, { groupId })),
      (err: unknown) =>
        err instanceof PermanentTargetError &&
        err.message === "okta_group: Okta has no user ghost@example.com",
    );
    await connector.deescalate(callFor(ghost, { groupId }));
  });

  test("a token whose admin may not change the group (403 E0000006) is permanent; it may still list", async () => {
    const readOnly = envSecret(fake.readOnlyToken);
    const limited = connectorFor(fake, readOnly.ref);
    try {
      for (const action of ["escalate", "deescalate"] as const) {
        await assert.rejects(
          () => limited[action](callFor(person, { groupId })),
          (err: unknown) => err instanceof PermanentTargetError && /E0000006/.test(err.message),
        );
      }
      assert.deepEqual(
        await limited.list?.({
          module: undefined,
          signal: AbortSignal.timeout(60_000),
          settings: { groupId },
        }),
        [],
      );
    } finally {
      await limited.close?.();
      readOnly.remove();
    }
  });

  test("a token Okta refuses (401) is permanent, and the message does not show it", async () => {
    const badToken = `00${randomBytes(21).toString("base64url")}`;
    const bad = envSecret(badToken);
    const refused = connectorFor(fake, bad.ref);
    try {
      await assert.rejects(
        () => refused.escalate(callFor(person, { groupId })),
        (err: unknown) => {
          assert.ok(err instanceof PermanentTargetError, String(err));
          assert.match(err.message, /refused the API token \(E0000011/);
          assert.ok(!err.message.includes(badToken) && !String(err.stack).includes(badToken));
          return true;
        },
      );
      assert.equal(fake.calls.at(-1)?.status, 401);
    } finally {
      await refused.close?.();
      bad.remove();
    }
  });

  test("list follows the Link rel=next pages", async () => {
    const big = fake.addGroup("everyone-on-call");
    const logins = ["p1@example.com", "p2@example.com", "p3@example.com", "p4@example.com", "p5@example.com"];
    for (const login of logins) {
      fake.addUser(login);
      fake.addMember(big, login);
    }
    const sent = fake.calls.length;
    const listed = await connector.list?.({
      module: undefined,
      signal: AbortSignal.timeout(60_000),
      settings: { groupId: big },
    });
    assert.deepEqual([...(listed ?? [])].sort(), logins);
    const pages = fake.calls.slice(sent).filter((c) => c.url.startsWith(`/api/v1/groups/${big}/users`));
    assert.equal(pages.length, 3, "five members, two per page");
    assert.equal(pages.filter((c) => c.url.includes("after=")).length, 2);
  });

  test("the call's signal aborts a request Okta does not answer", { timeout: 20_000 }, async () => {
    fake.hold();
    const controller = new AbortController();
    const pending = connector.escalate({ ...callFor(person, { groupId }), signal: controller.signal });
    await fake.waitForHeld(1);
    controller.abort();
    await assert.rejects(pending, (err: unknown) => isRetried(err) && /aborted/.test((err as Error).message));
    await fake.stop();
    await fake.start();
  });

  test("the user the API token acts as is never added or removed, by any name", async () => {
    fake.addMember(groupId, fake.tokenUser.login);
    for (const name of [
      fake.tokenUser.login,
      "JITFLOW-ADMIN@example.com",
      "jitflow-admin",
      fake.tokenUser.id,
    ]) {
      await assert.rejects(
        connector.escalate(callFor(person, { groupId }, name)),
        (err: unknown) =>
          err instanceof OwnIdentityError &&
          err.message.includes("the Okta user jitflow's API token acts as"),
        name,
      );
      await assert.rejects(connector.deescalate(callFor(person, { groupId }, name)), OwnIdentityError);
    }
    assert.deepEqual(fake.members(groupId), [fake.tokenUser.login], "its membership stays");
  });

  test("settings and integration are checked", () => {
    assert.equal(oktaGroupTarget.settings.safeParse({}).success, false);
    assert.equal(oktaGroupTarget.settings.safeParse({ groupId: "../users" }).success, false);
    assert.equal(oktaGroupTarget.settings.safeParse({ groupId: "00g1", extra: 1 }).success, false);
    const ok = { type: "okta", orgUrl: "https://example.okta.com", token: { env: "OKTA_TOKEN" } };
    assert.equal(integrationSchema.safeParse(ok).data?.timeoutMs, 10_000);
    assert.equal(integrationSchema.safeParse({ ...ok, token: "00inline" }).success, false);
    assert.equal(integrationSchema.safeParse({ ...ok, orgUrl: "example.okta.com" }).success, false);
  });
});

describe("okta_group options", () => {
  let fake: FakeOkta;
  let secret: { ref: SecretRef; remove(): void };
  let connector: TargetConnector<OktaGroupSettings>;
  const ids: Record<string, string> = {};

  before(async () => {
    fake = await startFakeOkta();
    secret = envSecret(fake.token);
    connector = connectorFor(fake, secret.ref, 60_000);
    for (const name of ["prod-admins", "Prod-Readers", "sandbox-admins"]) ids[name] = fake.addGroup(name);
    // Imported from a directory: Okta's API cannot change its membership, so it is not offered.
    fake.addGroup("Domain Admins", "APP_GROUP");
  });
  after(async () => {
    await connector.close?.();
    await fake.close();
    secret.remove();
  });

  test("options lists the groups whose membership the API can change, following the pages", async () => {
    const sent = fake.calls.length;
    assert.deepEqual((await optionsOf(connector)).sort(byLabel), [
      { value: ids["prod-admins"], label: "prod-admins" },
      { value: ids["Prod-Readers"], label: "Prod-Readers" },
      { value: ids["sandbox-admins"], label: "sandbox-admins" },
    ]);
    const pages = fake.calls.slice(sent).map((c) => c.url);
    assert.equal(pages.length, 3, "five groups with Everyone, two per page");
    assert.ok(pages.every((u) => u.startsWith("/api/v1/groups?") && !u.includes("q=")));
    assert.equal(pages.filter((u) => u.includes("after=")).length, 2);
  });

  test("a query is passed to Okta as q, trimmed, and answered in one page", async () => {
    const sent = fake.calls.length;
    assert.deepEqual((await optionsOf(connector, " prod ")).sort(byLabel), [
      { value: ids["prod-admins"], label: "prod-admins" },
      { value: ids["Prod-Readers"], label: "Prod-Readers" },
    ]);
    const urls = fake.calls.slice(sent).map((c) => new URL(c.url, fake.url));
    assert.equal(urls.length, 1);
    assert.equal(urls[0]?.pathname, "/api/v1/groups");
    assert.equal(urls[0]?.searchParams.get("q"), "prod");
  });

  test("a bound group is offered when its membership can be changed, and refused when it carries admin roles", async () => {
    const ask = (value: string) => ({
      key: "groupId",
      value,
      settings: { groupId: value },
      signal: AbortSignal.timeout(60_000),
    });
    const imported = fake.addGroup("Imported", "APP_GROUP");
    const admins = fake.addGroup("okta-admins");
    fake.assignRole(admins, "SUPER_ADMIN");
    fake.assignRole(admins, "ORG_ADMIN");
    assert.equal(await connector.offers?.(ask(ids["prod-admins"] as string)), true);
    assert.equal(await connector.offers?.(ask(imported)), false, "imported from a directory");
    assert.equal(await connector.offers?.(ask("00gNOSUCHGROUP0000000")), false);
    assert.equal(await connector.offers?.({ ...ask(admins), key: "other" }), false);
    assert.equal(await connector.refuses?.(ask(ids["prod-admins"] as string)), undefined);
    assert.equal(
      await connector.refuses?.(ask(admins)),
      "the group carries Okta admin roles (SUPER_ADMIN, ORG_ADMIN): its members administer Okta",
    );
  });

  test("another key offers nothing, and Okta is not called", async () => {
    const sent = fake.calls.length;
    assert.deepEqual(await optionsOf(connector, "", undefined, "userId"), []);
    assert.equal(fake.calls.length, sent);
  });

  test("a 429 is RetryLaterError, a 500 is retried, a refused token is permanent", async () => {
    fake.throttle(1, 30);
    await assert.rejects(
      () => optionsOf(connector),
      (err: unknown) => err instanceof RetryLaterError && /listing the groups/.test(err.message),
    );
    fake.failNext(1, 500);
    await assert.rejects(() => optionsOf(connector, "prod"), isRetried);
    const bad = envSecret(`00${randomBytes(21).toString("base64url")}`);
    const refused = connectorFor(fake, bad.ref);
    try {
      await assert.rejects(
        () => optionsOf(refused),
        (err: unknown) => err instanceof PermanentTargetError && /refused the API token/.test(err.message),
      );
    } finally {
      await refused.close?.();
      bad.remove();
    }
  });

  test("options stops paging once it has 500 groups", async () => {
    const large = await startFakeOkta({ pageSize: 200 });
    const token = envSecret(large.token);
    const many = connectorFor(large, token.ref);
    try {
      for (let i = 0; i < 850; i++) large.addGroup(`team-${i}`);
      const listed = await optionsOf(many);
      assert.equal(listed.length, 500);
      assert.equal(new Set(listed.map((o) => o.value)).size, 500);
      assert.equal(large.calls.length, 3, "three pages of 200, not five");
      assert.ok(large.calls.every((c) => new URL(c.url, large.url).searchParams.get("limit") === "200"));
    } finally {
      await many.close?.();
      await large.close();
      token.remove();
    }
  });

  test("the call's signal aborts a request Okta does not answer", { timeout: 20_000 }, async () => {
    fake.hold();
    const controller = new AbortController();
    const pending = optionsOf(connector, "", controller.signal);
    await fake.waitForHeld(1);
    controller.abort();
    await assert.rejects(pending, (err: unknown) => isRetried(err) && /aborted/.test((err as Error).message));
    await fake.stop();
    await fake.start();
  });
});
