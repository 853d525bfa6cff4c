// Shared set-up for the benchmarks: a jitflow runtime (engine, scheduler, outbox) on a temp SQLite file.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { submit } from "../src/engine/commands/submit.ts";
import type { EngineDeps } from "../src/engine/deps.ts";
import { loadConfig } from "../src/engine/load-config.ts";
import type { Scheduler } from "../src/engine/scheduler/loop.ts";
import type { OutboxWorker } from "../src/notify/outbox-worker.ts";
import { createRuntime } from "../src/server.ts";
import { migrate, openStore } from "../src/store/database.ts";
import { type BenchProbe, probe } from "./fixture/flow.ts";

export const configFile = new URL("./fixture/jitflow.config.ts", import.meta.url).pathname;

export interface BenchRuntime {
  dir: string;
  dbFile: string;
  deps: EngineDeps;
  scheduler: Scheduler;
  outbox: OutboxWorker;
  probe: BenchProbe;
  close(): Promise<void>;
}

const made = new Set<string>();
let cleanupInstalled = false;

/** A fresh temp directory, removed when this process exits (also on Ctrl-C or SIGTERM). */
export function tempDir(prefix = "jitflow-bench-"): string {
  if (!cleanupInstalled) {
    cleanupInstalled = true;
    process.once("exit", () => {
      for (const dir of made) rmSync(dir, { recursive: true, force: true });
    });
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/**
 * Opens a database (a fresh one in a temp dir unless `dir` is given) and starts the scheduler and
 * outbox worker, as `jitflow serve` does. close() removes the directory only if it made it.
 */
export async function startRuntime(options: { dir?: string } = {}): Promise<BenchRuntime> {
  const dir = options.dir ?? tempDir();
  const dbFile = join(dir, "jitflow.db");
  const config = await loadConfig(configFile);
  const store = openStore(`sqlite:${dbFile}`);
  await migrate(store);
  const { deps, scheduler, outbox } = createRuntime(store, config, pino({ level: "silent" }));
  scheduler.start();
  outbox.start();
  return {
    dir,
    dbFile,
    deps,
    scheduler,
    outbox,
    probe: probe(),
    async close() {
      await scheduler.stop();
      await outbox.stop();
      await store.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Submits `count` requests through the engine with `concurrency` in flight, each by a different
 * requester (user<i>@example.com, i from `first`, so no two overlap), with the duration `durationOf(i)`
 * gives in seconds.
 */
export async function submitMany(
  rt: BenchRuntime,
  count: number,
  concurrency: number,
  durationOf: (i: number) => number,
  options: { first?: number; onSubmitted?: (id: string, i: number) => void } = {},
): Promise<void> {
  const first = options.first ?? 0;
  let next = first;
  async function worker(): Promise<void> {
    while (next < first + count) {
      const i = next++;
      // Requests arrive as separate events, as HTTP requests would: let timers (scheduler, outbox) run.
      await new Promise((resolve) => setImmediate(resolve));
      const email = `user${i}@example.com`;
      const { request } = await submit(rt.deps, {
        actor: { email, name: `user${i}`, role: "member" },
        flow: "bench",
        duration: durationOf(i),
        source: "api",
      });
      options.onSubmitted?.(request.id, i);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export async function countInState(rt: BenchRuntime, state: string): Promise<number> {
  const row = await rt.deps.store.db
    .selectFrom("requests")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("state", "=", state as "active")
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Polls until `count` requests are active (or throws after the deadline); returns the instant seen. */
export async function waitForActive(
  rt: BenchRuntime,
  count: number,
  timeoutMs = 120_000,
  pollMs = 20,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await countInState(rt, "active");
    if (n >= count) return performance.now();
    if (Date.now() > deadline) throw new Error(`only ${n} of ${count} requests became active in time`);
    await sleep(pollMs);
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/** A scenario's result: one JSON line on stdout, read by bench/run.ts. */
export function report(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ result })}\n`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface MemorySample {
  rssMB: number;
  heapUsedMB: number;
  externalMB: number;
  /** Peak resident set size of this process so far. */
  maxRssMB: number;
}

export function memory(): MemorySample {
  const m = process.memoryUsage();
  const mb = (bytes: number) => bytes / 1024 / 1024;
  return {
    rssMB: mb(m.rss),
    heapUsedMB: mb(m.heapUsed),
    externalMB: mb(m.external),
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
}
