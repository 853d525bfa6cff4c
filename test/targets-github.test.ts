// github_repo and github_team through the real @octokit/rest against a fake GitHub: the target contract,
// invitations, rate limits, tokens without permission or refused, unknown repos/teams/users, pages, aborts,
// and the options of bound settings (an owner's repositories, an organization's teams).

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { SecretRef } from "../src/config/schema.ts";
import { RetryLaterError } from "../src/errors.ts";
import {
  type GitHubIntegration,
  type GitHubRepoSettings,
  type GitHubTeamSettings,
  githubRepoTarget,
  githubTeamTarget,
} from "../src/targets/github.ts";
import {
  type ConnectorType,
  OwnIdentityError,
  PermanentTargetError,
  type TargetConnector,
} from "../src/targets/target.ts";
import { type FakeGitHub, startFakeGitHub } from "./support/fake-github.ts";
import { callFor, targetContract } from "./support/target-contract.ts";

/** Puts `value` in a fresh environment variable; returns its reference and a way to remove it. */
function envSecret(value: string): { ref: SecretRef; remove(): void } {
  const name = `JITFLOW_TEST_GITHUB_${randomBytes(6).toString("hex").toUpperCase()}`;
  process.env[name] = value;
  return { ref: { env: name }, remove: () => delete process.env[name] };
}

function connectorFor<S>(
  type: ConnectorType<S, GitHubIntegration>,
  fake: FakeGitHub,
  token: SecretRef,
  settings: Record<string, unknown>,
  timeoutMs?: number,
): TargetConnector<S> {
  const integration = type.integration?.settings.parse({
    type: "github",
    token,
    baseUrl: fake.url,
    timeoutMs,
  });
  assert.ok(integration);
  return type.create(
    { name: "gh", type: type.type, label: "GitHub", settings: {} },
    type.settings.parse(settings),
    integration,
  );
}

const repoSettings = (repo: string, extra: Partial<GitHubRepoSettings> = {}) =>
  githubRepoTarget.settings.parse({ owner: "acme", repo, ...extra });
const teamSettings = (teamSlug: string, extra: Partial<GitHubTeamSettings> = {}) =>
  githubTeamTarget.settings.parse({ org: "acme", teamSlug, ...extra });

const listOf = <S>(connector: TargetConnector<S>, settings: S) =>
  connector.list?.({ module: undefined, signal: AbortSignal.timeout(60_000), settings }) ??
  Promise.resolve([]);

/** The values a bound setting can take, as a field with `prefetch: true` offers them. */
async function optionsOf<S>(
  connector: TargetConnector<S>,
  key: string,
  settings: Partial<S>,
  signal = AbortSignal.timeout(60_000),
) {
  assert.ok(connector.options, "the connector lists options");
  return connector.options({ key, settings, query: "", signal });
}

const isRetried = (err: unknown) =>
  err instanceof Error && !(err instanceof PermanentTargetError) && !(err instanceof RetryLaterError);

const repoHolders = (fake: FakeGitHub, repo: string) => [
  ...new Set(
    [...fake.collaborators("acme", repo), ...fake.invitations("acme", repo)].map((h) =>
      h.login.toLowerCase(),
    ),
  ),
];

const people = [
  { email: "alice@example.com", identity: "alice-gh", canonical: "alice-gh" },
  // A mapping may spell the login in any case; GitHub ignores it, and the canonical form is lower case.
  { email: "bob@example.com", identity: "Bob-GH", canonical: "bob-gh" },
];

targetContract<GitHubRepoSettings>("github_repo", async () => {
  const fake = await startFakeGitHub();
  const secret = envSecret(fake.token);
  fake.addOrg("acme", ["alice-gh", "Bob-GH", "carol-gh"]);
  fake.addRepo("acme", "api");
  // Standing access the contract must see in list(): a collaborator and a pending invitation.
  fake.addCollaborator("acme", "api", "carol-gh", "admin");
  fake.addUser("Dan-Outside");
  const connector = connectorFor(githubRepoTarget, fake, secret.ref, { owner: "acme", repo: "api" });
  await connector.escalate(
    callFor({ ...people[0], identity: "Dan-Outside" } as (typeof people)[0], repoSettings("api")),
  );
  return {
    connector,
    settings: repoSettings("api"),
    people,
    holders: async () => repoHolders(fake, "api"),
    makeUnavailable: () => fake.stop(),
    restore: () => fake.start(),
    unknownSettings: repoSettings("no-such-repo"),
    close: async () => {
      await connector.close?.();
      await fake.close();
      secret.remove();
    },
  };
});

