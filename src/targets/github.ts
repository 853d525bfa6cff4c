// The `github_repo` and `github_team` targets: a repository collaborator and a team membership, through the
// GitHub REST API (@octokit/rest) on github.com or GitHub Enterprise Server, sharing one `github` integration.

import type { Octokit } from "@octokit/rest";
import { z } from "zod";
import { secretRef } from "../config/schema.ts";
import { readSecret } from "../config/secrets.ts";
import { RetryLaterError } from "../errors.ts";
import { parseRetryAfter } from "../lib/signed-post.ts";
import { type BoundValueCall, type ConnectorType, OwnIdentityError, PermanentTargetError } from "./target.ts";

const integration = z.strictObject({
  type: z.literal("github"),
  /** A fine-grained or classic personal access token. It is never renewed, so an App installation token (one hour) does not fit. */
  token: secretRef,
  /** The REST API's URL: https://api.github.com, or https://HOST/api/v3 on GitHub Enterprise Server. */
  baseUrl: z
    .url({
      protocol: /^https?$/,
      error: "baseUrl must be the API's URL, such as https://github.example.com/api/v3",
    })
    .default("https://api.github.com"),
  /** Time limit of one call, all its requests included. */
  timeoutMs: z.int().min(100).max(120_000).default(10_000),
});

export type GitHubIntegration = z.output<typeof integration>;

const name = (what: string, pattern: RegExp, example: string) =>
  z
    .string({ error: `${what} is required, such as ${example}` })
    .regex(pattern, `${what} must be a GitHub name, such as ${example}`);

/** Logins are the emails' local parts (alice@example.com is alice on GitHub): only when that is true. */
const loginFromEmail = z.boolean({ error: "loginFromEmail must be true or false" }).default(false);

const repoSettings = z.strictObject({
  /** The user or organization that owns the repository. */
  owner: name("owner", /^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/, '"acme"'),
  /** The repository's name. */
  repo: name("repo", /^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/, '"api"'),
  /** The access granted: GitHub's repository roles (pull = Read, push = Write). */
  permission: z
    .enum(["pull", "triage", "push", "maintain", "admin"], {
      error: 'permission must be "pull", "triage", "push", "maintain" or "admin"',
    })
    .default("push"),
  loginFromEmail,
});

const teamSettings = z.strictObject({
  /** The organization the team belongs to. */
  org: name("org", /^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/, '"acme"'),
  /** The team's slug, as in its URL (github.com/orgs/ORG/teams/SLUG). */
  teamSlug: name("teamSlug", /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/, '"oncall"'),
  /** The role in the team. */
  role: z
    .enum(["member", "maintainer"], { error: 'role must be "member" or "maintainer"' })
    .default("member"),
  loginFromEmail,
});

export type GitHubRepoSettings = z.output<typeof repoSettings>;
export type GitHubTeamSettings = z.output<typeof teamSettings>;

/** A repository role in the words repository invitations use for it. */
const invitationWord = {
  pull: "read",
  triage: "triage",
  push: "write",
  maintain: "maintain",
  admin: "admin",
} as const;

type OctokitModule = typeof import("@octokit/rest");
let octokitModule: Promise<OctokitModule> | undefined;

const noop = () => {};
/** Octokit would print every failed request (an expected 404 too); the scheduler logs what fails, once. */
const quiet = { debug: noop, info: noop, warn: noop, error: noop };

/**
 * The Octokit for the token in the environment now (a rotated token gets a new one), and per-call request
 * options. Plain @octokit/rest has no retry or throttling plugin: every retry is the scheduler's.
 */
