// The audit log end to end: a request's submitted data is inside the chain (a rewrite is named by
// `jitflow audit verify` and the API), and the chain's head is published to be kept outside the database.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { sql } from "kysely";
import { pino } from "pino";
import { createAuditHeadPublisher } from "../src/engine/audit-head-publisher.ts";
import { FakeClock } from "../src/lib/clock.ts";
import { type RunningServer, startServer } from "../src/server.ts";
import { genesisHash, readHead } from "../src/store/audit-log.ts";
import { createToken } from "../src/store/tokens.ts";
import { createSqliteDatabase, dialects, type TestDatabase } from "./support/databases.ts";
import { client, importJitflow, startTestServer, type TestServer, writeTree } from "./support/harness.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

const mainTs = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const execFileAsync = promisify(execFile);

/** `jitflow audit verify --database URL ARGS` as a process: its exit code and output, whatever the code. */
function verify(url: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.JITFLOW_DATABASE_URL;
  return execFileAsync(process.execPath, [mainTs, "audit", "verify", "--database", url, ...args], {
    env,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
}

const changedAfter =
  "changed after it was submitted \\(no longer what its request\\.created event recorded\\)";

for (const d of await dialects()) {
  describe(`${d.dialect}: what a request was submitted with is inside the chain`, { skip: d.skip }, () => {
    let database: TestDatabase;
    let t: TestServer;

    before(async () => {
      database = await d.create();
      t = await startTestServer({
        config: `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"] },
  targets: { sandbox: { type: "custom", label: "Sandbox" } },
  flows: [{
    name: "sandbox",
    targets: ["sandbox"],
    durations: ["1h", "8h"],
    fields: [{ name: "reason", type: "text" }],
    extensions: { max: 3, approvalAbove: "1h" },
    approvers: { users: ["bob@example.com"] },
    implementation: "./flows/sandbox.ts",
  }],
});
`,
        files: {
          "flows/sandbox.ts": "export async function escalate() {}\nexport async function deescalate() {}\n",
        },
        database,
        background: false,
      });
    });
    after(async () => {
      await t?.close();
      await database?.drop();
    });

    test("GET /api/v1/audit/verify?expectHead=: the head passes, a hash not in the chain fails, a malformed one is 400", async () => {
      const admin = t.as("admin@example.com");
      await t
        .as("alice@example.com")
        .post("/api/v1/requests", { flow: "sandbox", fields: { reason: "look" } });
      const plain = await admin.get("/api/v1/audit/verify");
      assert.equal(plain.status, 200, JSON.stringify(plain.body));
      assert.equal(plain.body.ok, true, JSON.stringify(plain.body.problems));
      const head = plain.body.head as { seq: number; hash: string };
      assert.deepEqual(plain.body.requests, { covered: 1, notCovered: 0 });
      const anchored = await admin.get(`/api/v1/audit/verify?expectHead=${head.hash}`);
      assert.deepEqual(
        [anchored.body.ok, anchored.body.expectedHead],
        [true, { hash: head.hash, seq: head.seq }],
      );
      const elsewhere = "ab".repeat(32);
      const unknown = await admin.get(`/api/v1/audit/verify?expectHead=${elsewhere}`);
      assert.equal(unknown.body.ok, false);
      assert.deepEqual(unknown.body.problems, [
        {
          seq: 0,
          problem: `the expected head ${elsewhere} is not in the chain (events were deleted or rewritten since it was published)`,
        },
      ]);
      const malformed = await admin.get("/api/v1/audit/verify?expectHead=abc");
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.error.code, "VALIDATION_FAILED");
    });

    test("fields and justification, and an extension's duration, rewritten in the database: named, never shown", async () => {
      const alice = t.as("alice@example.com");
      const bob = t.as("bob@example.com");
      const admin = t.as("admin@example.com");
      const asked = await alice.post("/api/v1/requests", {
        flow: "sandbox",
        duration: "1h",
        fields: { reason: "rotate the signing key" },
        context: { justification: "INC-4242 sev1" },
      });
      assert.equal(asked.status, 201, JSON.stringify(asked.body));
      const id = asked.body.id as string;
      await bob.post(`/api/v1/requests/${id}/approve`, {});
      await t.server.scheduler.runOnce();
      // An extension above approvalAbove is a request of its own, waiting for bob: its duration is what
      // the grant would be extended by once he approves.
      const extension = await alice.post(`/api/v1/requests/${id}/extend`, { duration: "2h" });
      assert.equal(extension.status, 202, JSON.stringify(extension.body));
      const extensionId = extension.body.id as string;
      const clean = await verify(database.url);
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);
      assert.match(clean.stdout, /^ok: \d+ event\(s\), chain intact\n$/);

      const { db } = t.server.deps.store;
      await sql`update requests set fields = ${JSON.stringify({ reason: "routine check" })},
        context = ${JSON.stringify({ justification: "nothing to see" })} where id = ${id}`.execute(db);
      await sql`update requests set duration = ${8 * 3600} where id = ${extensionId}`.execute(db);
      const found = await verify(database.url);
      assert.equal(found.code, 1, found.stderr);
      assert.match(
        found.stdout,
        new RegExp(
          `^seq \\d+: request ${id}: context, fields ${changedAfter}\\n` +
            `seq \\d+: request ${extensionId}: duration ${changedAfter}\\n` +
            "FAILED: 2 problem\\(s\\) in \\d+ event\\(s\\)\\n$",
        ),
      );
      const api = await admin.get("/api/v1/audit/verify");
      assert.equal(api.body.ok, false);
      assert.deepEqual(
        api.body.problems.map((p: { requestId: string }) => p.requestId),
        [id, extensionId],
      );
      for (const shown of [found.stdout, found.stderr, JSON.stringify(api.body)]) {
        assert.doesNotMatch(shown, /rotate the signing key|INC-4242|routine check|nothing to see/);
      }
    });
  });
}