targetContract<GitHubTeamSettings>("github_team", async () => {
  const fake = await startFakeGitHub();
  const secret = envSecret(fake.token);
  fake.addOrg("acme", ["alice-gh", "Bob-GH", "carol-gh"]);
  fake.addTeam("acme", "oncall");
  const connector = connectorFor(githubTeamTarget, fake, secret.ref, { org: "acme", teamSlug: "oncall" });
  await connector.escalate(
    callFor({ ...people[0], identity: "carol-gh" } as (typeof people)[0], teamSettings("oncall")),
  );
  return {
    connector,
    settings: teamSettings("oncall"),
    people,
    holders: async () => fake.teamMemberships("acme", "oncall").map((m) => m.login.toLowerCase()),
    makeUnavailable: () => fake.stop(),
    restore: () => fake.start(),
    unknownSettings: teamSettings("no-such-team"),
    close: async () => {
      await connector.close?.();
      await fake.close();
      secret.remove();
    },
  };
});

describe("github_repo", () => {
  let fake: FakeGitHub;
  let secret: { ref: SecretRef; remove(): void };
  let connector: TargetConnector<GitHubRepoSettings>;
  const alice = people[0] as (typeof people)[0];

  before(async () => {
    fake = await startFakeGitHub();
    secret = envSecret(fake.token);
    fake.addOrg("acme", ["alice-gh"]);
    fake.addRepo("acme", "web");
    fake.addUser("Olga-Outside");
    connector = connectorFor(githubRepoTarget, fake, secret.ref, { owner: "acme", repo: "web" }, 60_000);
  });
  after(async () => {
    await connector.close?.();
    await fake.close();
    secret.remove();
  });

  test("an email is no login: escalate says how to map it; deescalate has nothing to do", async () => {
    assert.equal(connector.identityFor?.("alice@example.com", repoSettings("web")), "alice@example.com");
    const sent = fake.calls.length;
    await assert.rejects(
      () => connector.escalate(callFor(alice, repoSettings("web"), "alice@example.com")),
      (err: unknown) =>
        err instanceof PermanentTargetError &&
        err.message.startsWith(
          "github_repo: no GitHub login known for alice@example.com: add it to identities",
        ) &&
        err.message.includes("getIdentity()"),
    );
    await connector.deescalate(callFor(alice, repoSettings("web"), "alice@example.com"));
    assert.equal(fake.calls.length, sent, "GitHub was not called");
  });

  test("the account jitflow's token belongs to is never added or removed, in any case", async () => {
    fake.addRepo("acme", "own");
    fake.addCollaborator("acme", "own", "octo-admin", "admin");
    for (const login of ["octo-admin", "Octo-Admin"]) {
      await assert.rejects(
        () => connector.escalate(callFor(alice, repoSettings("own", { permission: "pull" }), login)),
        (err: unknown) =>
          err instanceof OwnIdentityError &&
          err.message.includes("the GitHub account jitflow's token belongs to"),
      );
      await assert.rejects(
        () => connector.deescalate(callFor(alice, repoSettings("own"), login)),
        OwnIdentityError,
      );
    }
    assert.deepEqual(
      fake.collaborators("acme", "own"),
      [{ login: "octo-admin", permission: "admin" }],
      "its own access stays as it was",
    );
  });

  test("a bound repository is offered when it is the owner's and the token can see it", async () => {
    const offers = (value: string, key = "repo") =>
      connector.offers?.({ key, value, settings: repoSettings(value), signal: AbortSignal.timeout(60_000) });
    assert.equal(await offers("web"), true);
    assert.equal(await offers("WEB"), true);
    assert.equal(await offers("nope"), false);
    assert.equal(
      await offers("acme", "owner"),
      false,
      "an owner is never offered: only a grantable list names it",
    );
  });

  test("loginFromEmail: true makes the email's local part the login", async () => {
    const settings = repoSettings("web", { loginFromEmail: true });
    const login = connector.identityFor?.("alice-gh@example.com", settings);
    assert.equal(login, "alice-gh");
    const result = await connector.escalate(callFor(alice, settings, login));
    assert.equal(result?.identity, "alice-gh");
    assert.deepEqual(fake.collaborators("acme", "web"), [{ login: "alice-gh", permission: "push" }]);
    await connector.deescalate(callFor(alice, settings, "alice-gh"));
    assert.deepEqual(fake.collaborators("acme", "web"), []);
  });

  test("escalate again with another permission changes it (204)", async () => {
    await connector.escalate(callFor(alice, repoSettings("web")));
    await connector.escalate(callFor(alice, repoSettings("web", { permission: "admin" })));
    assert.deepEqual(fake.collaborators("acme", "web"), [{ login: "alice-gh", permission: "admin" }]);
    await connector.deescalate(callFor(alice, repoSettings("web"), "alice-gh"));
  });

  test("an outsider is invited (201): granted and listed, not invited twice, and the invitation is cancelled", async () => {
    const olga = { email: "olga@example.com", identity: "Olga-Outside", canonical: "olga-outside" };
    assert.equal((await connector.escalate(callFor(olga, repoSettings("web"))))?.identity, "olga-outside");
    assert.equal(fake.calls.at(-1)?.status, 201);
    assert.deepEqual(await listOf(connector, repoSettings("web")), ["olga-outside"]);

    const puts = () => fake.calls.filter((c) => c.method === "PUT").length;
    const before = puts();
    await connector.escalate(callFor(olga, repoSettings("web"), "olga-outside"));
    assert.equal(puts(), before, "no second invitation");
    await connector.escalate(callFor(olga, repoSettings("web", { permission: "maintain" })));
    assert.deepEqual(
      fake.invitations("acme", "web").map((i) => [i.login, i.permissions]),
      [["Olga-Outside", "maintain"]],
    );

    await connector.deescalate(callFor(olga, repoSettings("web"), "olga-outside"));
    assert.deepEqual(fake.invitations("acme", "web"), []);
    assert.deepEqual(await listOf(connector, repoSettings("web")), []);
  });

  test("the primary rate limit (403, remaining 0) is RetryLaterError until the reset, then it works", async () => {
    fake.throttle({ times: 1, kind: "primary", seconds: 30 });
    const sent = fake.calls.length;
    await assert.rejects(
      () => connector.escalate(callFor(alice, repoSettings("web"))),
      (err: unknown) => {
        assert.ok(err instanceof RetryLaterError, String(err));
        assert.ok(err.retryAfterMs >= 29_000 && err.retryAfterMs <= 31_000, `waits ${err.retryAfterMs} ms`);
        assert.match(err.message, /^github_repo: GitHub rate limit reached .*API rate limit exceeded/);
        return true;
      },
    );
    assert.equal(fake.calls.length - sent, 1, "Octokit did not retry by itself");
    await connector.escalate(callFor(alice, repoSettings("web")));
    assert.deepEqual(fake.collaborators("acme", "web"), [{ login: "alice-gh", permission: "push" }]);
    await connector.deescalate(callFor(alice, repoSettings("web"), "alice-gh"));
  });

  test("a secondary rate limit waits for retry-after, on a 403 or a 429", async () => {
    for (const status of [403, 429] as const) {
      fake.throttle({ times: 1, kind: "secondary", seconds: 90, status });
      await assert.rejects(
        () => connector.escalate(callFor(alice, repoSettings("web"))),
        (err: unknown) => err instanceof RetryLaterError && err.retryAfterMs === 90_000,
      );
    }
  });

  test("a 500 or 502 is a plain error (retried by the scheduler)", async () => {
    for (const status of [500, 502]) {
      fake.failNext(1, status);
      await assert.rejects(() => connector.escalate(callFor(alice, repoSettings("web"))), isRetried);
    }
    fake.failNext(1, 503);
    await assert.rejects(
      () => connector.deescalate(callFor(alice, repoSettings("web"), "alice-gh")),
      isRetried,
    );
  });

  test("an unknown repository or user is permanent; removing from them is success", async () => {
    await assert.rejects(
      () => connector.escalate(callFor(alice, repoSettings("gone"))),
      (err: unknown) =>
        err instanceof PermanentTargetError &&
        err.message === "github_repo: repository acme/gone does not exist (or the token cannot see it)",
    );
    const ghost = { email: "ghost@example.com", identity: "ghost-gh", canonical: "ghost-gh" };
    await assert.rejects(
      () => connector.escalate(callFor(ghost, repoSettings("web"))),
      (err: unknown) =>
        err instanceof PermanentTargetError && err.message === "github_repo: GitHub has no user ghost-gh",
    );
    await connector.deescalate(callFor(ghost, repoSettings("web")));
    await connector.deescalate(callFor(alice, repoSettings("gone"), "alice-gh"));
  });

  test("a token without Administration write (403) is permanent and says what it needs", async () => {
    const readOnly = envSecret(fake.readOnlyToken);
    const limited = connectorFor(githubRepoTarget, fake, readOnly.ref, { owner: "acme", repo: "web" });
    try {
      for (const action of ["escalate", "deescalate"] as const) {
        await assert.rejects(
          () => limited[action](callFor(alice, repoSettings("web"))),
          (err: unknown) =>
            err instanceof PermanentTargetError &&
            /Resource not accessible by personal access token.*needs administration=write/.test(err.message),
        );
      }
    } finally {
      await limited.close?.();
      readOnly.remove();
    }
  });

  test("a token GitHub refuses (401) is permanent, and the message does not show it", async () => {
    const badToken = `github_pat_${randomBytes(30).toString("base64url")}`;
    const bad = envSecret(badToken);
    const refused = connectorFor(githubRepoTarget, fake, bad.ref, { owner: "acme", repo: "web" });
    try {
      await assert.rejects(
        () => refused.escalate(callFor(alice, repoSettings("web"))),
        (err: unknown) => {
          assert.ok(err instanceof PermanentTargetError, String(err));
          assert.equal(err.message, "github_repo: GitHub refused the token (Bad credentials)");
          assert.ok(!String(err.stack).includes(badToken));
          return true;
        },
      );
      assert.equal(fake.calls.at(-1)?.status, 401);
    } finally {
      await refused.close?.();
      bad.remove();
    }
  });

  test("list follows the Link pages of collaborators and of invitations", async () => {
    fake.addRepo("acme", "big");
    const members = ["m1", "m2", "m3", "m4", "m5"];
    for (const m of members) fake.addCollaborator("acme", "big", m, "pull");
    const outsiders = ["o1", "o2", "o3"];
    const big = repoSettings("big");
    for (const o of outsiders) {
      fake.addUser(o);
      await connector.escalate(callFor({ email: `${o}@example.com`, identity: o, canonical: o }, big));
    }
    const sent = fake.calls.length;
    assert.deepEqual((await listOf(connector, big)).sort(), [...members, ...outsiders]);
    const gets = fake.calls.slice(sent).map((c) => c.url);
    assert.equal(gets.filter((u) => u.startsWith("/repos/acme/big/collaborators?")).length, 3);
    assert.ok(gets.some((u) => u.includes("affiliation=direct") && u.includes("page=3")));
    assert.equal(gets.filter((u) => u.startsWith("/repos/acme/big/invitations?")).length, 2);
  });

  test("options lists the repositories of the owner by name, following the pages", async () => {
    fake.addOrg("octo-org");
    for (const repo of ["web", "Zeta", "api", "billing", "cli"]) fake.addRepo("octo-org", repo);
    fake.addRepo("someone-else", "not-listed", { private: false });
    const sent = fake.calls.length;
    assert.deepEqual(await optionsOf(connector, "repo", { owner: "octo-org" }), [
      { value: "api", label: "octo-org/api" },
      { value: "billing", label: "octo-org/billing" },
      { value: "cli", label: "octo-org/cli" },
      { value: "web", label: "octo-org/web" },
      { value: "Zeta", label: "octo-org/Zeta" },
    ]);
    const urls = fake.calls.slice(sent).map((c) => c.url);
    assert.equal(urls.length, 3, "five repositories, two per page");
    assert.ok(urls.every((u) => u.startsWith("/orgs/octo-org/repos?") && u.includes("sort=full_name")));
  });

  test("options lists a user's public repositories when the owner is no organization", async () => {
    fake.addUser("Dana-Dev");
    fake.addRepo("Dana-Dev", "dotfiles", { private: false });
    fake.addRepo("Dana-Dev", "diary");
    const sent = fake.calls.length;
    assert.deepEqual(await optionsOf(connector, "repo", { owner: "Dana-Dev" }), [
      { value: "dotfiles", label: "Dana-Dev/dotfiles" },
    ]);
    assert.deepEqual(
      fake.calls.slice(sent).map((c) => [c.url.split("?")[0], c.status]),
      [
        ["/orgs/Dana-Dev/repos", 404],
        ["/users/Dana-Dev/repos", 200],
      ],
    );
  });

  test("options: an unknown owner is permanent; other keys, or no owner to list, offer nothing", async () => {
    await assert.rejects(
      () => optionsOf(connector, "repo", { owner: "nobody-here" }),
      (err: unknown) =>
        err instanceof PermanentTargetError &&
        err.message === "github_repo: GitHub has no user or organization nobody-here",
    );
    const sent = fake.calls.length;
    assert.deepEqual(await optionsOf(connector, "owner", { repo: "web" }), []);
    assert.deepEqual(await optionsOf(connector, "repo", {}), []);
    assert.deepEqual(await optionsOf(connector, "permission", { owner: "acme", repo: "web" }), []);
    assert.equal(fake.calls.length, sent, "GitHub was not called");
  });

  test("options: a rate limit is RetryLaterError, a 500 is retried", async () => {
    fake.throttle({ times: 1, kind: "secondary", seconds: 20 });
    await assert.rejects(
      () => optionsOf(connector, "repo", { owner: "acme" }),
      (err: unknown) =>
        err instanceof RetryLaterError &&
        err.retryAfterMs === 20_000 &&
        err.message.includes("listing the repositories of acme"),
    );
    fake.failNext(1, 500);
    await assert.rejects(() => optionsOf(connector, "repo", { owner: "acme" }), isRetried);
  });

  test("options stops after 500 repositories", async () => {
    const large = await startFakeGitHub({ pageSize: 100 });
    const token = envSecret(large.token);
    const many = connectorFor(githubRepoTarget, large, token.ref, { owner: "huge", repo: "r" });
    try {
      large.addOrg("huge");
      for (let i = 0; i < 730; i++) large.addRepo("huge", `r${String(i).padStart(3, "0")}`);
      const listed = await optionsOf(many, "repo", { owner: "huge" });
      assert.equal(listed.length, 500);
      assert.deepEqual(listed.at(-1), { value: "r499", label: "huge/r499" });
      assert.equal(large.calls.length, 5, "five pages of 100, not eight");
    } finally {
      await many.close?.();
      await large.close();
      token.remove();
    }
  });

  test("options: the call's signal aborts a stalled request", { timeout: 20_000 }, async () => {
    const silent = await startFakeGitHub();
    const token = envSecret(silent.token);
    const stalled = connectorFor(githubRepoTarget, silent, token.ref, { owner: "acme", repo: "web" }, 60_000);
    try {
      silent.addOrg("acme");
      silent.hold();
      const controller = new AbortController();
      const pending = optionsOf(stalled, "repo", { owner: "acme" }, controller.signal);
      await silent.waitForHeld(1);
      controller.abort();
      await assert.rejects(
        pending,
        (err: unknown) => isRetried(err) && /abort/i.test((err as Error).message),
      );
    } finally {
      await stalled.close?.();
      await silent.close();
      token.remove();
    }
  });

  test("the call's signal aborts a request GitHub does not answer", { timeout: 20_000 }, async () => {
    fake.hold();
    const controller = new AbortController();
    const pending = connector.escalate({ ...callFor(alice, repoSettings("web")), signal: controller.signal });
    await fake.waitForHeld(1);
    controller.abort();
    await assert.rejects(pending, (err: unknown) => isRetried(err) && /abort/i.test((err as Error).message));
    await fake.stop();
    await fake.start();
  });

  test("settings and integration are checked", () => {
    const s = githubRepoTarget.settings;
    assert.deepEqual(s.parse({ owner: "acme", repo: "web" }), {
      owner: "acme",
      repo: "web",
      permission: "push",
      loginFromEmail: false,
    });
    assert.equal(s.safeParse({ owner: "acme", repo: ".." }).success, false);
    assert.equal(s.safeParse({ owner: "acme", repo: "web", permission: "write" }).success, false);
    assert.equal(s.safeParse({ owner: "acme/x", repo: "web" }).success, false);
    const i = githubRepoTarget.integration?.settings;
    assert.equal(i?.parse({ type: "github", token: { env: "GH" } }).baseUrl, "https://api.github.com");
    assert.equal(i?.safeParse({ type: "github", token: "ghp_inline" }).success, false);
    assert.equal(githubTeamTarget.settings.parse({ org: "acme", teamSlug: "oncall" }).role, "member");
    assert.equal(
      githubTeamTarget.settings.safeParse({ org: "acme", teamSlug: "oncall", role: "owner" }).success,
      false,
    );
  });
});