function githubClient(type: string, github: GitHubIntegration) {
  let current: { token: string; octokit: Octokit; self?: Promise<string> } | undefined;
  return {
    async open(signal: AbortSignal) {
      const token = readSecret(github.token);
      if (current?.token !== token) {
        octokitModule ??= import("@octokit/rest");
        const { Octokit } = await octokitModule;
        const baseUrl = github.baseUrl.replace(/\/+$/, "");
        current = { token, octokit: new Octokit({ auth: token, baseUrl, userAgent: "jitflow", log: quiet }) };
      }
      const request = { signal: AbortSignal.any([signal, AbortSignal.timeout(github.timeoutMs)]) };
      return { octokit: current.octokit, request };
    },
    /**
     * Refuses the account the token belongs to (GET /user, asked once per token): removing it from a
     * repository or team can take away the token's own access, so jitflow never adds or removes it.
     */
    async notSelf(login: string, signal: AbortSignal): Promise<void> {
      const { octokit, request } = await this.open(signal);
      const entry = current;
      if (!entry) return;
      entry.self ??= octokit.rest.users.getAuthenticated({ request }).then(
        ({ data }) => data.login.toLowerCase(),
        (err: unknown) => {
          throw classify(type, err, "looking up the token's own account");
        },
      );
      entry.self.catch(() => {
        if (current === entry) entry.self = undefined;
      });
      if (login.toLowerCase() === (await entry.self)) {
        throw new OwnIdentityError(type, login, "the GitHub account jitflow's token belongs to");
      }
    },
    close() {
      current = undefined;
    },
  };
}

const loginPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

/** The login an identity names, for escalate: an email cannot be one, and the message says how to map it. */
function loginOf(type: string, identity: string): string {
  if (identity.includes("@")) {
    throw new PermanentTargetError(
      `${type}: no GitHub login known for ${identity}: add it to identities (the target's or its integration's: { "${identity}": "their-login" }) or export getIdentity() from the flow; or set loginFromEmail: true if every login is the email's local part`,
    );
  }
  if (!loginPattern.test(identity))
    throw new PermanentTargetError(`${type}: "${identity}" is not a GitHub login`);
  return identity;
}

/** For deescalate: an identity that cannot be a login was never granted (escalate refuses it). */
const asLogin = (identity: string): string | undefined =>
  loginPattern.test(identity) ? identity : undefined;

function identityFor(email: string, settings: { loginFromEmail: boolean }): string {
  return settings.loginFromEmail ? email.slice(0, email.lastIndexOf("@")) : email;
}

/** What Octokit's RequestError carries; `response` is missing when GitHub never answered. */
interface GitHubFailure {
  status?: number;
  message?: string;
  response?: {
    headers: Record<string, string | number | undefined>;
    data?: { message?: unknown; errors?: { message?: unknown }[] } | string;
  };
}

/** The HTTP status GitHub answered (not Octokit's 500 for a network failure or an abort). */
const answered = (err: unknown): number | undefined =>
  (err as GitHubFailure | null)?.response ? (err as GitHubFailure).status : undefined;

/** Milliseconds until an epoch-seconds reset, measured against the server's Date when it sent one. */
function untilReset(reset: string | undefined, date: string | undefined): number | undefined {
  if (!reset || !/^\d+$/.test(reset)) return undefined;
  const now = date ? Date.parse(date) : Number.NaN;
  const ms = Number(reset) * 1000 - (Number.isNaN(now) ? Date.now() : now);
  return Math.min(Math.max(ms, 1000), 86_400_000);
}

/** GitHub's advice on rate limits: retry-after, else the primary limit's reset, else a minute. */
function rateLimitWait(status: number, headers: Record<string, string | undefined>, said: string) {
  const retryAfter = parseRetryAfter(headers["retry-after"] ?? null, Date.now());
  if (retryAfter !== undefined) return retryAfter;
  if (headers["x-ratelimit-remaining"] === "0") {
    return untilReset(headers["x-ratelimit-reset"], headers.date) ?? 60_000;
  }
  return status === 429 || /rate limit/i.test(said) ? 60_000 : undefined;
}

