// Requests/s from submit to `active` over HTTP: POST /api/v1/requests to a jitflow server running in its
// own process (bot token acting for a different requester each time), auto-approved, escalated by the
// server's scheduler. This process generates the load and counts active rows in the database (read-only).

import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { DatabaseSync } from "node:sqlite";
import { report, sleep } from "../support.ts";

const count = Number(process.argv[2] ?? 5000);
const concurrency = Number(process.argv[3] ?? 32);
const warmup = 300;

const server = spawn(process.execPath, [new URL("./http-server.ts", import.meta.url).pathname], {
  stdio: ["pipe", "pipe", "inherit"],
});
const [line] = (await once(createInterface({ input: server.stdout }), "line")) as [string];
const { url, token, dbFile } = JSON.parse(line) as { url: string; token: string; dbFile: string };
const readonly = new DatabaseSync(dbFile, { readOnly: true });
const activeCount = readonly.prepare("select count(*) as n from requests where state = 'active'");
const active = () => Number((activeCount.get() as { n: number }).n);

async function post(i: number): Promise<void> {
  const res = await fetch(`${url}/api/v1/requests`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ flow: "bench", duration: 86_400, requester: `user${i}@example.com` }),
  });
  const body = await res.text();
  if (res.status !== 201) throw new Error(`POST /api/v1/requests: ${res.status} ${body}`);
}

async function load(first: number, n: number): Promise<void> {
  let next = first;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < first + n) await post(next++);
    }),
  );
}

async function waitForActive(n: number): Promise<number> {
  const deadline = Date.now() + 120_000;
  while (active() < n) {
    if (Date.now() > deadline) throw new Error(`only ${active()} of ${n} requests became active in time`);
    await sleep(20);
  }
  return performance.now();
}

try {
  await load(0, warmup);
  await waitForActive(warmup);
  const started = performance.now();
  await load(warmup, count);
  const submitted = performance.now();
  const done = await waitForActive(warmup + count);
  const ms = done - started;
  report({
    requests: count,
    concurrency,
    ms,
    perSecond: (count / ms) * 1000,
    submitPerSecond: (count / (submitted - started)) * 1000,
    active: active(),
  });
} finally {
  readonly.close();
  server.stdin.end();
  await once(server, "exit");
}