describe("github_team", () => {
  let fake: FakeGitHub;
  let secret: { ref: SecretRef; remove(): void };
  let connector: TargetConnector<GitHubTeamSettings>;
  const alice = people[0] as (typeof people)[0];

  before(async () => {
    fake = await startFakeGitHub();
    secret = envSecret(fake.token);
    fake.addOrg("acme", ["alice-gh"]);
    fake.addTeam("acme", "sre");
    fake.addUser("Olga-Outside");
    connector = connectorFor(githubTeamTarget, fake, secret.ref, { org: "acme", teamSlug: "sre" });
  });
  after(async () => {
    await connector.close?.();
    await fake.close();
    secret.remove();
  });

  test("the role asked for is set, and escalating again changes it", async () => {
    await connector.escalate(callFor(alice, teamSettings("sre", { role: "maintainer" })));
    assert.deepEqual(fake.teamMemberships("acme", "sre"), [
      { login: "alice-gh", role: "maintainer", state: "active" },
    ]);
    await connector.escalate(callFor(alice, teamSettings("sre")));
    assert.deepEqual(fake.teamMemberships("acme", "sre"), [
      { login: "alice-gh", role: "member", state: "active" },
    ]);
    await connector.deescalate(callFor(alice, teamSettings("sre"), "alice-gh"));
    assert.deepEqual(fake.teamMemberships("acme", "sre"), []);
  });

  test("the token's own account is never added or removed; a bound team is offered when the organization has it", async () => {
    await assert.rejects(
      () => connector.escalate(callFor(alice, teamSettings("sre"), "octo-admin")),
      OwnIdentityError,
    );
    await assert.rejects(
      () => connector.deescalate(callFor(alice, teamSettings("sre"), "OCTO-ADMIN")),
      OwnIdentityError,
    );
    assert.deepEqual(fake.teamMemberships("acme", "sre"), []);
    const offers = (value: string, key = "teamSlug") =>
      connector.offers?.({ key, value, settings: teamSettings(value), signal: AbortSignal.timeout(60_000) });
    assert.equal(await offers("sre"), true);
    assert.equal(await offers("nope"), false);
    assert.equal(await offers("member", "role"), false);
  });

  test("someone outside the organization is pending: granted and listed, then removed", async () => {
    const olga = { email: "olga@example.com", identity: "Olga-Outside", canonical: "olga-outside" };
    assert.equal((await connector.escalate(callFor(olga, teamSettings("sre"))))?.identity, "olga-outside");
    assert.equal(fake.teamMemberships("acme", "sre")[0]?.state, "pending");
    assert.deepEqual(await listOf(connector, teamSettings("sre")), ["olga-outside"]);
    await connector.deescalate(callFor(olga, teamSettings("sre"), "olga-outside"));
    assert.deepEqual(await listOf(connector, teamSettings("sre")), []);
  });

  test("an email identity, an unknown team, a read-only token and a refused token are permanent", async () => {
    await assert.rejects(
      () => connector.escalate(callFor(alice, teamSettings("sre"), "alice@example.com")),
      (err: unknown) =>
        err instanceof PermanentTargetError &&
        err.message.startsWith("github_team: no GitHub login known for alice@example.com"),
    );
    await assert.rejects(
      () => connector.escalate(callFor(alice, teamSettings("nope"))),
      (err: unknown) => err instanceof PermanentTargetError && err.message.includes("team acme/nope"),
    );
    await connector.deescalate(callFor(alice, teamSettings("nope"), "alice-gh"));
    for (const [token, pattern] of [
      [fake.readOnlyToken, /needs members=write/],
      ["ghp_not-a-real-token", /refused the token \(Bad credentials\)/],
    ] as const) {
      const other = envSecret(token);
      const limited = connectorFor(githubTeamTarget, fake, other.ref, { org: "acme", teamSlug: "sre" });
      try {
        await assert.rejects(
          () => limited.escalate(callFor(alice, teamSettings("sre"))),
          (err: unknown) =>
            err instanceof PermanentTargetError && pattern.test(err.message) && !err.message.includes(token),
        );
      } finally {
        await limited.close?.();
        other.remove();
      }
    }
  });

  test("a 429 with retry-after is RetryLaterError; list follows the pages of members and invitations", async () => {
    fake.throttle({ times: 1, kind: "secondary", seconds: 5, status: 429 });
    await assert.rejects(
      () => connector.escalate(callFor(alice, teamSettings("sre"))),
      (err: unknown) => err instanceof RetryLaterError && err.retryAfterMs === 5000,
    );
    fake.addTeam("acme", "all");
    const logins = ["t1", "t2", "t3", "t4", "t5", "u1", "u2", "u3"];
    fake.addOrg("acme", ["alice-gh", "t1", "t2", "t3", "t4", "t5"]);
    for (const login of logins) {
      fake.addUser(login);
      await connector.escalate(
        callFor({ email: `${login}@example.com`, identity: login, canonical: login }, teamSettings("all")),
      );
    }
    const sent = fake.calls.length;
    assert.deepEqual((await listOf(connector, teamSettings("all"))).sort(), logins);
    const urls = fake.calls.slice(sent).map((c) => c.url);
    assert.equal(urls.filter((u) => u.startsWith("/orgs/acme/teams/all/members?")).length, 3);
    assert.equal(urls.filter((u) => u.startsWith("/orgs/acme/teams/all/invitations?")).length, 2);
  });

  test("options lists the teams of the organization, slug and name, following the pages", async () => {
    fake.addOrg("octo-org");
    fake.addTeam("octo-org", "platform-eng", "Platform Engineering");
    fake.addTeam("octo-org", "dba", "Databases");
    fake.addTeam("octo-org", "sre", "SRE");
    fake.addOrg("other-org");
    fake.addTeam("other-org", "elsewhere");
    const sent = fake.calls.length;
    const listed = await optionsOf(connector, "teamSlug", { org: "octo-org" });
    assert.deepEqual(
      [...listed].sort((a, b) => a.value.localeCompare(b.value)),
      [
        { value: "dba", label: "Databases" },
        { value: "platform-eng", label: "Platform Engineering" },
        { value: "sre", label: "SRE" },
      ],
    );
    const urls = fake.calls.slice(sent).map((c) => c.url);
    assert.equal(urls.length, 2, "three teams, two per page");
    assert.ok(urls.every((u) => u.startsWith("/orgs/octo-org/teams?")));
  });

  test("options: an unknown organization is permanent; other keys offer nothing", async () => {
    await assert.rejects(
      () => optionsOf(connector, "teamSlug", { org: "no-such-org" }),
      (err: unknown) =>
        err instanceof PermanentTargetError &&
        err.message === "github_team: organization no-such-org does not exist (or the token cannot see it)",
    );
    const sent = fake.calls.length;
    assert.deepEqual(await optionsOf(connector, "org", { teamSlug: "sre" }), []);
    assert.deepEqual(await optionsOf(connector, "teamSlug", {}), []);
    assert.equal(fake.calls.length, sent, "GitHub was not called");
  });
});
