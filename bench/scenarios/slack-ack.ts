// Time for jitflow to acknowledge Slack: N signed `block_actions` Approve clicks to POST /slack/events with
// CONCURRENCY in flight, each timed from send to response (Slack gives up at 3,000 ms); then the time
// until every click has been carried out (the request `approved`: the flow is approval-only, no target).
//
// Two processes, as in http-throughput.ts: this file run as `slack-ack.ts server DIR` is a jitflow server
// (startServer, Slack on) and nothing else; run as `slack-ack.ts [N] [CONCURRENCY]` it starts that server,
// plays Slack (the fake Web API of test/support/fake-slack.ts and the signed clicks) and reads the
// database (read-only). In one process, the fake Slack and the load would share the server's event loop
// and the acks would time the benchmark as much as jitflow. BENCH_LOG=warn prints the server's log.

import { spawn } from "node:child_process";
import { subscribe } from "node:diagnostics_channel";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { DatabaseSync } from "node:sqlite";
import { pino } from "pino";
import { startServer } from "../../src/server.ts";
import { createToken } from "../../src/store/tokens.ts";
import { FakeSlack, type FakeSlackUser } from "../../test/support/fake-slack.ts";
import { blockActions, sendToSlackEndpoint } from "../../test/support/slack-payloads.ts";
import { percentile, report, sleep, tempDir } from "../support.ts";

const secret = "bench-signing-secret";
const slackLimitMs = 3000;
const warmup = 100;

const config = `import { defineConfig } from "jitflow";
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  flows: [
    {
      name: "bench",
      label: "Benchmark",
      approvers: { users: ["approver@example.com"], channel: "#bench" },
    },
  ],
});
`;

/** The server process: serves DIR's config and database until stdin closes. */
async function serve(dir: string): Promise<void> {
  const server = await startServer({
    config: join(dir, "jitflow.config.ts"),
    databaseUrl: `sqlite:${join(dir, "jitflow.db")}`,
    port: 0,
    host: "127.0.0.1",
    // On stderr: stdout carries the handshake line.
    logger: pino({ level: process.env.BENCH_LOG ?? "silent" }, pino.destination(2)),
  });
  const { token } = await createToken(
    server.deps.store.db,
    { user: "bench-bot@example.com", role: "bot", name: "bench", expiresAt: null },
    Date.now(),
  );
  process.stdout.write(`${JSON.stringify({ url: server.url, token })}\n`);
  process.stdin.resume();
  process.stdin.on("end", async () => {
    await server.close();
    process.exit(0);
  });
}

interface Posted {
  id: string;
  channel: string;
  ts: string;
}

interface Ack {
  ms: number;
  status: number;
}

