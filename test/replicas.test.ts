// Two server processes on one PostgreSQL database expire grants together: each is taken away exactly once.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createPostgresDatabase, postgresSkipReason, type TestDatabase } from "./support/databases.ts";
import { type Client, client, eventually, importJitflow, writeTree } from "./support/harness.ts";
import {
  createTokenWithCli,
  runCli,
  type ServerProcess,
  startServerProcess,
} from "./support/server-process.ts";
import { type ReceivedCall, startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

const secret = "replicas-hook-secret";

// Each replica calls the receiver on its own path (/hook/a, /hook/b) so the test can see who did what.
const config = (scheduler: string) => `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  targets: {
    gate: {
      type: "webhook",
      label: "Gate",
      url: process.env.TEST_HOOK_URL!,
      secret: env("TEST_HOOK_SECRET"),
      timeoutMs: 120000,
    },
  },
  flows: [{ name: "brief", targets: ["gate"], durations: ["5s"], implementation: "./flows/brief.ts" }],
  ${scheduler}
});
`;

const flowModule = `import { approve } from "jitflow";
export async function onRequest() {
  return approve({ reason: "automatic" });
}
`;

interface Cluster {
  hook: WebhookReceiver;
  replicas: ServerProcess[];
  apis: Client[];
}

/** Every request, through the API's cursor-paginated list. */
async function listAll(api: Client): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: any } = await api.get(
      `/api/v1/requests?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return items;
}

/**
 * Submits `total` auto-approved requests (one person each) through both replicas, with the target
 * holding every escalation until all are in: the grants then go live in a few large batches and so
 * expire at nearly the same instant, when both replicas race for them. Returns the ids.
 */
async function submitClustered({ hook, apis }: Cluster, total: number): Promise<string[]> {
  hook.hold("escalate");
  const ids: string[] = [];
  let next = 0;
  async function worker(): Promise<void> {
    while (next < total) {
      const i = next++;
      const res = await (apis[i % apis.length] as Client).post("/api/v1/requests", {
        flow: "brief",
        requester: `user${i}@example.com`,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids[i] = res.body.id;
    }
  }
  await Promise.all(Array.from({ length: Math.min(16, total) }, worker));
  hook.hold();
  hook.release();
  return ids;
}

/** Waits until every request has ended, then stops both replicas, so no call can arrive after. */
async function waitAllEnded({ replicas, apis }: Cluster, total: number, timeoutMs: number): Promise<any[]> {
  const all = await eventually(
    async () => {
      const list = await listAll(apis[0] as Client);
      return list.length === total && list.every((r) => r.state === "ended") ? list : undefined;
    },
    `all ${total} requests to end`,
    timeoutMs,
  ).catch(async (err: Error) => {
    const left = (await listAll(apis[0] as Client)).filter((r) => r.state !== "ended").length;
    const logs = replicas.map((r) => r.output().split("\n").slice(-30).join("\n"));
    throw new Error(`${err.message} (${left} not ended)\n${logs.join("\n")}`);
  });
  // A graceful stop waits for each replica's batches in progress.
  for (const replica of replicas) assert.equal(await replica.stop(), 0, replica.output());
  return all;
}

/** Each request: escalated before it was deescalated, deescalated exactly once; the target holds nothing. */
function assertEachDeescalatedOnce(hook: WebhookReceiver, ids: string[]): void {
  const byId = new Map<string, ReceivedCall["action"][]>();
  for (const call of hook.calls) byId.set(call.requestId, [...(byId.get(call.requestId) ?? []), call.action]);
  assert.equal(byId.size, ids.length, "calls for exactly the requests submitted");
  const wrong: string[] = [];
  for (const id of ids) {
    const actions = byId.get(id) ?? [];
    const deescalates = actions.filter((a) => a === "deescalate").length;
    const order =
      actions.indexOf("escalate") >= 0 && actions.lastIndexOf("escalate") < actions.indexOf("deescalate");
    if (deescalates !== 1 || !order) wrong.push(`${id}: ${actions.join(",")}`);
  }
  assert.equal(
    wrong.length,
    0,
    `${wrong.length} requests not escalated then deescalated exactly once, e.g.\n${wrong.slice(0, 5).join("\n")}`,
  );
  assert.deepEqual([...hook.grants], [], "the target still holds grants");
}

const skip = await postgresSkipReason();

describe("two replicas on PostgreSQL", { skip }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** A fresh database, migrated once, and two replicas serving it with this scheduler config. */
  async function startCluster(scheduler = ""): Promise<Cluster> {
    const hook = await startWebhookReceiver(secret);
    cleanups.push(() => hook.close());
    const db: TestDatabase = await createPostgresDatabase();
    cleanups.push(() => db.drop());
    const dir = writeTree({ "jitflow.config.ts": config(scheduler), "flows/brief.ts": flowModule });
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));

    const migrated = await runCli(["migrate", "--database", db.url]);
    assert.equal(migrated.code, 0, migrated.stderr);
    const token = await createTokenWithCli(db.url, "admin@example.com", "admin");
    const replicas: ServerProcess[] = [];
    cleanups.push(async () => {
      for (const replica of replicas) await replica.kill();
    });
    for (const path of ["a", "b"]) {
      const env = {
        JITFLOW_DATABASE_URL: db.url,
        TEST_HOOK_URL: `${hook.url}/${path}`,
        TEST_HOOK_SECRET: secret,
      };
      replicas.push(await startServerProcess({ config: join(dir, "jitflow.config.ts"), env }));
    }
    return { hook, replicas, apis: replicas.map((r) => client(r.url, token)) };
  }

  test("1,000 grants expiring together are each deescalated exactly once", {
    timeout: 180_000,
  }, async (t) => {
    const cluster = await startCluster();
    const started = Date.now();
    const ids = await submitClustered(cluster, 1000);
    const submittedMs = Date.now() - started;
    const all = await waitAllEnded(cluster, 1000, 120_000);
    assertEachDeescalatedOnce(cluster.hook, ids);

    const deescalations = cluster.hook.calls.filter((c) => c.action === "deescalate");
    const byReplica = (path: string) => deescalations.filter((c) => c.path === `/hook/${path}`).length;
    const expiries = new Map<string, number>();
    for (const r of all) expiries.set(r.expiresAt, (expiries.get(r.expiresAt) ?? 0) + 1);
    t.diagnostic(
      `submitted in ${submittedMs} ms; grants expired at ${expiries.size} instants, ` +
        `up to ${Math.max(...expiries.values())} at once; deescalated by replica a: ${byReplica("a")}, b: ${byReplica("b")}`,
    );
  });

  test("a batch of slow target calls that outlasts its lease is neither taken over nor redone", {
    timeout: 180_000,
  }, async () => {
    // One call at a time, each answered after 600 ms: a batch of 24 takes about 14 s, more than two
    // 6-second leases, though every single call is well inside targetTimeoutMs. (With 3-second
    // leases, renewed every second, a CI machine busy enough to delay a renewal by 2 s lost them.)
    const cluster = await startCluster(
      "scheduler: { leaseMs: 6000, targetTimeoutMs: 5000, concurrency: 1, sweepIntervalMs: 200 },",
    );
    cluster.hook.answerAfter(600);
    const ids = await submitClustered(cluster, 24);
    await waitAllEnded(cluster, 24, 90_000);
    assertEachDeescalatedOnce(cluster.hook, ids);
    const escalatedTwice = ids.filter(
      (id) => cluster.hook.calls.filter((c) => c.requestId === id && c.action === "escalate").length !== 1,
    );
    assert.deepEqual(escalatedTwice, [], "escalations made more than once");
  });
});