/** Turns what Octokit threw into a permanent, retry-later or (retried) plain error, without secrets. */
function classify(type: string, err: unknown, doing: string, notFound?: string): Error {
  if (err instanceof PermanentTargetError || err instanceof RetryLaterError) return err;
  const options = { cause: err };
  const { status, response, message } = (err ?? {}) as GitHubFailure;
  if (status === undefined || !response) {
    return new Error(`${type}: ${doing} failed: ${message ?? String(err)}`, options);
  }
  const data = typeof response.data === "object" ? response.data : undefined;
  const details = (data?.errors ?? []).map((e) => e.message).filter((m) => typeof m === "string");
  const said = [data?.message, ...details].filter((m) => typeof m === "string" && m).join("; ");
  const saying = said ? ` (${said})` : "";
  const headers = Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k, v?.toString()]));
  if (status === 403 || status === 429) {
    const wait = rateLimitWait(status, headers, said);
    if (wait !== undefined) {
      return new RetryLaterError(`${type}: GitHub rate limit reached while ${doing}${saying}`, wait, options);
    }
  }
  if (status === 401) return new PermanentTargetError(`${type}: GitHub refused the token${saying}`, options);
  if (status === 403) {
    const needs = headers["x-accepted-github-permissions"];
    return new PermanentTargetError(
      `${type}: the token may not do this: ${doing}${saying}${needs ? `; it needs ${needs}` : ""}`,
      options,
    );
  }
  if (status === 404 && notFound) return new PermanentTargetError(`${type}: ${notFound}`, options);
  if (status >= 400 && status < 500 && status !== 409) {
    return new PermanentTargetError(`${type}: GitHub answered ${status} while ${doing}${saying}`, options);
  }
  return new Error(`${type}: GitHub answered ${status} while ${doing}${saying}`, options);
}

const unique = (logins: string[]) => [...new Set(logins.map((l) => l.toLowerCase()))];

type RequestOptions = { signal: AbortSignal };

/**
 * Every item of a list endpoint, or its first `max`: the first page, then each Link rel="next". Not
 * octokit.paginate(), which drops the `request` options (the abort signal) and answers a 409 with an empty list.
 */
async function everyPage<T>(
  octokit: Octokit,
  first: { data: T[]; headers: { link?: string } },
  request: RequestOptions,
  max = Number.POSITIVE_INFINITY,
): Promise<T[]> {
  const items = [...first.data];
  let next = /<([^<>]+)>;\s*rel="next"/.exec(first.headers.link ?? "")?.[1];
  while (next && items.length < max) {
    const page = await octokit.request({ method: "GET", url: next, request });
    items.push(...(page.data as T[]));
    next = /<([^<>]+)>;\s*rel="next"/.exec(page.headers.link ?? "")?.[1];
  }
  return items.slice(0, max);
}

/**
 * The most values options() reads: five pages of 100, since a picker may ask on every keystroke. jitflow
 * filters them by what was typed (GitHub's list endpoints cannot) and keeps the first 100.
 */
const optionsCap = 500;