/** Slack's side: the fake Web API, the requests, the clicks and the figures. */
async function play(count: number, concurrency: number): Promise<void> {
  const approver: FakeSlackUser = { id: "U0APPROVER", email: "approver@example.com", name: "Approver" };
  const requesters = Array.from({ length: warmup + count }, (_, i) => ({
    id: `U0REQ${String(i).padStart(5, "0")}`,
    email: `user${i}@example.com`,
    name: `user${i}`,
  }));
  const slack = await FakeSlack.start({ users: [approver, ...requesters] });
  const dir = tempDir();
  writeFileSync(join(dir, "jitflow.config.ts"), config);
  const server = spawn(process.execPath, [new URL(import.meta.url).pathname, "server", dir], {
    stdio: ["pipe", "pipe", "inherit"],
    env: {
      ...process.env,
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: slack.apiUrl,
    },
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: server.stdout }).once("line", resolve);
    server.once("exit", (code) => reject(new Error(`the server process exited (${code}) before serving`)));
  });
  const { url, token } = JSON.parse(line) as { url: string; token: string };
  const db = new DatabaseSync(join(dir, "jitflow.db"), { readOnly: true });
  const countOf = (sql: string) => Number((db.prepare(sql).get() as { n: number }).n);
  const approved = () => countOf("select count(*) as n from requests where state = 'approved'");
  const undelivered = () => countOf("select count(*) as n from outbox where delivered_at is null");
  // fetch's connections to the server: how many were opened, and how many are open now.
  let opened = 0;
  let open = 0;
  subscribe("undici:client:connected", (message) => {
    opened += 1;
    open += 1;
    (message as { socket: Socket }).socket.once("close", () => {
      open -= 1;
    });
  });

  /** Polls until check() is true (or throws after the deadline); returns the instant seen. */
  async function until(check: () => boolean, what: string): Promise<number> {
    const deadline = Date.now() + 120_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(10);
    }
    return performance.now();
  }

  /** Pending requests by requesters first…first+n−1, made over the API, their approval messages posted. */
  async function pendingRequests(first: number, n: number): Promise<Posted[]> {
    const ids: string[] = [];
    let next = first;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < first + n) {
          const i = next++;
          const res = await fetch(`${url}/api/v1/requests`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify({ flow: "bench", requester: `user${i}@example.com` }),
          });
          const body = (await res.json()) as { id: string };
          if (res.status !== 201)
            throw new Error(`POST /api/v1/requests: ${res.status} ${JSON.stringify(body)}`);
          ids.push(body.id);
        }
      }),
    );
    // The approver clicks a message that is there, as in Slack: the outbox has posted them all.
    await until(() => undelivered() === 0, "the approval messages");
    const posted = db
      .prepare("select request_id, channel, ts from slack_messages where destination = '#bench'")
      .all() as { request_id: string; channel: string; ts: string }[];
    const byId = new Map(posted.map((m) => [m.request_id, m]));
    return ids.map((id) => {
      const m = byId.get(id);
      if (!m) throw new Error(`no approval message for request ${id}`);
      return { id, channel: m.channel, ts: m.ts };
    });
  }

  /** Clicks Approve on each request's message, `concurrency` at a time, each acknowledgement timed. */
  async function clickAll(requests: Posted[]): Promise<Ack[]> {
    const acks: Ack[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < requests.length) {
          const r = requests[next++] as Posted;
          const body = blockActions({
            user: { id: approver.id },
            actionId: "jf_approve",
            value: r.id,
            message: { channel: r.channel, ts: r.ts, text: "Access request" },
          });
          // Each click is its own event, as a Slack request is: it also lets fetch take back the
          // connection the last answer came on, so `concurrency` clicks in flight use as many connections.
          await new Promise((resolve) => setImmediate(resolve));
          const started = performance.now();
          try {
            const res = await sendToSlackEndpoint(url, body, { secret });
            acks.push({ ms: res.ms, status: res.status });
          } catch {
            acks.push({ ms: performance.now() - started, status: 0 });
          }
        }
      }),
    );
    return acks;
  }

  try {
    // Warm-up on other requests, not counted: JIT, the approver's users.info, the server's Slack client.
    await clickAll(await pendingRequests(0, warmup));
    await until(() => approved() >= warmup, "the warm-up approvals");
    const requests = await pendingRequests(warmup, count);
    // The clicks arrive on new connections, as a burst from Slack would: the idle ones close first
    // (keep-alive timeouts: 5 s on the server, 4 s in fetch).
    await until(() => open === 0, "idle connections to close");
    const callsBefore = slack.calls().length;
    const openedBefore = opened;

    const started = performance.now();
    const acks = await clickAll(requests);
    const acked = performance.now();
    const connections = opened - openedBefore;
    const done = await until(() => approved() >= warmup + count, "every approval to be carried out");
    const told = await until(() => undelivered() === 0, "Slack to be told");

    const sorted = acks.map((a) => a.ms).sort((a, b) => a - b);
    const calls = slack.calls().slice(callsBefore);
    const p99 = percentile(sorted, 99);
    report({
      interactions: count,
      concurrency,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99,
      max: sorted.at(-1) ?? Number.NaN,
      slackLimitMs,
      p99OfLimit: p99 / slackLimitMs,
      overLimit: sorted.filter((ms) => ms >= slackLimitMs).length,
      non200: acks.filter((a) => a.status !== 200).length,
      ackMs: acked - started,
      acksPerSecond: (count / (acked - started)) * 1000,
      approvedMs: done - started,
      approved: approved() - warmup,
      toldMs: told - started,
      slackCalls: calls.length,
      slackErrors: calls.filter((c) => c.status !== 200 || c.response?.ok !== true).length,
      connections,
    });
  } finally {
    db.close();
    server.stdin.end();
    if (server.exitCode === null && server.signalCode === null) await once(server, "exit");
    await slack.close();
  }
}

if (process.argv[2] === "server") await serve(process.argv[3] as string);
else await play(Number(process.argv[2] ?? 1000), Number(process.argv[3] ?? 100));
