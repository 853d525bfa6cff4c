// A real HTTP server on 127.0.0.1 standing in for the GitHub REST API calls github_repo and github_team make:
// the token's own account, a repository or team, collaborators, repository invitations, team memberships,
// the repositories and teams of an account, Link-header pages, tokens, and rate limits, 500s, stalls and
// outages on demand.

import { randomBytes, randomInt } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type RepoPermission = "pull" | "triage" | "push" | "maintain" | "admin";
export type TeamRole = "member" | "maintainer";

export interface RecordedGitHubCall {
  method: string;
  /** Path and query as received. */
  url: string;
  /** The JSON body sent, if any. */
  body: unknown;
  status: number;
}

export interface FakeGitHubOptions {
  /** The most items one page holds, whatever `per_page` asks (GitHub's is 100). */
  pageSize?: number;
}

export interface ThrottleOptions {
  times: number;
  /** "primary": x-ratelimit-remaining 0 and x-ratelimit-reset; "secondary": retry-after. */
  kind: "primary" | "secondary";
  /** Seconds until the reset (primary) or in retry-after (secondary). */
  seconds: number;
  /** GitHub answers rate limits with 403 or 429. */
  status?: 403 | 429;
}

export interface FakeGitHub {
  /** The API base URL, `http://127.0.0.1:PORT` (what `baseUrl` is set to). */
  readonly url: string;
  /** A token that administers every repository and team. */
  readonly token: string;
  /** A fine-grained token with read access only: changes answer 403 "Resource not accessible…". */
  readonly readOnlyToken: string;
  calls: RecordedGitHubCall[];
  addUser(login: string): void;
  /** An organization and its members (who are added to its repositories directly, without invitation). */
  addOrg(org: string, members?: string[]): void;
  /** A repository, private unless told (GET /users/{user}/repos lists only the public ones). */
  addRepo(owner: string, repo: string, options?: { private?: boolean }): void;
  addCollaborator(owner: string, repo: string, login: string, permission: RepoPermission): void;
  /** A team; its name is the slug unless given (GitHub derives the slug from the name). */
  addTeam(org: string, slug: string, name?: string): void;
  /** Direct collaborators with their permission, logins as GitHub spells them. */
  collaborators(owner: string, repo: string): { login: string; permission: RepoPermission }[];
  /** Pending repository invitations (invitee login as GitHub spells it; permissions in invitation words). */
  invitations(owner: string, repo: string): { id: number; login: string; permissions: string }[];
  teamMemberships(
    org: string,
    slug: string,
  ): { login: string; role: TeamRole; state: "active" | "pending" }[];
  throttle(options: ThrottleOptions): void;
  /** Answer the next `times` authenticated requests with this status. */
  failNext(times: number, status?: number): void;
  /** From now on, take requests and do not answer them (until `stop()`); `held` counts them. */
  hold(): void;
  readonly held: number;
  /** Resolves once `n` requests are held. */
  waitForHeld(n: number): Promise<void>;
  /** Stops listening and drops every connection, like an outage; `start()` listens again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

const docs = "https://docs.github.com/rest";
/** Collaborator permission → the word invitations and `role_name` use for it. */
const roleName: Record<RepoPermission, string> = {
  pull: "read",
  triage: "triage",
  push: "write",
  maintain: "maintain",
  admin: "admin",
};
const permissions = Object.keys(roleName) as RepoPermission[];
const rank = (p: RepoPermission) => permissions.indexOf(p);

/** A request's JSON body: the fields read are checked where they are used. */
type Body = Record<string, unknown> | undefined;

interface Repo {
  id: number;
  owner: string;
  name: string;
  private: boolean;
  collaborators: Map<string, RepoPermission>;
  invitations: Map<number, { invitee: string; permissions: string; createdAt: string }>;
}

interface Team {
  id: number;
  org: string;
  slug: string;
  name: string;
  memberships: Map<string, { role: TeamRole; state: "active" | "pending"; invitationId: number }>;
}

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const pageSize = options.pageSize ?? 2;
  const token = `github_pat_${randomBytes(30).toString("base64url")}`;
  const readOnlyToken = `github_pat_${randomBytes(30).toString("base64url")}`;
  const users = new Map<string, { login: string; id: number }>();
  const orgs = new Map<string, { login: string; id: number; members: Set<string> }>();
  const repos = new Map<string, Repo>();
  const teams = new Map<string, Team>();
  let nextId = randomInt(1000, 9000);
  let throttled: ThrottleOptions = { times: 0, kind: "primary", seconds: 0 };
  let failing = { times: 0, status: 500 };
  let remaining = 5000;
  let holding = false;
  const held: ServerResponse[] = [];
  let heldWaiters: { n: number; resolve: () => void }[] = [];
  let port = 0;
  let origin = "";

