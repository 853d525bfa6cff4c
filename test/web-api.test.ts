// The API the web app uses, end to end on both databases: who am I, what awaits me, a request's events,
// the filtered audit log and its export and check, the admins' flow overview, and the live event stream.

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Hono } from "hono";
import { sql } from "kysely";
import type { ApiEnv } from "../src/channels/api/auth.ts";
import { createEventStream, eventStreamOf } from "../src/channels/api/stream.ts";
import { states } from "../src/engine/lifecycle.ts";
import { appendEvents } from "../src/store/audit-log.ts";
import { type AccessRequest, plainPolicyColumns, requestColumns } from "../src/store/requests.ts";
import { createToken, type TokenRole } from "../src/store/tokens.ts";
import { parseCsv } from "./support/csv.ts";
import { dialects, type TestDatabase } from "./support/databases.ts";
import {
  type Client,
  client,
  importJitflow,
  patienceMs,
  startTestServer,
  type TestServer,
  waitForState,
} from "./support/harness.ts";

const config = `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  targets: { box: { type: "custom", label: "Box" }, crate: { type: "custom", label: "Crate" } },
  flows: [
    {
      name: "deploy",
      targets: ["box"],
      durations: ["1h"],
      fields: [{ name: "reason", type: "text", required: false }],
      approvers: { users: ["bob@example.com", "carol@example.com"], channel: "#deploys", minApprovals: 2 },
      implementation: "./box.ts",
    },
    { name: "named", targets: ["crate"], durations: ["1h"], implementation: "./named.ts" },
    { name: "webonly", targets: ["box"], durations: ["1h"], allowedSources: ["web"], implementation: "./box.ts" },
  ],
});
`;

const files = {
  "box.ts": "export async function escalate() {}\nexport async function deescalate() {}\n",
  "named.ts": `export async function escalate() {}
export async function deescalate() {}
export async function getApprovers() { return ["dave@example.com"]; }
`,
};

interface SseEvent {
  event: string;
  data: any;
}

/** A connection to GET /api/v1/stream, read event by event. */
interface Stream {
  headers: Headers;
  /** The next event (of the given type, if set), or a failure after the deadline. */
  next(type?: string, timeoutMs?: number): Promise<SseEvent>;
  /** The next event that matches, skipping others. */
  until(match: (e: SseEvent) => boolean): Promise<SseEvent>;
  close(): void;
}

