// Kill -9 the server while grants escalate and again while they expire: every grant must still end, none left behind.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, test } from "node:test";
import { createSqliteDatabase, type TestDatabase } from "./support/databases.ts";
import { type Client, client, eventually, importJitflow, writeTree } from "./support/harness.ts";
import {
  createTokenWithCli,
  runCli,
  type ServerProcess,
  startServerProcess,
} from "./support/server-process.ts";
import { type ReceivedCall, startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

const secret = "crash-hook-secret";

// Few concurrent target calls, so a crash cuts a batch off with some calls made and some not yet.
const config = `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  targets: {
    gate: { type: "webhook", label: "Gate", url: process.env.TEST_HOOK_URL!, secret: env("TEST_HOOK_SECRET") },
  },
  flows: [{ name: "brief", targets: ["gate"], durations: ["4s"], implementation: "./flows/brief.ts" }],
  scheduler: { sweepIntervalMs: 200, retryBaseMs: 100, retryMaxMs: 1000, concurrency: 8 },
});
`;

const flowModule = `import { approve } from "jitflow";
export async function onRequest() {
  return approve({ reason: "automatic" });
}
`;

/** Submits requests for user{from}…user{from+count-1}, a few at a time; returns their ids in that order. */
async function submitMany(api: Client, from: number, count: number): Promise<string[]> {
  const ids: string[] = [];
  let next = from;
  async function worker(): Promise<void> {
    while (next < from + count) {
      const i = next++;
      const res = await api.post("/api/v1/requests", {
        flow: "brief",
        duration: "4s",
        requester: `user${i}@example.com`,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids[i - from] = res.body.id;
    }
  }
  await Promise.all(Array.from({ length: 4 }, worker));
  return ids;
}

async function requests(api: Client, ids: string[]): Promise<any[]> {
  const out: any[] = [];
  for (const id of ids) {
    const res = await api.get(`/api/v1/requests/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    out.push(res.body);
  }
  return out;
}

describe("crash recovery (SQLite, server as a child process)", () => {
  let hook: WebhookReceiver;
  let db: TestDatabase;
  let dir: string;
  const servers: ServerProcess[] = [];

  before(async () => {
    hook = await startWebhookReceiver(secret);
    db = await createSqliteDatabase();
    dir = writeTree({ "jitflow.config.ts": config, "flows/brief.ts": flowModule });
  });
  after(async () => {
    for (const server of servers) await server.kill();
    await hook?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("kill -9 during escalation and during expiry: every grant ends, and the target holds none", {
    timeout: 240_000,
  }, async (t) => {
    const env = { JITFLOW_DATABASE_URL: db.url, TEST_HOOK_URL: hook.url, TEST_HOOK_SECRET: secret };
    const token = await createTokenWithCli(db.url, "admin@example.com", "admin");
    const start = async () => {
      const server = await startServerProcess({ config: join(dir, "jitflow.config.ts"), env });
      servers.push(server);
      return { server, api: client(server.url, token) };
    };

    // Server 1. Wave 1 goes live undisturbed, so the crashes also leave live grants for a later server.
    let { server, api } = await start();
    const wave1 = await submitMany(api, 0, 10);
    await eventually(
      async () => {
        const now = await requests(api, wave1);
        return now.every((r) => ["active", "deescalating", "ended"].includes(r.state)) || undefined;
      },
      "wave 1 to be granted",
      60_000,
    );

    // Wave 2: the target does the work but does not answer; kill -9 while those calls are open.
    hook.hold("escalate");
    const wave2 = await submitMany(api, 10, 30);
    await eventually(async () => hook.held.length > 0 || undefined, "escalate calls in flight", 60_000);
    const cutOffEscalations = hook.held.map((c) => c.requestId);
    await server.kill();
    const atCrash1 = stateCounts(db);
    hook.hold();
    hook.release();

    // Server 2 takes over; now kill -9 it while the target sits on deescalate calls.
    hook.hold("deescalate");
    ({ server, api } = await start());
    const ids = [...wave1, ...wave2];
    await eventually(async () => hook.held.length > 0 || undefined, "deescalate calls in flight", 60_000);
    // While those calls hang, let more grants come due, then answer them: the crash then cuts off the
    // later deescalations, some called and some not yet (unless no grant is left to expire).
    const overdue = await eventually(
      async () => {
        const live = (await requests(api, ids)).filter((r) => r.state === "active");
        const due = live.filter((r) => Date.parse(r.expiresAt) <= Date.now()).length;
        return due >= Math.min(5, live.length) ? due : undefined;
      },
      "more grants to come due",
      60_000,
    );
    if (overdue > 0) {
      hook.release();
      await eventually(async () => hook.held.length > 0 || undefined, "the next deescalate calls", 60_000);
    }
    const cutOffDeescalations = hook.held.map((c) => c.requestId);
    await server.kill();
    const atCrash2 = stateCounts(db);
    hook.hold();
    hook.release();

    // Server 3 must finish everything both dead servers left.
    ({ server, api } = await start());
    await eventually(
      async () => {
        const now = await requests(api, ids);
        return now.every((r) => r.state === "ended") || undefined;
      },
      "every request to end",
      120_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- server output ---\n${server.output()}`);
    });
    for (const id of ids) {
      const { body } = await api.get(`/api/v1/requests/${id}`);
      assert.equal(body.endedReason, "scheduled", `request ${id}`);
    }
    // A graceful stop waits for any scheduler pass in progress, so no call can arrive after the checks.
    assert.equal(await server.stop(), 0);

    t.diagnostic(
      `states at crash 1: ${atCrash1}; at crash 2: ${atCrash2}; calls cut off: ` +
        `${cutOffEscalations.length} escalate, ${cutOffDeescalations.length} deescalate; ` +
        `${hook.calls.length} calls in all`,
    );

    assert.equal(hook.rejected, 0, "every call was signed");
    assert.deepEqual([...hook.grants], [], "the target still holds grants no request will take away");
    const known = new Set(ids);
    for (const call of hook.calls) assert.ok(known.has(call.requestId), `call for unknown ${call.requestId}`);
    for (const id of ids) assertEscalatedThenDeescalated(hook.calls, id);
    // The calls cut off by a crash were not recorded, so the next server must make them again.
    for (const id of cutOffEscalations) {
      assert.ok(countOf(hook.calls, id, "escalate") >= 2, `cut-off escalation of ${id} was not redone`);
    }
    for (const id of cutOffDeescalations) {
      assert.ok(countOf(hook.calls, id, "deescalate") >= 2, `cut-off deescalation of ${id} was not redone`);
    }

    const verify = await runCli(["audit", "verify", "--database", db.url]);
    assert.equal(verify.code, 0, `${verify.stdout}${verify.stderr}`);
  });
});

function countOf(calls: ReceivedCall[], id: string, action: ReceivedCall["action"]): number {
  return calls.filter((c) => c.requestId === id && c.action === action).length;
}

/** The target saw an escalate first, and a deescalate after the last escalate. */
function assertEscalatedThenDeescalated(calls: ReceivedCall[], id: string): void {
  const actions = calls.filter((c) => c.requestId === id).map((c) => c.action);
  assert.equal(actions[0], "escalate", `request ${id}: calls ${actions.join(",")}`);
  assert.ok(
    actions.lastIndexOf("deescalate") > actions.lastIndexOf("escalate"),
    `request ${id} was left granted: calls ${actions.join(",")}`,
  );
}

/** How many requests are in each state, read from the file while no server runs (for the test's log). */
function stateCounts(db: TestDatabase): string {
  const file = new DatabaseSync(db.url.slice("sqlite:".length), { readOnly: true });
  try {
    const rows = file
      .prepare("select state, count(*) as n from requests group by state order by state")
      .all();
    return rows.map((r) => `${r.n} ${r.state}`).join(", ");
  } finally {
    file.close();
  }
}