describe("the audit head, published every audit.publishInterval", () => {
  const clock = new FakeClock(Date.now());
  const lines: Record<string, unknown>[] = [];
  let receiver: WebhookReceiver;
  let database: TestDatabase;
  let dir: string;
  let server: RunningServer;

  before(async () => {
    receiver = await startWebhookReceiver("anchor-secret");
    database = await createSqliteDatabase();
    process.env.ANCHOR_SECRET = "anchor-secret";
    dir = writeTree({
      "jitflow.config.ts": `${importJitflow}
export default defineConfig({
  audit: { publishInterval: "10m" },
  // /metrics on a port of its own (any free one), where it needs no token.
  server: { metricsPort: 0, metricsHost: "127.0.0.1" },
  notify: {
    webhooks: [
      { url: "${receiver.url}", secret: env("ANCHOR_SECRET"), events: ["audit.head"] },
      { url: "${receiver.url}/everything", secret: env("ANCHOR_SECRET") },
    ],
  },
  flows: [{ name: "signoff", fields: [{ name: "reason", type: "text" }], approvers: { users: ["bob@example.com"] } }],
});
`,
    });
    server = await startServer({
      config: join(dir, "jitflow.config.ts"),
      databaseUrl: database.url,
      port: 0,
      logger: pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) }),
      clock,
      background: false,
    });
  });
  after(async () => {
    await server?.close();
    await receiver?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const published = () => lines.filter((l) => l.msg === "audit head").map(({ seq, hash }) => ({ seq, hash }));
  const gauge = async () =>
    [
      ...(await (await fetch(server.metricsUrl as string)).text()).matchAll(
        /^jitflow_audit_head\{hash="(\w+)"\} (\d+)$/gm,
      ),
    ].map((m) => ({ hash: m[1], seq: Number(m[2]) }));
  const heads = () => receiver.calls.filter((c) => (c as { type?: string }).type === "audit.head");

  test("at start and after each interval: a log line and the gauge; a signed audit.head webhook once per head", async () => {
    await server.auditHead.runOnce();
    assert.deepEqual(published(), [{ seq: 0, hash: genesisHash }]);
    assert.deepEqual(await gauge(), [{ seq: 0, hash: genesisHash }]);
    await server.outbox.runOnce();
    assert.deepEqual(
      heads().map((c) => [c.path, (c as unknown as { data: unknown }).data]),
      [["/hook", { seq: 0, hash: genesisHash }]],
    );

    const { token } = await createToken(
      server.deps.store.db,
      { user: "alice@example.com", role: "member", name: "test", expiresAt: null },
      Date.now(),
    );
    const asked = await client(server.url, token).post("/api/v1/requests", {
      flow: "signoff",
      fields: { reason: "go" },
    });
    assert.equal(asked.status, 201, JSON.stringify(asked.body));
    clock.advance(9 * 60_000);
    await server.auditHead.runOnce();
    assert.equal(published().length, 1, "not again within the interval");

    clock.advance(60_000);
    await server.auditHead.runOnce();
    const head = await readHead(server.deps.store.db);
    assert.ok(head && head.seq > 0);
    assert.deepEqual(published(), [{ seq: 0, hash: genesisHash }, head]);
    assert.deepEqual(await gauge(), [head], "only the current head is exposed");
    await server.outbox.runOnce();
    assert.deepEqual(
      heads().map((c) => (c as unknown as { data: unknown }).data),
      [{ seq: 0, hash: genesisHash }, head],
    );
    assert.ok(
      heads().every((c) => c.path === "/hook"),
      "a hook without events gets audit events, not audit.head",
    );
    assert.ok(receiver.calls.some((c) => c.path === "/hook/everything"));
    assert.equal(receiver.rejected, 0, "every call was signed");

    // The same head at the next interval: logged again (a heartbeat too), not sent again.
    clock.advance(10 * 60_000);
    await server.auditHead.runOnce();
    await server.outbox.runOnce();
    assert.deepEqual(published().at(-1), head);
    assert.equal(published().length, 3);
    assert.equal(heads().length, 2);

    // What is published is what `jitflow audit verify --expect-head` takes.
    const checked = await verify(database.url, "--expect-head", head.hash);
    assert.equal(checked.code, 0, checked.stdout + checked.stderr);
    assert.match(
      checked.stdout,
      new RegExp(`^expected head: in the chain at seq ${head.seq}, 0 event\\(s\\) after it$`, "m"),
    );
  });

  test("publishInterval 0 publishes nothing", async () => {
    const before = lines.length;
    const { config } = server.deps;
    const off = createAuditHeadPublisher({
      ...server.deps,
      config: { ...config, config: { ...config.config, audit: { publishInterval: 0 } } },
    });
    off.start();
    await off.runOnce();
    await off.stop();
    assert.equal(lines.length, before);
  });
});
