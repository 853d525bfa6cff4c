// Memory under repeated load: `jitflow serve` in its own process with Slack on (the fake Web API of
// test/support/fake-slack.ts, in this process), BURSTS bursts each of SIZE POST /api/v1/requests (a bot acting for
// a different requester each time; auto-approved, escalated, three Slack DMs each) and SIZE signed Slack option
// loads (block_suggestion, each a new search returning 100 options), CONCURRENCY in flight. After each burst,
// once every request is active and the outbox has nothing due, it reads the server's RSS and heap (and the heap
// after V8's latest full collection); after the last, it waits for the server to rest (V8 gives memory back)
// and reads them again. Usage:
//   soak.ts [BURSTS] [SIZE] [CONCURRENCY]      (NODE_OPTIONS reaches the server too)

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { DatabaseSync } from "node:sqlite";
import { FakeSlack } from "../../test/support/fake-slack.ts";
import { cliPath, createTokenWithCli } from "../../test/support/server-process.ts";
import { blockSuggestion, sendToSlackEndpoint } from "../../test/support/slack-payloads.ts";
import type { MemoryFigures } from "../memory-probe.ts";
import { configFile, report, sleep, tempDir } from "../support.ts";

const bursts = Number(process.argv[2] ?? 12);
const size = Number(process.argv[3] ?? 400);
const concurrency = Number(process.argv[4] ?? 50);
const typists = 50;
const secret = "bench-signing-secret";

interface SoakSample {
  rssMB: number;
  /** Garbage included: as the heap is when sampled. */
  heapUsedMB: number;
  heapTotalMB: number;
  youngMB: number;
  /** The heap in use after V8's latest full collection (null before the first): what the server holds on to. */
  liveHeapMB: number | null;
  fullGCs: number;
}

const slack = await FakeSlack.start({
  users: [
    ...Array.from({ length: bursts * size }, (_, i) => ({
      id: `U0REQ${String(i).padStart(6, "0")}`,
      email: `user${i}@example.com`,
      name: `user${i}`,
    })),
    ...Array.from({ length: typists }, (_, i) => ({
      id: `U0TYPE${i}`,
      email: `typist${i}@example.com`,
      name: `typist${i}`,
    })),
  ],
});
const dir = tempDir();
const dbFile = join(dir, "jitflow.db");
const databaseUrl = `sqlite:${dbFile}`;
const probe = new URL("../memory-probe.ts", import.meta.url).pathname;
const server: ChildProcess = spawn(
  process.execPath,
  ["--import", probe, cliPath, "serve", "--config", configFile, "--port", "0", "--host", "127.0.0.1"],
  {
    env: {
      ...process.env,
      JITFLOW_DATABASE_URL: databaseUrl,
      LOG_LEVEL: process.env.BENCH_LOG ?? "info",
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: slack.apiUrl,
    },
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  },
);
const exited = once(server, "exit");

// Every log line is read, as a log shipper would: a full pipe would stall the server.
const url = await new Promise<string>((resolve, reject) => {
  createInterface({ input: server.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    if (line.includes('"jitflow is serving"')) resolve((JSON.parse(line) as { url: string }).url);
  });
  void exited.then(() => reject(new Error("the server exited before serving")));
});

function sample(): Promise<SoakSample> {
  return new Promise((resolve, reject) => {
    const gone = () => reject(new Error("the server exited"));
    server.once("exit", gone);
    server.once("message", (m: MemoryFigures) => {
      server.off("exit", gone);
      const mb = (bytes: number) => bytes / 1024 / 1024;
      resolve({
        rssMB: mb(m.rss),
        heapUsedMB: mb(m.heapUsed),
        heapTotalMB: mb(m.heapTotal),
        youngMB: mb(m.young),
        liveHeapMB: m.liveHeap === undefined ? null : mb(m.liveHeap),
        fullGCs: m.fullGCs,
      });
    });
    server.send("memory");
  });
}

const token = await createTokenWithCli(databaseUrl, "bench-bot@example.com", "bot");
const readonly = new DatabaseSync(dbFile, { readOnly: true });
const activeCount = readonly.prepare("select count(*) as n from requests where state = 'active'");
const dueCount = readonly.prepare(
  "select count(*) as n from outbox where delivered_at is null and due_at <= ?",
);
const count = (statement: typeof activeCount, ...params: number[]) =>
  Number((statement.get(...params) as { n: number }).n);

async function submit(i: number): Promise<void> {
  const res = await fetch(`${url}/api/v1/requests`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ flow: "bench", duration: 86_400, requester: `user${i}@example.com` }),
  });
  const body = await res.text();
  if (res.status !== 201) throw new Error(`POST /api/v1/requests: ${res.status} ${body}`);
}

/** One keystroke in the searched field of an open request form: a query no one typed before. */
async function search(i: number): Promise<void> {
  const res = await sendToSlackEndpoint(
    url,
    blockSuggestion({
      user: { id: `U0TYPE${i % typists}` },
      actionId: "v",
      blockId: "f:role",
      value: `q${i}`,
      view: {
        id: "V0SOAK",
        callbackId: "jf_request",
        privateMetadata: JSON.stringify({ flow: "bench_pick" }),
      },
    }),
    { secret },
  );
  const options = (res.body as { options?: unknown[] }).options;
  if (res.status !== 200 || options?.length !== 100) {
    throw new Error(`option load: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
  }
}

/** Until all `n` requests are active and nothing is due in the outbox: the server has nothing left to do. */
async function settle(n: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (count(activeCount) < n || count(dueCount, Date.now()) > 0) {
    if (Date.now() > deadline) throw new Error(`only ${count(activeCount)} of ${n} requests became active`);
    await sleep(50);
  }
}

try {
  const idle = await sample();
  const after: (SoakSample & { ms: number })[] = [];
  for (let b = 0; b < bursts; b++) {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < 2 * size) {
          const j = next++;
          const i = b * size + Math.floor(j / 2);
          await (j % 2 === 0 ? submit(i) : search(i));
        }
      }),
    );
    await settle((b + 1) * size);
    after.push({ ...(await sample()), ms: performance.now() - started });
    if (process.env.BENCH_VERBOSE) {
      const s = after.at(-1) as SoakSample;
      process.stderr.write(
        `burst ${b + 1}: RSS ${s.rssMB.toFixed(0)} MB, heap ${s.heapUsedMB.toFixed(0)} MB, after full GC ${s.liveHeapMB?.toFixed(0)} MB (${s.fullGCs})\n`,
      );
    }
  }
  // V8 gives memory back once the process idles: its memory reducer runs full collections a few seconds
  // apart and shrinks the young generation to its least (1–2 MB; a busy process never has it that small).
  // Rested: the young generation is that small and RSS has held for 2 s.
  const restStarted = performance.now();
  const resting = [await sample()];
  const rested = () => resting.at(-1) as SoakSample;
  const hasRested = () => {
    const before = resting.at(-5);
    return rested().youngMB < 8 && before !== undefined && Math.abs(rested().rssMB - before.rssMB) < 2;
  };
  while (!hasRested() && performance.now() - restStarted < 45_000) {
    await sleep(500);
    resting.push(await sample());
  }
  const restedAfterMs = performance.now() - restStarted;
  report({
    bursts,
    size,
    concurrency,
    idle,
    after,
    rested: rested(),
    restedAfterMs,
    slackCalls: slack.calls().length,
  });
} finally {
  readonly.close();
  server.kill("SIGTERM");
  await exited;
  await slack.close();
}