export const githubRepoTarget: ConnectorType<GitHubRepoSettings, GitHubIntegration> = {
  type: "github_repo",
  settings: repoSettings,
  bindable: { repo: (fixed) => fixed.owner !== undefined, owner: () => false, permission: () => false },
  integration: { type: "github", settings: integration },
  create(_info, _settings, github) {
    const type = "github_repo";
    const client = githubClient(type, github);
    const missingRepo = (where: string) => `repository ${where} does not exist (or the token cannot see it)`;

    async function invitations(octokit: Octokit, owner: string, repo: string, request: RequestOptions) {
      const first = await octokit.rest.repos.listInvitations({ owner, repo, per_page: 100, request });
      return everyPage(octokit, first, request);
    }
    const invites = (login: string) => (i: { invitee: { login: string } | null }) =>
      i.invitee?.login.toLowerCase() === login.toLowerCase();

    return {
      identityFor,
      canonical: (identity) => identity.toLowerCase(),

      async escalate({ identity, settings: { owner, repo, permission }, signal }) {
        const login = loginOf(type, identity);
        await client.notSelf(login, signal);
        const where = `${owner}/${repo}`;
        const { octokit, request } = await client.open(signal);
        let pending: Awaited<ReturnType<typeof invitations>>;
        try {
          pending = await invitations(octokit, owner, repo, request);
        } catch (err) {
          throw classify(type, err, `reading the invitations of ${where}`, missingRepo(where));
        }
        const invited = pending.find(invites(login));
        try {
          if (invited) {
            // Adding again would invite again: keep the pending invitation, with the permission asked for.
            if (invited.permissions !== invitationWord[permission]) {
              await octokit.rest.repos.updateInvitation({
                owner,
                repo,
                invitation_id: invited.id,
                permissions: invitationWord[permission],
                request,
              });
            }
          } else {
            // 204: a collaborator now, or already (the permission is set either way). 201: an outsider
            // was invited, and holds the access once they accept; until then list() reports the invitation.
            await octokit.rest.repos.addCollaborator({ owner, repo, username: login, permission, request });
          }
        } catch (err) {
          throw classify(type, err, `adding ${login} to ${where}`, `GitHub has no user ${login}`);
        }
        return { identity: login.toLowerCase() };
      },

      async deescalate({ identity, settings: { owner, repo }, signal }) {
        const login = asLogin(identity);
        if (!login) return;
        await client.notSelf(login, signal);
        const where = `${owner}/${repo}`;
        const { octokit, request } = await client.open(signal);
        try {
          await octokit.rest.repos.removeCollaborator({ owner, repo, username: login, request });
        } catch (err) {
          if (answered(err) !== 404) throw classify(type, err, `removing ${login} from ${where}`);
        }
        let pending: Awaited<ReturnType<typeof invitations>>;
        try {
          pending = await invitations(octokit, owner, repo, request);
        } catch (err) {
          if (answered(err) === 404) return; // the repository is gone, and its invitations with it
          throw classify(type, err, `reading the invitations of ${where}`);
        }
        for (const invitation of pending.filter(invites(login))) {
          try {
            await octokit.rest.repos.deleteInvitation({ owner, repo, invitation_id: invitation.id, request });
          } catch (err) {
            if (answered(err) !== 404)
              throw classify(type, err, `cancelling the invitation of ${login} to ${where}`);
          }
        }
      },

      async list({ settings: { owner, repo }, signal }) {
        const where = `${owner}/${repo}`;
        const { octokit, request } = await client.open(signal);
        try {
          const direct = await everyPage(
            octokit,
            await octokit.rest.repos.listCollaborators({
              owner,
              repo,
              affiliation: "direct",
              per_page: 100,
              request,
            }),
            request,
          );
          const pending = await invitations(octokit, owner, repo, request);
          return unique([
            ...direct.map((c) => c.login),
            ...pending.flatMap((i) => (i.invitee ? [i.invitee.login] : [])),
          ]);
        } catch (err) {
          throw classify(type, err, `listing the collaborators of ${where}`, missingRepo(where));
        }
      },

      /** A bound `repo`: one of the owner's repositories the token can see, as options() lists. */
      async offers({ key, value, settings: { owner }, signal }: BoundValueCall<GitHubRepoSettings>) {
        if (key !== "repo") return false;
        const { octokit, request } = await client.open(signal);
        try {
          const { data } = await octokit.rest.repos.get({ owner, repo: value, request });
          return data.name.toLowerCase() === value.toLowerCase();
        } catch (err) {
          if (answered(err) === 404) return false;
          throw classify(type, err, `looking up the repository ${owner}/${value}`);
        }
      },

      /** For a bound `repo`: the owner's repositories, by name. A bound `owner` has none to offer. */
      async options({ key, settings: { owner }, signal }) {
        if (key !== "repo" || !owner) return [];
        const { octokit, request } = await client.open(signal);
        const doing = `listing the repositories of ${owner}`;
        const query = { per_page: 100, sort: "full_name", request } as const;
        let repos: { name: string; full_name: string }[];
        try {
          repos = await everyPage(
            octokit,
            await octokit.rest.repos.listForOrg({ org: owner, ...query }),
            request,
            optionsCap,
          );
        } catch (err) {
          if (answered(err) !== 404) throw classify(type, err, doing);
          // No organization of that name: a user account, whose public repositories GitHub lists to anyone.
          try {
            repos = await everyPage(
              octokit,
              await octokit.rest.repos.listForUser({ username: owner, ...query }),
              request,
              optionsCap,
            );
          } catch (userErr) {
            throw classify(type, userErr, doing, `GitHub has no user or organization ${owner}`);
          }
        }
        return repos.map((r) => ({ value: r.name, label: r.full_name }));
      },

      async close() {
        client.close();
      },
    };
  },
};

