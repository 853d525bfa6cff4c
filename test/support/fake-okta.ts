// A real HTTP server on 127.0.0.1 standing in for the Okta Management API calls okta_group makes: users by
// login, the token's own user (/users/me), group membership, a group and its admin roles, the list of
// groups (with `q`), Link-header pages, SSWS tokens, and 429s, 500s, stalls and outages on demand.

import { randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeOktaUser {
  id: string;
  login: string;
  email: string;
}

export interface RecordedOktaCall {
  method: string;
  /** Path and query as received. */
  url: string;
  status: number;
}

export interface FakeOktaOptions {
  /**
   * The most items one page of group members or of groups holds, whatever `limit` asks (Okta's are 1000
   * and 10000). A `q` query is never paged: Okta answers it in one page.
   */
  pageSize?: number;
}

/** OKTA_GROUP: made in Okta; APP_GROUP: imported from an app or a directory; BUILT_IN: Everyone. */
export type FakeOktaGroupType = "OKTA_GROUP" | "APP_GROUP" | "BUILT_IN";

export interface FakeOkta {
  /** The org URL, `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** An API token of an admin who manages every group's membership. */
  readonly token: string;
  /** An API token of a read-only admin: reads work, membership changes answer 403 E0000006. */
  readonly readOnlyToken: string;
  /** The admin user `token` acts as (GET /api/v1/users/me). */
  readonly tokenUser: FakeOktaUser;
  calls: RecordedOktaCall[];
  addUser(login: string, email?: string): FakeOktaUser;
  /** Creates a group; returns its id (00g…). Every org also has Everyone, a BUILT_IN group. */
  addGroup(name: string, type?: Exclude<FakeOktaGroupType, "BUILT_IN">): string;
  addMember(groupId: string, login: string): void;
  /** Assigns an admin role (SUPER_ADMIN, GROUP_MEMBERSHIP_ADMIN…) to a group: its members get it. */
  assignRole(groupId: string, type: string): void;
  /** The logins of a group's members, as Okta stores them. */
  members(groupId: string): string[];
  /** Answer the next `times` authenticated requests 429, with X-Rate-Limit-Reset `resetInSeconds` from now. */
  throttle(times: number, resetInSeconds: number): void;
  /** Answer the next `times` authenticated requests with this status (an Okta 5xx body). */
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

const idChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const oktaId = (prefix: string) =>
  prefix + Array.from(randomBytes(17), (b) => idChars[b % idChars.length]).join("");

const errors = {
  E0000006: "You do not have permission to perform the requested action",
  E0000009: "Internal Server Error",
  E0000011: "Invalid token provided",
  E0000022: "The endpoint does not support the provided HTTP method",
  E0000047: "API call exceeded rate limit due to too many requests.",
} as const;

export async function startFakeOkta(options: FakeOktaOptions = {}): Promise<FakeOkta> {
  const pageSize = options.pageSize ?? 2;
  const token = `00${randomBytes(21).toString("base64url")}`;
  const readOnlyToken = `00${randomBytes(21).toString("base64url")}`;
  const users = new Map<string, FakeOktaUser>();
  const groups = new Map<
    string,
    { name: string; type: FakeOktaGroupType; members: Set<string>; roles: string[] }
  >();
  groups.set(oktaId("00g"), { name: "Everyone", type: "BUILT_IN", members: new Set(), roles: [] });
  const addUser = (login: string, email = login.toLowerCase()) => {
    const user = { id: oktaId("00u"), login, email };
    users.set(user.id, user);
    return user;
  };
  const tokenUsers = new Map([
    [token, addUser("jitflow-admin@example.com")],
    [readOnlyToken, addUser("readonly-admin@example.com")],
  ]);
  let throttled = { times: 0, resetInSeconds: 0 };
  let failing = { times: 0, status: 500 };
  let holding = false;
  const held: ServerResponse[] = [];
  let heldWaiters: { n: number; resolve: () => void }[] = [];
  let port = 0;
  let origin = "";

  const findUser = (key: string): FakeOktaUser | undefined => {
    const k = key.toLowerCase();
    const byIdOrLogin = users.get(key) ?? [...users.values()].find((u) => u.login.toLowerCase() === k);
    if (byIdOrLogin) return byIdOrLogin;
    // Okta also accepts the login's short name when only one user has it.
    const byShortName = [...users.values()].filter((u) => u.login.toLowerCase().split("@")[0] === k);
    return byShortName.length === 1 ? byShortName[0] : undefined;
  };

  const userJson = (u: FakeOktaUser) => {
    const at = "2024-01-02T03:04:05.000Z";
    return {
      id: u.id,
      status: "ACTIVE",
      created: at,
      activated: at,
      statusChanged: at,
      lastLogin: null,
      lastUpdated: at,
      passwordChanged: at,
      type: { id: "oty1a2b3c4d5e6f7g8h9" },
      profile: {
        firstName: u.login.split("@")[0],
        lastName: "Example",
        mobilePhone: null,
        secondEmail: null,
        login: u.login,
        email: u.email,
      },
      credentials: { provider: { type: "OKTA", name: "OKTA" } },
      _links: { self: { href: `${origin}/api/v1/users/${u.id}` } },
    };
  };

  const groupJson = (id: string) => {
    const group = groups.get(id);
    const at = "2024-01-02T03:04:05.000Z";
    const description = {
      OKTA_GROUP: null,
      APP_GROUP: `Imported from Active Directory`,
      BUILT_IN: "All users in your organization",
    }[group?.type ?? "OKTA_GROUP"];
    return {
      id,
      created: at,
      lastUpdated: at,
      lastMembershipUpdated: at,
      objectClass: [group?.type === "APP_GROUP" ? "okta:windows_security_principal" : "okta:user_group"],
      type: group?.type,
      profile: { name: group?.name, description },
      _links: {
        logo: [
          { name: "medium", href: `${origin}/assets/img/logos/groups/okta-medium.png`, type: "image/png" },
          { name: "large", href: `${origin}/assets/img/logos/groups/okta-large.png`, type: "image/png" },
        ],
        users: { href: `${origin}/api/v1/groups/${id}/users` },
        apps: { href: `${origin}/api/v1/groups/${id}/apps` },
      },
    };
  };

  function send(
    res: ServerResponse,
    status: number,
    body?: unknown,
    headers: Record<string, string | string[]> = {},
  ) {
    const now = Math.floor(Date.now() / 1000);
    res.writeHead(status, {
      "x-okta-request-id": randomBytes(12).toString("base64url"),
      "x-rate-limit-limit": "600",
      "x-rate-limit-remaining": "599",
      "x-rate-limit-reset": String(now + 60),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }

  function oktaError(res: ServerResponse, status: number, code: string, summary: string, headers = {}) {
    send(
      res,
      status,
      {
        errorCode: code,
        errorSummary: summary,
        errorLink: code,
        errorId: `oae${randomUUID().replaceAll("-", "").slice(0, 19)}`,
        errorCauses: [],
      },
      headers,
    );
  }

  const notFound = (res: ServerResponse, what: string, kind: "User" | "UserGroup") =>
    oktaError(res, 404, "E0000007", `Not found: Resource not found: ${what} (${kind})`);

  function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", origin);
    const method = req.method ?? "GET";
    const auth = req.headers.authorization ?? "";
    const presented = auth.startsWith("SSWS ") ? auth.slice(5) : undefined;
    if (presented !== token && presented !== readOnlyToken) {
      return oktaError(res, 401, "E0000011", errors.E0000011);
    }
    if (holding) {
      held.push(res);
      for (const w of heldWaiters.filter((w) => held.length >= w.n)) w.resolve();
      heldWaiters = heldWaiters.filter((w) => held.length < w.n);
      return;
    }
    if (throttled.times > 0) {
      throttled.times -= 1;
      const reset = Math.floor(Date.now() / 1000) + throttled.resetInSeconds;
      return oktaError(res, 429, "E0000047", errors.E0000047, {
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": String(reset),
      });
    }
    if (failing.times > 0) {
      failing.times -= 1;
      return oktaError(res, failing.status, "E0000009", errors.E0000009);
    }

    const parts = url.pathname.split("/").slice(1).map(decodeURIComponent);
    // GET /api/v1/users/me: the user the token acts as.
    if (parts.length === 4 && parts[2] === "users" && parts[3] === "me" && method === "GET") {
      return send(res, 200, userJson(tokenUsers.get(presented ?? "") as FakeOktaUser));
    }
    // GET /api/v1/users/{id|login|shortname}
    if (parts.length === 4 && parts[2] === "users" && method === "GET") {
      const user = findUser(parts[3] ?? "");
      return user ? send(res, 200, userJson(user)) : notFound(res, parts[3] ?? "", "User");
    }
    // GET /api/v1/groups?q|limit&after: a query matches the start of the name and is one page (300 by
    // default); otherwise pages ordered by group id, `after` the last id seen.
    if (parts.length === 3 && parts[2] === "groups" && method === "GET") {
      const q = url.searchParams.get("q")?.toLowerCase();
      const asked = Number(url.searchParams.get("limit")) || (q === undefined ? 10000 : 300);
      const limit = q === undefined ? Math.min(asked, pageSize) : asked;
      const after = url.searchParams.get("after");
      const ids = [...groups]
        .filter(
          ([id, g]) =>
            (q === undefined || g.name.toLowerCase().startsWith(q)) && (after === null || id > after),
        )
        .map(([id]) => id)
        .sort();
      const page = ids.slice(0, limit);
      const links = [`<${origin}${url.pathname}${url.search}>; rel="self"`];
      if (q === undefined && ids.length > page.length) {
        links.push(`<${origin}${url.pathname}?after=${page.at(-1)}&limit=${limit}>; rel="next"`);
      }
      return send(res, 200, page.map(groupJson), { link: links });
    }
    // GET /api/v1/groups/{groupId}
    if (parts.length === 4 && parts[2] === "groups" && method === "GET") {
      return groups.has(parts[3] ?? "")
        ? send(res, 200, groupJson(parts[3] ?? ""))
        : notFound(res, parts[3] ?? "", "UserGroup");
    }
    // GET /api/v1/groups/{groupId}/roles: the admin roles assigned to the group (one page).
    if (parts.length === 5 && parts[2] === "groups" && parts[4] === "roles" && method === "GET") {
      const group = groups.get(parts[3] ?? "");
      if (!group) return notFound(res, parts[3] ?? "", "UserGroup");
      const at = "2024-01-02T03:04:05.000Z";
      return send(
        res,
        200,
        group.roles.map((type, i) => ({
          id: `ra${parts[3]}${i}`,
          label: type,
          type,
          status: "ACTIVE",
          created: at,
          lastUpdated: at,
          assignmentType: "GROUP",
        })),
      );
    }
    if (parts[2] !== "groups" || parts[4] !== "users") {
      return oktaError(res, 404, "E0000007", `Not found: Resource not found: ${url.pathname} (UserGroup)`);
    }
    const groupId = parts[3] ?? "";
    const group = groups.get(groupId);
    // GET /api/v1/groups/{groupId}/users?limit&after: pages ordered by user id, `after` the last id seen.
    if (parts.length === 5 && method === "GET") {
      if (!group) return notFound(res, groupId, "UserGroup");
      const limit = Math.min(Number(url.searchParams.get("limit") ?? 1000) || 1000, pageSize);
      const after = url.searchParams.get("after");
      const ids = [...group.members].sort().filter((id) => after === null || id > after);
      const page = ids.slice(0, limit);
      const self = `${origin}${url.pathname}?limit=${limit}${after ? `&after=${after}` : ""}`;
      const links = [`<${self}>; rel="self"`];
      if (ids.length > page.length) {
        links.push(`<${origin}${url.pathname}?after=${page.at(-1)}&limit=${limit}>; rel="next"`);
      }
      // Okta sends one Link header per relation.
      return send(
        res,
        200,
        page.map((id) => userJson(users.get(id) as FakeOktaUser)),
        { link: links },
      );
    }
    // PUT|DELETE /api/v1/groups/{groupId}/users/{userId}
    if (parts.length === 6 && (method === "PUT" || method === "DELETE")) {
      if (presented === readOnlyToken) return oktaError(res, 403, "E0000006", errors.E0000006);
      if (!group) return notFound(res, groupId, "UserGroup");
      const user = users.get(parts[5] ?? "");
      if (!user) return notFound(res, parts[5] ?? "", "User");
      if (method === "PUT") group.members.add(user.id);
      else group.members.delete(user.id);
      // 204 either way: Okta answers the same whether the membership existed or not.
      return send(res, 204);
    }
    return oktaError(res, 405, "E0000022", errors.E0000022);
  }

  const server: Server = createServer((req, res) => {
    const call: RecordedOktaCall = { method: req.method ?? "GET", url: req.url ?? "/", status: 0 };
    fake.calls.push(call);
    res.on("finish", () => {
      call.status = res.statusCode;
    });
    req.resume();
    req.on("end", () => handle(req, res));
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

  const fake: FakeOkta = {
    get url() {
      return origin;
    },
    token,
    readOnlyToken,
    tokenUser: tokenUsers.get(token) as FakeOktaUser,
    calls: [],
    addUser,
    addGroup(name, type = "OKTA_GROUP") {
      const id = oktaId("00g");
      groups.set(id, { name, type, members: new Set(), roles: [] });
      return id;
    },
    assignRole(groupId, type) {
      groups.get(groupId)?.roles.push(type);
    },
    addMember(groupId, login) {
      const user = findUser(login);
      if (!user) throw new Error(`fake-okta: no user ${login}`);
      groups.get(groupId)?.members.add(user.id);
    },
    members(groupId) {
      return [...(groups.get(groupId)?.members ?? [])].map((id) => users.get(id)?.login ?? id);
    },
    throttle(times, resetInSeconds) {
      throttled = { times, resetInSeconds };
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