  const key = (...parts: string[]) => parts.join("/").toLowerCase();
  const userJson = (lower: string) => {
    const u = users.get(lower) ?? { login: lower, id: 0 };
    return {
      login: u.login,
      id: u.id,
      node_id: `MDQ6VXNlcj${u.id}`,
      avatar_url: `https://avatars.githubusercontent.com/u/${u.id}?v=4`,
      url: `${origin}/users/${u.login}`,
      html_url: `https://github.com/${u.login}`,
      type: "User",
      site_admin: false,
    };
  };
  const invitationJson = (repo: Repo, id: number) => {
    const inv = repo.invitations.get(id);
    return {
      id,
      node_id: `MDIwOlJlcG9zaXRvcnlJbnZpdGF0aW9u${id}`,
      repository: {
        id: repo.id,
        name: repo.name,
        full_name: `${repo.owner}/${repo.name}`,
        private: repo.private,
      },
      invitee: userJson(inv?.invitee ?? ""),
      inviter: userJson("octo-admin"),
      permissions: inv?.permissions,
      created_at: inv?.createdAt,
      expired: false,
      url: `${origin}/user/repository_invitations/${id}`,
      html_url: `https://github.com/${repo.owner}/${repo.name}/invitations`,
    };
  };

  /** GitHub's "minimal repository", as the lists of an account's repositories return it. */
  const repoJson = (repo: Repo) => {
    const org = orgs.get(repo.owner.toLowerCase());
    const owner = org
      ? {
          login: org.login,
          id: org.id,
          node_id: `MDEyOk9yZ2FuaXphdGlvbj${org.id}`,
          avatar_url: `https://avatars.githubusercontent.com/u/${org.id}?v=4`,
          url: `${origin}/users/${org.login}`,
          html_url: `https://github.com/${org.login}`,
          type: "Organization",
          site_admin: false,
        }
      : userJson(repo.owner.toLowerCase());
    const at = "2024-01-02T03:04:05Z";
    return {
      id: repo.id,
      node_id: `R_kgDO${repo.id}`,
      name: repo.name,
      full_name: `${repo.owner}/${repo.name}`,
      private: repo.private,
      owner,
      html_url: `https://github.com/${repo.owner}/${repo.name}`,
      description: null,
      fork: false,
      url: `${origin}/repos/${repo.owner}/${repo.name}`,
      collaborators_url: `${origin}/repos/${repo.owner}/${repo.name}/collaborators{/collaborator}`,
      default_branch: "main",
      archived: false,
      disabled: false,
      visibility: repo.private ? "private" : "public",
      created_at: at,
      updated_at: at,
      pushed_at: at,
      permissions: { admin: true, maintain: true, push: true, triage: true, pull: true },
    };
  };

  function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
    remaining = Math.max(0, remaining - 1);
    res.writeHead(status, {
      "x-github-request-id": randomBytes(8).toString("hex").toUpperCase(),
      "x-github-api-version-selected": "2022-11-28",
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
      "x-ratelimit-used": String(5000 - remaining),
      "x-ratelimit-resource": "core",
      ...(body === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
      ...headers,
    });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }

