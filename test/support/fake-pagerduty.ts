// A real HTTP server on 127.0.0.1 standing in for PagerDuty's REST API v2 calls the lookups make: on-calls and
// schedules in their documented shapes, `Token token=` auth, offset/limit/more pages, and failures on demand.

import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakePagerDutyOptions {
  /** The API key the fake accepts. */
  token: string;
  /**
   * The most items one page holds, whatever `limit` asks (PagerDuty's is 100), so a test can see a lookup
   * follow `more` without making a hundred people.
   */
  pageSize?: number;
}

export interface RecordedPagerDutyRequest {
  method: string;
  /** The path without the query. */
  path: string;
  query: URLSearchParams;
  accept: string | undefined;
  status: number;
}

export interface FakePagerDuty {
  /** The API's base URL, `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Creates or replaces a schedule and who is on call in it now (one on-call entry per email, level 1). */
  setOnCall(scheduleId: string, name: string, emails: string[]): void;
  /** Answers the next authenticated request with this status (429 with a `ratelimit-reset`). */
  failNext(status: number): void;
  requests: RecordedPagerDutyRequest[];
  close(): Promise<void>;
}

interface Schedule {
  id: string;
  name: string;
  emails: string[];
}

const escalationPolicy = { id: "PEPOL01", summary: "Default" };
const shiftStart = "2026-01-01T00:00:00Z";
const shiftEnd = "2099-01-01T00:00:00Z";

export async function startFakePagerDuty(options: FakePagerDutyOptions): Promise<FakePagerDuty> {
  const pageSize = options.pageSize ?? 100;
  const schedules = new Map<string, Schedule>();
  /** Email → user id: one PagerDuty user per address, whatever schedules they are in. */
  const userIds = new Map<string, string>();
  const failures: number[] = [];
  let origin = "";

  const userId = (email: string): string => {
    let id = userIds.get(email);
    if (!id) {
      id = `PU${String(userIds.size + 1).padStart(5, "0")}`;
      userIds.set(email, id);
    }
    return id;
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(JSON.stringify(body));
  };

  /** PagerDuty's classic pagination: offset and limit in, the same plus `more` (and `total` if asked) out. */
  function paged<T>(query: URLSearchParams, items: T[]) {
    const asked = Number(query.get("limit") ?? 25);
    const limit = Math.min(Number.isInteger(asked) && asked > 0 ? asked : 25, pageSize);
    const offset = Math.max(Number(query.get("offset") ?? 0) || 0, 0);
    const slice = items.slice(offset, offset + limit);
    const total = query.get("total") === "true" ? items.length : null;
    return { slice, meta: { limit, offset, more: offset + slice.length < items.length, total } };
  }

  const user = (email: string, full: boolean) => {
    const id = userId(email);
    const summary = email.split("@")[0] ?? email;
    const self = `${origin}/users/${id}`;
    // Without include[]=users PagerDuty sends a reference, which has no email.
    return full
      ? {
          id,
          type: "user",
          summary,
          name: summary,
          email,
          self,
          html_url: `https://fake.pagerduty.com/users/${id}`,
        }
      : { id, type: "user_reference", summary, self, html_url: `https://fake.pagerduty.com/users/${id}` };
  };

  function listOncalls(url: URL) {
    const ids = url.searchParams.getAll("schedule_ids[]");
    const withUsers = url.searchParams.getAll("include[]").includes("users");
    // Unknown schedule ids match nothing.
    const chosen = [...schedules.values()].filter((s) => ids.length === 0 || ids.includes(s.id));
    const entries = chosen.flatMap((s) =>
      s.emails.map((email) => ({
        user: user(email, withUsers),
        schedule: {
          id: s.id,
          summary: s.name,
          type: "schedule_reference",
          self: `${origin}/schedules/${s.id}`,
        },
        escalation_policy: {
          ...escalationPolicy,
          type: "escalation_policy_reference",
          self: `${origin}/escalation_policies/${escalationPolicy.id}`,
        },
        escalation_level: 1,
        start: shiftStart,
        end: shiftEnd,
      })),
    );
    const { slice, meta } = paged(url.searchParams, entries);
    return { oncalls: slice, ...meta };
  }

  function listSchedules(url: URL) {
    // `query` filters by part of the name, in any case.
    const q = url.searchParams.get("query")?.toLowerCase() ?? "";
    const found = [...schedules.values()]
      .filter((s) => s.name.toLowerCase().includes(q))
      .map((s) => ({
        id: s.id,
        type: "schedule",
        summary: s.name,
        name: s.name,
        self: `${origin}/schedules/${s.id}`,
        html_url: `https://fake.pagerduty.com/schedules/${s.id}`,
        time_zone: "UTC",
        description: null,
      }));
    const { slice, meta } = paged(url.searchParams, found);
    return { schedules: slice, ...meta };
  }

  function handle(req: IncomingMessage, res: ServerResponse, url: URL) {
    if (req.headers.authorization !== `Token token=${options.token}`) {
      return send(res, 401, { error: { message: "Unauthenticated", code: 2006 } });
    }
    const failing = failures.shift();
    if (failing === 429) {
      return send(res, 429, { error: { message: "Rate Limit Exceeded" } }, { "ratelimit-reset": "30" });
    }
    if (failing !== undefined) return send(res, failing, { error: { message: "Internal Server Error" } });
    for (const key of ["since", "until"]) {
      const value = url.searchParams.get(key);
      if (value !== null && Number.isNaN(Date.parse(value))) {
        return send(res, 400, {
          error: { message: "Invalid Input Provided", code: 2001, errors: [`${key} is not a valid date`] },
        });
      }
    }
    if (req.method === "GET" && url.pathname === "/oncalls") return send(res, 200, listOncalls(url));
    if (req.method === "GET" && url.pathname === "/schedules") return send(res, 200, listSchedules(url));
    return send(res, 404, { error: { message: "Not Found", code: 2100 } });
  }

  const fake: FakePagerDuty = {
    get url() {
      return origin;
    },
    setOnCall(scheduleId, name, emails) {
      schedules.set(scheduleId, { id: scheduleId, name, emails });
    },
    failNext(status) {
      failures.push(status);
    },
    requests: [],
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", origin);
    const request: RecordedPagerDutyRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      accept: req.headers.accept,
      status: 0,
    };
    fake.requests.push(request);
    res.on("finish", () => {
      request.status = res.statusCode;
    });
    req.resume();
    req.on("end", () => handle(req, res, url));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