export const githubTeamTarget: ConnectorType<GitHubTeamSettings, GitHubIntegration> = {
  type: "github_team",
  settings: teamSettings,
  bindable: { teamSlug: (fixed) => fixed.org !== undefined, org: () => false, role: () => false },
  integration: { type: "github", settings: integration },
  create(_info, _settings, github) {
    const type = "github_team";
    const client = githubClient(type, github);

    return {
      identityFor,
      canonical: (identity) => identity.toLowerCase(),

      async escalate({ identity, settings: { org, teamSlug, role }, signal }) {
        const login = loginOf(type, identity);
        await client.notSelf(login, signal);
        const { octokit, request } = await client.open(signal);
        try {
          // Idempotent: an existing membership keeps its state and gets the role. Someone outside the
          // organization is invited to it ("pending"); list() reports the invitation meanwhile.
          await octokit.rest.teams.addOrUpdateMembershipForUserInOrg({
            org,
            team_slug: teamSlug,
            username: login,
            role,
            request,
          });
        } catch (err) {
          throw classify(
            type,
            err,
            `adding ${login} to the team ${org}/${teamSlug}`,
            `team ${org}/${teamSlug} or user ${login} does not exist (or the token cannot see it)`,
          );
        }
        return { identity: login.toLowerCase() };
      },

      async deescalate({ identity, settings: { org, teamSlug }, signal }) {
        const login = asLogin(identity);
        if (!login) return;
        await client.notSelf(login, signal);
        const { octokit, request } = await client.open(signal);
        try {
          await octokit.rest.teams.removeMembershipForUserInOrg({
            org,
            team_slug: teamSlug,
            username: login,
            request,
          });
        } catch (err) {
          // 404: not a member (any more), or the team or the user is gone.
          if (answered(err) !== 404)
            throw classify(type, err, `removing ${login} from the team ${org}/${teamSlug}`);
        }
      },

      async list({ settings: { org, teamSlug }, signal }) {
        const { octokit, request } = await client.open(signal);
        const where = `${org}/${teamSlug}`;
        try {
          const team = { org, team_slug: teamSlug, per_page: 100, request };
          const members = await everyPage(
            octokit,
            await octokit.rest.teams.listMembersInOrg({ ...team, role: "all" }),
            request,
          );
          const pending = await everyPage(
            octokit,
            await octokit.rest.teams.listPendingInvitationsInOrg(team),
            request,
          );
          return unique([
            ...members.map((m) => m.login),
            ...pending.flatMap((i) => (i.login ? [i.login] : [])),
          ]);
        } catch (err) {
          throw classify(
            type,
            err,
            `listing the members of the team ${where}`,
            `team ${where} does not exist (or the token cannot see it)`,
          );
        }
      },

      /** A bound `teamSlug`: one of the organization's teams the token can see, as options() lists. */
      async offers({ key, value, settings: { org }, signal }: BoundValueCall<GitHubTeamSettings>) {
        if (key !== "teamSlug") return false;
        const { octokit, request } = await client.open(signal);
        try {
          const { data } = await octokit.rest.teams.getByName({ org, team_slug: value, request });
          return data.slug.toLowerCase() === value.toLowerCase();
        } catch (err) {
          if (answered(err) === 404) return false;
          throw classify(type, err, `looking up the team ${org}/${value}`);
        }
      },

      /** For a bound `teamSlug`: the teams of the organization the token can see. */
      async options({ key, settings: { org }, signal }) {
        if (key !== "teamSlug" || !org) return [];
        const { octokit, request } = await client.open(signal);
        try {
          const teams = await everyPage(
            octokit,
            await octokit.rest.teams.list({ org, per_page: 100, request }),
            request,
            optionsCap,
          );
          return teams.map((t) => ({ value: t.slug, label: t.name }));
        } catch (err) {
          throw classify(
            type,
            err,
            `listing the teams of ${org}`,
            `organization ${org} does not exist (or the token cannot see it)`,
          );
        }
      },

      async close() {
        client.close();
      },
    };
  },
};