  const error = (res: ServerResponse, status: number, message: string, doc = docs, headers = {}) =>
    send(res, status, { message, documentation_url: doc, status: String(status) }, headers);

  /** One page of `items`, with GitHub's Link header (first/prev/next/last, every query parameter kept). */
  function sendPage(res: ServerResponse, url: URL, items: unknown[]) {
    const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 30) || 30, 100, pageSize);
    const page = Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const at = (n: number) => {
      const u = new URL(url.pathname + url.search, origin);
      u.searchParams.set("page", String(n));
      return `<${u.href}>`;
    };
    const links: string[] = [];
    if (page > 1) links.push(`${at(page - 1)}; rel="prev"`);
    if (page < last) links.push(`${at(page + 1)}; rel="next"`, `${at(last)}; rel="last"`);
    if (page > 1) links.push(`${at(1)}; rel="first"`);
    send(
      res,
      200,
      items.slice((page - 1) * perPage, page * perPage),
      links.length ? { link: links.join(", ") } : {},
    );
  }

  const writeDenied = (res: ServerResponse, doc: string, permission: string) =>
    error(res, 403, "Resource not accessible by personal access token", doc, {
      "x-accepted-github-permissions": permission,
    });

  function handleRepo(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    parts: string[],
    body: Body,
    readOnly: boolean,
  ) {
    const method = req.method ?? "GET";
    const [, owner = "", name = "", resource, sub = ""] = parts;
    const repo = repos.get(key(owner, name));
    const doc = `${docs}/collaborators/${resource === "invitations" ? "invitations" : "collaborators"}`;
    if (!repo) return error(res, 404, "Not Found", doc);
    // GET /repos/{owner}/{repo}
    if (parts.length === 3 && method === "GET") return send(res, 200, repoJson(repo));
    if (resource === "collaborators" && parts.length === 4 && method === "GET") {
      const affiliation = url.searchParams.get("affiliation") ?? "all";
      const orgMembers = orgs.get(repo.owner.toLowerCase())?.members ?? new Set<string>();
      const listed = [...repo.collaborators]
        .filter(([login]) => affiliation !== "outside" || !orgMembers.has(login))
        .sort(([a], [b]) => (users.get(a)?.id ?? 0) - (users.get(b)?.id ?? 0))
        .map(([login, p]) => ({
          ...userJson(login),
          permissions: Object.fromEntries(permissions.map((q) => [q, rank(q) <= rank(p)])),
          role_name: roleName[p],
        }));
      return sendPage(res, url, listed);
    }
    if (resource === "collaborators" && parts.length === 5) {
      const login = sub.toLowerCase();
      if (method !== "PUT" && method !== "DELETE") return error(res, 404, "Not Found", doc);
      if (readOnly) return writeDenied(res, `${doc}#add-a-repository-collaborator`, "administration=write");
      if (!users.has(login)) return error(res, 404, "Not Found", `${doc}#add-a-repository-collaborator`);
      if (method === "DELETE") {
        repo.collaborators.delete(login);
        return send(res, 204);
      }
      const permission = (body?.permission ?? "push") as RepoPermission;
      if (!permissions.includes(permission)) {
        return send(res, 422, {
          message: "Validation Failed",
          errors: [{ resource: "Repository", code: "invalid", field: "permission" }],
          documentation_url: `${doc}#add-a-repository-collaborator`,
          status: "422",
        });
      }
      const isMember = orgs.get(repo.owner.toLowerCase())?.members.has(login) ?? false;
      if (isMember || repo.collaborators.has(login)) {
        repo.collaborators.set(login, permission);
        return send(res, 204);
      }
      // An outsider is invited; asking again updates the pending invitation.
      const existing = [...repo.invitations].find(([, inv]) => inv.invitee === login)?.[0];
      const id = existing ?? nextId++;
      repo.invitations.set(id, {
        invitee: login,
        permissions: roleName[permission],
        createdAt: new Date().toISOString(),
      });
      return send(res, 201, invitationJson(repo, id));
    }
    if (resource === "invitations" && parts.length === 4 && method === "GET") {
      return sendPage(
        res,
        url,
        [...repo.invitations.keys()].sort((a, b) => a - b).map((id) => invitationJson(repo, id)),
      );
    }
    if (resource === "invitations" && parts.length === 5 && (method === "PATCH" || method === "DELETE")) {
      if (readOnly) return writeDenied(res, `${doc}#update-a-repository-invitation`, "administration=write");
      const id = Number(sub);
      const invitation = repo.invitations.get(id);
      if (!invitation) return error(res, 404, "Not Found", doc);
      if (method === "DELETE") {
        repo.invitations.delete(id);
        return send(res, 204);
      }
      if (typeof body?.permissions === "string") invitation.permissions = body.permissions;
      return send(res, 200, invitationJson(repo, id));
    }
    return error(res, 404, "Not Found", doc);
  }

  function handleTeam(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    parts: string[],
    body: Body,
    readOnly: boolean,
  ) {
    const method = req.method ?? "GET";
    const [, org = "", , slug = "", resource, sub = ""] = parts;
    const doc = `${docs}/teams/members`;
    const team = teams.get(key(org, slug));
    if (!team) return error(res, 404, "Not Found", doc);
    // GET /orgs/{org}/teams/{team_slug}
    if (parts.length === 4 && method === "GET") return send(res, 200, teamJson(team));
    if (resource === "members" && parts.length === 5 && method === "GET") {
      const role = url.searchParams.get("role") ?? "all";
      const members = [...team.memberships]
        .filter(([, m]) => m.state === "active" && (role === "all" || m.role === role))
        .map(([login]) => userJson(login));
      return sendPage(res, url, members);
    }
    if (resource === "invitations" && parts.length === 5 && method === "GET") {
      const pending = [...team.memberships]
        .filter(([, m]) => m.state === "pending")
        .map(([login, m]) => ({
          id: m.invitationId,
          login: users.get(login)?.login,
          node_id: `MDIyOk9yZ2FuaXphdGlvbkludml0YXRpb24${m.invitationId}`,
          email: null,
          role: "direct_member",
          created_at: "2024-01-02T03:04:05Z",
          failed_at: null,
          failed_reason: null,
          inviter: userJson("octo-admin"),
          team_count: 1,
          invitation_teams_url: `${origin}/organizations/1/invitations/${m.invitationId}/teams`,
          invitation_source: "member",
        }));
      return sendPage(res, url, pending);
    }
    if (resource === "memberships" && parts.length === 6 && (method === "PUT" || method === "DELETE")) {
      const login = sub.toLowerCase();
      if (readOnly)
        return writeDenied(res, `${doc}#add-or-update-team-membership-for-a-user`, "members=write");
      if (!users.has(login)) return error(res, 404, "Not Found", doc);
      if (method === "DELETE") {
        if (!team.memberships.delete(login))
          return error(res, 404, "Not Found", `${doc}#remove-team-membership-for-a-user`);
        return send(res, 204);
      }
      const role = (body?.role ?? "member") as TeamRole;
      if (role !== "member" && role !== "maintainer") {
        return send(res, 422, {
          message: "Validation Failed",
          errors: [{ resource: "TeamMember", code: "invalid", field: "role" }],
          documentation_url: `${doc}#add-or-update-team-membership-for-a-user`,
          status: "422",
        });
      }
      const existing = team.memberships.get(login);
      // Someone outside the organization is invited to it: pending until they accept.
      const isMember = orgs.get(team.org.toLowerCase())?.members.has(login) ?? false;
      const membership = existing ?? { role, state: isMember ? "active" : "pending", invitationId: nextId++ };
      membership.role = role;
      team.memberships.set(login, membership);
      return send(res, 200, {
        url: `${origin}/organizations/1/team/${team.id}/memberships/${users.get(login)?.login}`,
        role: membership.role,
        state: membership.state,
      });
    }
    return error(res, 404, "Not Found", doc);
  }

  /**
   * The repositories of an account, ordered as `sort` and `direction` ask. The fake neither updates nor
   * pushes, so "created", "updated" and "pushed" are all the creation order.
   */
  function sortedRepos(owner: string, url: URL, defaultSort: string, publicOnly: boolean) {
    const byName = (url.searchParams.get("sort") ?? defaultSort) === "full_name";
    const direction = url.searchParams.get("direction") ?? (byName ? "asc" : "desc");
    const owned = [...repos.values()]
      .filter((r) => r.owner.toLowerCase() === owner && !(publicOnly && r.private))
      .sort((a, b) => (byName ? a.name.toLowerCase().localeCompare(b.name.toLowerCase()) : a.id - b.id));
    return (direction === "desc" ? owned.reverse() : owned).map(repoJson);
  }

  /** GET /orgs/{org}/repos, GET /orgs/{org}/teams and GET /users/{username}/repos. */
  function handleAccount(res: ServerResponse, url: URL, parts: string[]) {
    const [kind, name = "", resource] = parts;
    const account = name.toLowerCase();
    if (kind === "users") {
      const doc = `${docs}/repos/repos#list-repositories-for-a-user`;
      if (!users.has(account) && !orgs.has(account)) return error(res, 404, "Not Found", doc);
      return sendPage(res, url, sortedRepos(account, url, "full_name", true));
    }
    const org = orgs.get(account);
    if (resource === "repos") {
      const doc = `${docs}/repos/repos#list-organization-repositories`;
      if (!org) return error(res, 404, "Not Found", doc);
      return sendPage(res, url, sortedRepos(account, url, "created", false));
    }
    const doc = `${docs}/teams/teams#list-teams`;
    if (!org) return error(res, 404, "Not Found", doc);
    const listed = [...teams.values()]
      .filter((t) => t.org.toLowerCase() === account)
      .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()))
      .map(teamJson);
    return sendPage(res, url, listed);
  }

  function teamJson(t: Team) {
    const org = orgs.get(t.org.toLowerCase());
    return {
      id: t.id,
      node_id: `MDQ6VGVhbT${t.id}`,
      url: `${origin}/organizations/${org?.id}/team/${t.id}`,
      html_url: `https://github.com/orgs/${org?.login ?? t.org}/teams/${t.slug}`,
      name: t.name,
      slug: t.slug,
      description: null,
      privacy: "closed",
      notification_setting: "notifications_enabled",
      permission: "pull",
      members_url: `${origin}/organizations/${org?.id}/team/${t.id}/members{/member}`,
      repositories_url: `${origin}/organizations/${org?.id}/team/${t.id}/repos`,
      parent: null,
    };
  }

  function handle(req: IncomingMessage, res: ServerResponse, body: Body) {
    const url = new URL(req.url ?? "/", origin);
    const auth = /^(?:token|bearer) (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    if (auth === undefined) return error(res, 401, "Requires authentication");
    if (auth !== token && auth !== readOnlyToken) return error(res, 401, "Bad credentials");
    if (holding) {
      held.push(res);
      for (const w of heldWaiters.filter((w) => held.length >= w.n)) w.resolve();
      heldWaiters = heldWaiters.filter((w) => held.length < w.n);
      return;
    }
    if (throttled.times > 0) {
      throttled.times -= 1;
      const status = throttled.status ?? 403;
      if (throttled.kind === "secondary") {
        return error(
          res,
          status,
          "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
          `${docs}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
          { "retry-after": String(throttled.seconds) },
        );
      }
      remaining = 0;
      const reset = Math.floor(Date.now() / 1000) + throttled.seconds;
      res.writeHead(status, {
        "content-type": "application/json; charset=utf-8",
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(reset),
        "x-ratelimit-used": "5000",
        "x-ratelimit-resource": "core",
      });
      remaining = 5000;
      return res.end(
        JSON.stringify({
          message: "API rate limit exceeded for user ID 1.",
          documentation_url: `${docs}/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit`,
          status: String(status),
        }),
      );
    }
    if (failing.times > 0) {
      failing.times -= 1;
      return error(res, failing.status, failing.status === 502 ? "Server Error" : "Internal Server Error");
    }
    const parts = url.pathname.split("/").slice(1).map(decodeURIComponent);
    const readOnly = auth === readOnlyToken;
    // GET /user: the account the token belongs to.
    if (parts.length === 1 && parts[0] === "user" && req.method === "GET") {
      return send(res, 200, userJson(readOnly ? "octo-reader" : "octo-admin"));
    }
    if (parts[0] === "repos") return handleRepo(req, res, url, parts, body, readOnly);
    const accountList =
      (parts[0] === "orgs" && (parts[2] === "repos" || parts[2] === "teams")) ||
      (parts[0] === "users" && parts[2] === "repos");
    if (accountList && parts.length === 3 && req.method === "GET") return handleAccount(res, url, parts);
    if (parts[0] === "orgs" && parts[2] === "teams") return handleTeam(req, res, url, parts, body, readOnly);
    return error(res, 404, "Not Found");
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString();
      let body: Body;
      try {
        body = raw ? (JSON.parse(raw) as Body) : undefined;
      } catch {
        return error(res, 400, "Problems parsing JSON");
      }
      const call: RecordedGitHubCall = { method: req.method ?? "GET", url: req.url ?? "/", body, status: 0 };
      fake.calls.push(call);
      res.on("finish", () => {
        call.status = res.statusCode;
      });
      handle(req, res, body);
    });
  });

  async function listen() {
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
    origin = `http://127.0.0.1:${port}`;
  }

  async function stop() {
    if (!server.listening) return;
    held.length = 0;
    holding = false;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  const addUser = (login: string) => {
    if (!users.has(login.toLowerCase())) users.set(login.toLowerCase(), { login, id: nextId++ });
  };
  addUser("octo-admin"); // the token's own account
  addUser("octo-reader"); // the read-only token's

  const fake: FakeGitHub = {
    get url() {
      return origin;
    },
    token,
    readOnlyToken,
    calls: [],
    addUser,
    addOrg(org, members = []) {
      orgs.set(org.toLowerCase(), {
        login: org,
        id: nextId++,
        members: new Set(members.map((m) => m.toLowerCase())),
      });
      for (const m of members) addUser(m);
    },
    addRepo(owner, repo, options = {}) {
      repos.set(key(owner, repo), {
        id: nextId++,
        owner,
        name: repo,
        private: options.private ?? true,
        collaborators: new Map(),
        invitations: new Map(),
      });
    },
    addCollaborator(owner, repo, login, permission) {
      addUser(login);
      repos.get(key(owner, repo))?.collaborators.set(login.toLowerCase(), permission);
    },
    addTeam(org, slug, name = slug) {
      teams.set(key(org, slug), { id: nextId++, org, slug, name, memberships: new Map() });
    },
    collaborators(owner, repo) {
      return [...(repos.get(key(owner, repo))?.collaborators ?? [])].map(([login, permission]) => ({
        login: users.get(login)?.login ?? login,
        permission,
      }));
    },
    invitations(owner, repo) {
      return [...(repos.get(key(owner, repo))?.invitations ?? [])].map(([id, inv]) => ({
        id,
        login: users.get(inv.invitee)?.login ?? inv.invitee,
        permissions: inv.permissions,
      }));
    },
    teamMemberships(org, slug) {
      return [...(teams.get(key(org, slug))?.memberships ?? [])].map(([login, m]) => ({
        login: users.get(login)?.login ?? login,
        role: m.role,
        state: m.state,
      }));
    },
    throttle(options) {
      throttled = { ...options };
    },
    failNext(times, status = 500) {
      failing = { times, status };
    },
    hold() {
      holding = true;
    },
    get held() {
      return held.length;
    },
    waitForHeld(n) {
      if (held.length >= n) return Promise.resolve();
      return new Promise((resolve) => heldWaiters.push({ n, resolve }));
    },
    stop,
    start: listen,
    close: stop,
  };
  await listen();
  return fake;
}