async function openStream(url: string, token: string): Promise<Stream> {
  const abort = new AbortController();
  const res = await fetch(`${url}/api/v1/stream`, {
    headers: { authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  assert.equal(res.status, 200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const queued: SseEvent[] = [];
  const parse = () => {
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
      const data = [...block.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).join("\n");
      queued.push({ event, data: data ? JSON.parse(data) : undefined });
    }
  };
  const stream: Stream = {
    headers: res.headers,
    async until(match) {
      for (;;) {
        const e = await stream.next();
        if (match(e)) return e;
      }
    },
    async next(type, timeoutMs = patienceMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = queued.findIndex((e) => type === undefined || e.event === type);
        if (index >= 0) return queued.splice(0, index + 1).at(-1) as SseEvent;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${type ?? "event"} within ${timeoutMs} ms`);
        let timer: NodeJS.Timeout | undefined;
        const chunk = await Promise.race([
          reader.read(),
          new Promise<"timeout">((resolve) => {
            timer = setTimeout(() => resolve("timeout"), left);
          }),
        ]);
        clearTimeout(timer);
        if (chunk === "timeout") continue;
        if (chunk.done) throw new Error("the stream ended");
        buffer += decoder.decode(chunk.value, { stream: true });
        parse();
      }
    },
    close: () => abort.abort(),
  };
  return stream;
}

for (const db of await dialects()) {
  describe(`the web app's API on ${db.dialect}`, { skip: db.skip }, () => {
    let t: TestServer;
    let database: TestDatabase;
    let admin: Client;
    let alice: Client;
    let bob: Client;
    let carol: Client;
    let dave: Client;
    let bot: Client;
    /** A deploy request of alice's (one approval of two, from bob) and a named one (dave decides it). */
    let deployId: string;
    let namedId: string;

    const as = async (email: string, role: TokenRole = "member") => {
      const { token } = await createToken(
        t.server.deps.store.db,
        { user: email, role, name: "web-api", expiresAt: null },
        Date.now(),
      );
      return client(t.url, token);
    };

    before(async () => {
      database = await db.create();
      t = await startTestServer({ config, files, database });
      admin = t.as("admin@example.com");
      alice = t.as("alice@example.com");
      bob = t.as("bob@example.com");
      carol = t.as("carol@example.com");
      dave = t.as("dave@example.com");
      bot = t.as("bot@example.com");
      deployId = (await alice.post("/api/v1/requests", { flow: "deploy", fields: { reason: "hotfix" } })).body
        .id;
      namedId = (await alice.post("/api/v1/requests", { flow: "named" })).body.id;
      assert.ok(deployId && namedId);
    });
    after(async () => {
      if (t) await eventStreamOf(t.server.deps).close();
      await t?.close();
      await database?.drop();
    });

    test("GET /api/v1/me says who the caller is and which flows name them as an approver", async () => {
      const me = await alice.get("/api/v1/me");
      assert.equal(me.status, 200);
      assert.deepEqual(me.body, {
        email: "alice@example.com",
        name: "alice",
        role: "member",
        approverOf: [],
      });
      assert.deepEqual((await bob.get("/api/v1/me")).body.approverOf, ["deploy"]);
      assert.equal((await admin.get("/api/v1/me")).body.role, "admin");
      assert.equal((await bot.get("/api/v1/me")).body.role, "bot");
      assert.equal((await t.as("eve@outside.org").get("/api/v1/me")).body.role, "guest");
      const anonymous = await client(t.url, "nope").get("/api/v1/me");
      assert.equal(anonymous.status, 401);
    });

    test("awaiting=me lists what the caller may still decide, by the same rules as approving", async () => {
      const awaiting = async (c: Client, query = "") => {
        const res = await c.get(`/api/v1/requests?awaiting=me${query}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return res.body.items.map((r: { id: string }) => r.id) as string[];
      };
      const bobs = await awaiting(bob);
      assert.ok(bobs.includes(deployId), "a config approver sees it");
      assert.ok(!bobs.includes(namedId), "getApprovers names only dave for this flow");
      assert.deepEqual(await awaiting(alice), [], "the requester never sees their own");
      assert.ok((await awaiting(dave)).includes(namedId), "named by getApprovers");
      assert.ok(!(await awaiting(dave)).includes(deployId), "not an approver of deploy");
      assert.deepEqual(await awaiting(bot), [], "bots never decide");
      const admins = await awaiting(admin);
      assert.ok(admins.includes(deployId) && admins.includes(namedId));

      const first = await bob.post(`/api/v1/requests/${deployId}/approve`, { reason: "one of two" });
      assert.equal(first.body.state, "pending");
      assert.ok(!(await awaiting(bob)).includes(deployId), "bob has decided already");
      assert.ok((await awaiting(carol)).includes(deployId), "carol may still approve");
      assert.ok(!(await awaiting(carol)).includes(namedId));

      // Paged like the list: newest first, nextCursor to go on.
      const page1 = await admin.get("/api/v1/requests?awaiting=me&limit=1");
      assert.equal(page1.body.items.length, 1);
      assert.equal(page1.body.items[0].id, namedId, "newest first");
      assert.ok(page1.body.nextCursor);
      const page2 = await admin.get(`/api/v1/requests?awaiting=me&limit=1&cursor=${page1.body.nextCursor}`);
      assert.equal(page2.body.items[0].id, deployId);
      assert.deepEqual(await awaiting(admin, "&flow=deploy"), [deployId]);

      const mixed = await bob.get("/api/v1/requests?awaiting=me&mine=true");
      assert.equal(mixed.status, 400);
      assert.equal(mixed.body.error.code, "VALIDATION_FAILED");
      assert.equal((await bob.get("/api/v1/requests?awaiting=you")).body.error.code, "VALIDATION_FAILED");
    });

    test("awaiting=me looks at 500 pending requests per call at most, and says where to go on", async () => {
      const frank = await as("frank@example.com");
      const ids: string[] = [];
      for (let i = 0; i < 3; i++)
        ids.push((await frank.post("/api/v1/requests", { flow: "named" })).body.id as string);
      // Newer than all of them: more pending requests than one call looks at, none of them dave's to decide.
      const { db } = t.server.deps.store;
      const now = Date.now() + 60_000;
      const bulk: AccessRequest[] = Array.from({ length: 520 }, (_, i) => ({
        id: `bulk-${String(i).padStart(4, "0")}`,
        flow: "deploy",
        target: "box",
        requester: "bulk@example.com",
        requesterName: "bulk",
        requesterRole: "member",
        state: "pending" as const,
        duration: 3600,
        fields: {},
        context: {},
        source: "api",
        createdAt: now + i,
        updatedAt: now + i,
        decidedAt: null,
        activatedAt: null,
        expiresAt: null,
        endedAt: null,
        endedReason: null,
        error: null,
        dueAt: null,
        leaseOwner: null,
        leaseUntil: null,
        version: 0,
        ...plainPolicyColumns,
        grant: null,
      }));
      for (let i = 0; i < bulk.length; i += 100)
        await db
          .insertInto("requests")
          .values(bulk.slice(i, i + 100).map((r) => requestColumns(r)))
          .execute();
      try {
        const pages: string[][] = [];
        let cursor: string | null = null;
        do {
          const res: any = await dave.get(
            `/api/v1/requests?awaiting=me&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
          );
          assert.equal(res.status, 200, JSON.stringify(res.body));
          pages.push(res.body.items.map((r: { id: string }) => r.id));
          cursor = res.body.nextCursor;
        } while (cursor && pages.length < 10);
        assert.deepEqual(pages, [[], [ids[2], ids[1]], [ids[0], namedId]]);
      } finally {
        await db.deleteFrom("requests").where("requester", "=", "bulk@example.com").execute();
        for (const id of ids) await frank.post(`/api/v1/requests/${id}/cancel`);
      }
    });

    test("GET /api/v1/requests/{id}/events: the request's events, for those who may see it", async () => {
      const mine = await alice.get(`/api/v1/requests/${deployId}/events`);
      assert.equal(mine.status, 200);
      assert.deepEqual(
        mine.body.items.map((e: { type: string }) => e.type),
        ["request.created", "request.approval_recorded"],
      );
      const event = mine.body.items[1];
      assert.equal(event.actor, "bob@example.com");
      assert.equal(event.requestId, deployId);
      assert.equal(event.data.reason, "one of two");
      assert.match(event.hash, /^[0-9a-f]{64}$/);
      assert.equal((await bob.get(`/api/v1/requests/${deployId}/events`)).status, 200, "an approver");
      assert.equal((await bot.get(`/api/v1/requests/${deployId}/events`)).status, 200);
      const stranger = await dave.get(`/api/v1/requests/${deployId}/events`);
      assert.equal(stranger.status, 404);
      assert.equal(stranger.body.error.code, "REQUEST_NOT_FOUND");
      const unknown = await admin.get("/api/v1/requests/no-such-request/events");
      assert.equal(unknown.body.error.code, "REQUEST_NOT_FOUND");
    });

    test("GET /api/v1/audit: each filter narrows, filters combine, bad values are 400", async () => {
      // dave approves the named request: approved, then escalating, then active.
      assert.equal((await dave.post(`/api/v1/requests/${namedId}/approve`)).status, 200);
      await waitForState(alice, namedId, ["active"]);
      const all = (await admin.get("/api/v1/audit?limit=1000")).body.items as any[];
      const audit = async (query: string) => {
        const res = await admin.get(`/api/v1/audit?limit=1000&${query}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return res.body.items as any[];
      };
      const requests = (await admin.get("/api/v1/requests?limit=200")).body.items as any[];
      const byId = new Map(requests.map((r) => [r.id, r]));
      const expect = (items: any[], keep: (e: any) => boolean, what: string) => {
        const wanted = all.filter(keep).map((e) => e.seq);
        assert.ok(wanted.length > 0 && wanted.length < all.length, `${what} must narrow in this test`);
        assert.deepEqual(
          items.map((e) => e.seq),
          wanted,
          what,
        );
      };
      expect(await audit("flow=named"), (e) => byId.get(e.requestId)?.flow === "named", "flow");
      expect(await audit("target=crate"), (e) => byId.get(e.requestId)?.target === "crate", "target");
      expect(await audit("actor=bob@example.com"), (e) => e.actor === "bob@example.com", "actor");
      expect(await audit("actor=jitflow"), (e) => e.actor === "jitflow", "actor (the scheduler)");
      expect(
        await audit("requester=Alice@Example.com"),
        (e) => byId.get(e.requestId)?.requester.email === "alice@example.com",
        "requester, any case",
      );
      expect(
        await audit("type=grant.active,request.approval_recorded"),
        (e) => e.type === "grant.active" || e.type === "request.approval_recorded",
        "types",
      );
      expect(await audit("state=active"), (e) => byId.get(e.requestId)?.state === "active", "state");
      const middle = all[Math.floor(all.length / 2)];
      expect(await audit(`from=${middle.at}`), (e) => e.at >= middle.at, "from (inclusive)");
      expect(await audit(`to=${middle.at}`), (e) => e.at < middle.at, "to (exclusive)");
      const offset = new Date(Date.parse(middle.at)).toISOString().replace("Z", "+00:00");
      expect(await audit(`from=${encodeURIComponent(offset)}`), (e) => e.at >= middle.at, "an offset");

      const combined = await audit(
        `flow=deploy&actor=bob@example.com&type=request.approval_recorded&state=pending&requestId=${deployId}`,
      );
      assert.deepEqual(
        combined.map((e) => [e.requestId, e.type]),
        [[deployId, "request.approval_recorded"]],
      );
      assert.deepEqual(await audit("flow=deploy&target=crate"), [], "no deploy request is for crate");

      // Paging works the same with filters: nextCursor is a seq to pass as after.
      const page1 = await admin.get("/api/v1/audit?flow=named&limit=2");
      assert.equal(page1.body.items.length, 2);
      assert.equal(page1.body.nextCursor, String(page1.body.items[1].seq));
      const page2 = await admin.get(`/api/v1/audit?flow=named&limit=1000&after=${page1.body.nextCursor}`);
      assert.deepEqual(
        [...page1.body.items, ...page2.body.items].map((e: any) => e.seq),
        all.filter((e) => byId.get(e.requestId)?.flow === "named").map((e) => e.seq),
      );
      assert.equal(page2.body.nextCursor, null);

      for (const bad of ["from=yesterday", "to=2026-13-01T00:00:00Z", "from=2026-01-01", "state=bogus"]) {
        const res = await admin.get(`/api/v1/audit?${bad}`);
        assert.equal(res.status, 400, bad);
        assert.equal(res.body.error.code, "VALIDATION_FAILED", bad);
      }
      assert.equal((await bot.get("/api/v1/audit?flow=deploy")).status, 200, "bots may read it");
    });

    test("GET /api/v1/audit/export: CSV with quoting and formula cells defused, and JSON, page by page", async () => {
      const sneaky = await as("=cmd@example.com");
      const created = await sneaky.post("/api/v1/requests", { flow: "deploy", fields: { reason: "x" } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      await sneaky.post(`/api/v1/requests/${created.body.id}/cancel`, { reason: '+1, "now"' });

      const res = await fetch(`${t.url}/api/v1/audit/export?format=csv&requester=%3Dcmd@example.com`, {
        headers: { authorization: `Bearer ${admin.token}` },
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/csv/);
      const today = new Date(t.server.deps.clock.now()).toISOString().slice(0, 10);
      assert.equal(
        res.headers.get("content-disposition"),
        `attachment; filename="jitflow-audit-${today}.csv"`,
      );
      const text = await res.text();
      const rows = parseCsv(text);
      assert.deepEqual(rows[0], [
        "seq",
        "id",
        "at",
        "type",
        "actor",
        "requestId",
        "flow",
        "target",
        "requester",
        "data",
      ]);
      assert.deepEqual(
        rows.slice(1).map((r) => [r[3], r[4], r[5], r[6], r[7], r[8]]),
        [
          ["request.created", "'=cmd@example.com", created.body.id, "deploy", "box", "'=cmd@example.com"],
          ["request.cancelled", "'=cmd@example.com", created.body.id, "deploy", "box", "'=cmd@example.com"],
        ],
      );
      assert.deepEqual(JSON.parse(rows[2]?.[9] as string), {
        from: "pending",
        reason: '+1, "now"',
        to: "cancelled",
      });
      assert.ok(text.includes('""reason"":""+1, \\""now\\""""'), "quotes doubled inside a quoted cell");

      const asJson = await fetch(`${t.url}/api/v1/audit/export?format=json&flow=named`, {
        headers: { authorization: `Bearer ${bot.token}` },
      });
      assert.equal(asJson.status, 200);
      assert.match(asJson.headers.get("content-type") ?? "", /^application\/json/);
      assert.equal(
        asJson.headers.get("content-disposition"),
        `attachment; filename="jitflow-audit-${today}.json"`,
      );
      const items = (await asJson.json()) as any[];
      const paged = (await admin.get("/api/v1/audit?flow=named&limit=1000")).body.items as any[];
      assert.deepEqual(
        items.map(({ flow, target, requester, ...event }) => event),
        paged,
        "the same events as GET /api/v1/audit",
      );
      assert.ok(items.every((e) => e.flow === "named" && e.target === "crate"));

      // More events than one page holds: all of them come, in order.
      await t.server.deps.store.transaction((trx) =>
        appendEvents(
          trx,
          t.server.deps.store.dialect,
          Array.from({ length: 2500 }, (_, i) => ({
            requestId: null,
            type: "test.bulk",
            actor: "jitflow",
            at: Date.now(),
            data: { i },
          })),
        ),
      );
      const bulk = await fetch(`${t.url}/api/v1/audit/export?type=test.bulk`, {
        headers: { authorization: `Bearer ${admin.token}` },
      });
      const bulkRows = parseCsv(await bulk.text()).slice(1);
      assert.equal(bulkRows.length, 2500);
      assert.deepEqual(
        bulkRows.map((r) => JSON.parse(r[9] as string).i),
        Array.from({ length: 2500 }, (_, i) => i),
      );
      assert.ok(
        bulkRows.every((r) => r[5] === "" && r[6] === ""),
        "no request: empty cells",
      );

      const refused = await alice.get("/api/v1/audit/export?format=csv");
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, "FORBIDDEN");
      const badDate = await admin.get("/api/v1/audit/export?from=soon");
      assert.equal(badDate.status, 400);
      assert.equal(badDate.body.error.code, "VALIDATION_FAILED");
      const badFormat = await admin.get("/api/v1/audit/export?format=xlsx");
      assert.equal(badFormat.body.error.code, "VALIDATION_FAILED");
    });

    test("GET /api/v1/audit/verify: ok, and an edited row is found", async () => {
      const good = await admin.get("/api/v1/audit/verify");
      assert.equal(good.status, 200);
      const total = await t.server.deps.store.db
        .selectFrom("audit_events")
        .select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirstOrThrow();
      const { head, requests, ...chain } = good.body;
      assert.deepEqual(chain, { ok: true, events: Number(total.n), problems: [] });
      assert.equal(head.seq, Number(total.n));
      assert.equal(requests.notCovered, 0, "each request is checked against its request.created event");
      assert.equal((await bot.get("/api/v1/audit/verify")).body.ok, true);

      const { db } = t.server.deps.store;
      const victim = await db
        .selectFrom("audit_events")
        .select(["seq", "data"])
        .where("request_id", "=", deployId)
        .where("type", "=", "request.approval_recorded")
        .executeTakeFirstOrThrow();
      await sql`update audit_events set data = ${'{"approvals":2}'} where seq = ${victim.seq}`.execute(db);
      try {
        const bad = await admin.get("/api/v1/audit/verify");
        assert.equal(bad.body.ok, false);
        assert.deepEqual(bad.body.problems, [
          { seq: Number(victim.seq), problem: "hash does not match the event's contents (edited)" },
        ]);
      } finally {
        await sql`update audit_events set data = ${victim.data} where seq = ${victim.seq}`.execute(db);
      }
      assert.equal((await admin.get("/api/v1/audit/verify")).body.ok, true);
    });

    test("GET /api/v1/admin/flows: every flow, approvers, counts by state, and the config file's problems", async () => {
      const res = await admin.get("/api/v1/admin/flows");
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(
        res.body.items.map((f: { name: string }) => f.name),
        ["deploy", "named", "webonly"],
        "webonly too, though the API cannot request it",
      );
      const deploy = res.body.items[0];
      assert.deepEqual(deploy.approvers, {
        users: ["bob@example.com", "carol@example.com"],
        channel: "#deploys",
        minApprovals: 2,
        allowSelfApproval: false,
      });
      assert.deepEqual(deploy.targets, [{ name: "box", label: "Box", type: "custom" }]);
      assert.equal(res.body.items[1].approvers, null);
      const listed = (await admin.get("/api/v1/requests?limit=200")).body.items as any[];
      for (const flow of res.body.items) {
        assert.deepEqual(Object.keys(flow.counts).sort(), [...states].sort(), "every state, zeros included");
        for (const s of states) {
          const n = listed.filter((r) => r.flow === flow.name && r.state === s).length;
          assert.equal(flow.counts[s], n, `${flow.name} ${s}`);
        }
      }
      assert.ok(deploy.counts.pending >= 1 && deploy.counts.cancelled >= 1);
      assert.equal(res.body.items[2].counts.pending, 0);
      assert.deepEqual(res.body.configProblems, []);

      const file = join(t.dir, "jitflow.config.ts");
      const original = readFileSync(file, "utf8");
      try {
        writeFileSync(
          file,
          original.replace('durations: ["1h"],\n      fields', 'durations: ["forever"],\n      fields'),
        );
        const broken = await admin.get("/api/v1/admin/flows");
        assert.equal(broken.status, 200);
        assert.equal(broken.body.items.length, 3, "the running config still serves");
        assert.equal(broken.body.configProblems.length, 1, JSON.stringify(broken.body.configProblems));
        assert.equal(broken.body.configProblems[0].path, "flows[0].durations[0]");
        writeFileSync(file, "export default {{{");
        const unparsable = (await admin.get("/api/v1/admin/flows")).body.configProblems;
        assert.equal(unparsable.length, 1);
        assert.equal(unparsable[0].path, "");
        assert.match(unparsable[0].message, /could not be loaded/);
      } finally {
        writeFileSync(file, original);
      }
      assert.deepEqual((await admin.get("/api/v1/admin/flows")).body.configProblems, []);
    });

    test("admin and audit routes are 403 FORBIDDEN for those without the role", async () => {
      const cases: [Client, string][] = [
        [alice, "/api/v1/admin/flows"],
        [bot, "/api/v1/admin/flows"],
        [bob, "/api/v1/audit"],
        [bob, "/api/v1/audit?flow=deploy"],
        [alice, "/api/v1/audit/export?format=json"],
        [alice, "/api/v1/audit/verify"],
      ];
      for (const [c, path] of cases) {
        const res = await c.get(path);
        assert.equal(res.status, 403, path);
        assert.equal(res.body.error.code, "FORBIDDEN", path);
      }
    });

    test("GET /api/v1/stream tells each client of changes to the requests it may see, and only those", async () => {
      const watcherClient = await as("watcher@example.com");
      const watcher = await openStream(t.url, watcherClient.token);
      const everything = await openStream(t.url, admin.token);
      const approver = await openStream(t.url, bob.token);
      try {
        assert.equal(watcher.headers.get("content-type"), "text/event-stream");
        assert.equal(watcher.headers.get("cache-control"), "no-store");
        assert.equal(watcher.headers.get("x-accel-buffering"), "no");
        assert.match((await watcher.next("ping")).data.at, /^\d{4}-\d\d-\d\dT/);

        // Not the watcher's: alice's. Then the sentinel: the watcher's own.
        const hidden = (await alice.post("/api/v1/requests", { flow: "deploy" })).body.id;
        const own = (await watcherClient.post("/api/v1/requests", { flow: "deploy" })).body.id;
        const seen = await watcher.next("request");
        assert.equal(seen.data.requestId, own, "the first change the watcher hears of is its own");
        assert.equal(seen.data.type, "request.created");
        assert.equal(seen.data.state, "pending");
        assert.match(seen.data.at, /^\d{4}-\d\d-\d\dT.*Z$/);

        const all = await everything.next("request");
        assert.deepEqual(
          [all.data.requestId, (await everything.next("request")).data.requestId],
          [hidden, own],
        );
        const asApprover = await approver.next("request");
        assert.equal(asApprover.data.requestId, hidden, "bob approves deploy requests");

        // Changes made through the API after connecting keep coming, with the request's state now.
        await alice.post(`/api/v1/requests/${hidden}/cancel`);
        const cancelled = await approver.until((e) => e.data.type === "request.cancelled");
        assert.deepEqual(
          [cancelled.data.requestId, cancelled.data.type, cancelled.data.state],
          [hidden, "request.cancelled", "cancelled"],
        );
        await watcherClient.post(`/api/v1/requests/${own}/cancel`);
        assert.equal((await watcher.next("request")).data.type, "request.cancelled");
      } finally {
        watcher.close();
        everything.close();
        approver.close();
      }

      // Who decided a request hears of it afterwards, though no approvers.users list names them.
      const decider = await openStream(t.url, dave.token);
      try {
        await admin.post(`/api/v1/requests/${namedId}/revoke`, { reason: "done" });
        const revoked = await decider.next("request");
        assert.equal(revoked.data.requestId, namedId);
        assert.equal(revoked.data.type, "grant.deescalating");
      } finally {
        decider.close();
      }
    });

    test("every client gets a ping on connecting and then every pingMs", async () => {
      const stream = createEventStream(t.server.deps, { pingMs: 40 });
      const app = new Hono<ApiEnv>();
      app.use(async (c, next) => {
        c.set("actor", { email: "alice@example.com", name: "alice", role: "member" });
        await next();
      });
      app.get("/stream", (c) => stream.handle(c));
      // The stream re-checks the caller's credentials at each ping: a real token, as the API would have.
      const res = await app.request("/stream", {
        headers: { authorization: `Bearer ${t.as("alice@example.com").token}` },
      });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let text = "";
      try {
        while ((text.match(/^event: ping$/gm) ?? []).length < 3) {
          const chunk = await reader.read();
          assert.ok(!chunk.done, "the stream ended early");
          text += decoder.decode(chunk.value, { stream: true });
        }
      } finally {
        await stream.close();
      }
      assert.ok((await reader.read()).done, "close() ends the stream");
    });

    test("closing the event stream ends open connections", async () => {
      const open = await openStream(t.url, admin.token);
      await open.next("ping");
      await eventStreamOf(t.server.deps).close();
      await assert.rejects(open.next("request"), /the stream ended/);
    });
  });
}
