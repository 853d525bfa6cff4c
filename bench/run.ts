// `npm run bench`: jitflow's benchmarks on the embedded database (node:sqlite, WAL, synchronous=FULL).
// Each scenario runs in its own process (bench/scenarios/*.ts) and reports one JSON line; this prints the
// table. Benchmarks print; they do not assert.

import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { tempDir } from "./support.ts";

const scenarios = new URL("./scenarios/", import.meta.url).pathname;

/** Runs one scenario in a child process; resolves with its reported result. */
function run<T = any>(name: string, args: (string | number)[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${scenarios}${name}.ts`, ...args.map(String)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      const line = out
        .trim()
        .split("\n")
        .findLast((l) => l.startsWith('{"result"'));
      if (code !== 0 || !line) {
        reject(new Error(`scenario ${name} failed (exit ${code ?? signal}):\n${out}`));
      } else {
        resolve((JSON.parse(line) as { result: T }).result);
      }
    });
  });
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "n/a";
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const step = (what: string) => console.log(`… ${what}`);

const started = performance.now();
const loadBefore = load();
console.log(
  `jitflow benchmarks — node ${process.version}, ${availableParallelism()} CPUs, temp dir ${tmpdir()}`,
);
console.log(`load average at start: ${loadBefore} (other work on this machine skews every figure)`);
console.log("");

step("baseline: durable commits (node:sqlite, 1-row insert transactions, WAL, synchronous=FULL)");
const commitsA = await run("commit-baseline", [3000]);
step("submit → active through the engine: 5,000 requests, 32 in flight");
const engine = await run("throughput", [5000, 32]);
step("baseline again");
const commitsB = await run("commit-baseline", [3000]);
step("submit → active over HTTP: 3,000 requests, 32 concurrent clients");
const http = await run("http-throughput", [3000, 32]);
step("Slack: 1,000 signed interactions, 100 at a time");
const slack = await run("slack-ack", [1000, 100]);
step("baseline again");
const commitsC = await run("commit-baseline", [3000]);
const commits = (commitsA.perSecond + commitsB.perSecond + commitsC.perSecond) / 3;

step("expiry: 10,000 grants expiring within a few seconds (creating them first takes a while)");
const expiry = await run("expiry", [10_000, Math.min(engine.perSecond, 1000)]);

step("drift: a target holding 10,000 active grants compared with jitflow's, then 100 strangers reported");
const drift = await run("drift", [10_000]);

step("memory: 100,000 active grants, then a fresh process over them");
const memDir = tempDir();
let created: any;
let restarted: any;
try {
  created = await run("memory", ["create", memDir, 100_000, 2000]);
  restarted = await run("memory", ["restart", memDir, 100_000]);
} finally {
  rmSync(memDir, { recursive: true, force: true });
}
const idleRss: number = created.idle.rssMB;

step("soak: 12 bursts of 400 requests and 400 Slack option loads to `jitflow serve`, its memory after each");
const soak = await run("soak", [12, 400, 50]);
type SoakSample = { rssMB: number; heapUsedMB: number; liveHeapMB: number | null };
const soakAfter: SoakSample[] = soak.after;
const soakAt = (i: number) => soakAfter.at(i) as SoakSample;
const live = (s: SoakSample) => s.liveHeapMB ?? Number.NaN;
// Levelled off: the last four bursts add under a quarter of what the first four did (from the idle server),
// to the RSS and to what the heap holds after V8's full collections.
const soakRssFirst4 = soakAt(3).rssMB - soak.idle.rssMB;
const soakRssLast4 = soakAt(-1).rssMB - soakAt(-5).rssMB;
const soakLiveFirst4 = live(soakAt(3)) - live(soak.idle);
const soakLiveLast4 = live(soakAt(-1)) - live(soakAt(-5));
const soakLevelled = soakRssLast4 < 0.25 * soakRssFirst4 && soakLiveLast4 < 0.25 * soakLiveFirst4;

step(
  "start: `jitflow serve` from the built package (npm pack, --omit=dev) and from the sources, 5 times each",
);
const startup = await run("startup", [5]);

type Row = [metric: string, value: string, aim: string, met: string, baseline: string, ratio: string];
const yes = (ok: boolean) => (ok ? "yes" : "NO");
const rows: Row[] = [
  [
    "Durable commits/s: node:sqlite 1-row insert txns, WAL, sync=FULL (baseline)",
    fmt(commits),
    "",
    "",
    `runs: ${[commitsA, commitsB, commitsC].map((c) => fmt(c.perSecond)).join(" / ")}`,
    "1.00",
  ],
  [
    "Submit → active, req/s: engine submit(), 32 in flight, 5,000 requests",
    fmt(engine.perSecond),
    "≥ 1,000",
    yes(engine.perSecond >= 1000),
    `${fmt(commits)} commits/s`,
    (engine.perSecond / commits).toFixed(2),
  ],
  [
    "Submit → active, req/s: HTTP POST /api/v1/requests, 32 clients, 3,000",
    fmt(http.perSecond),
    "≥ 1,000",
    yes(http.perSecond >= 1000),
    `${fmt(commits)} commits/s`,
    (http.perSecond / commits).toFixed(2),
  ],
  [
    `Slack ack p50 / p99 / max: ${fmt(slack.interactions)} signed Approve clicks, ${fmt(slack.concurrency)} in flight`,
    `${fmt(slack.p50)} / ${fmt(slack.p99)} / ${fmt(slack.max)} ms`,
    "p99 < 3,000 ms",
    yes(slack.p99 < slack.slackLimitMs),
    `Slack allows ${fmt(slack.slackLimitMs)} ms: p99 is ${fmt(slack.p99OfLimit * 100, 1)}%`,
    slack.p99OfLimit.toFixed(2),
  ],
  [
    "Slack acks not 200 / slower than 3,000 ms",
    `${fmt(slack.non200)} / ${fmt(slack.overLimit)}`,
    "0 / 0",
    yes(slack.non200 === 0 && slack.overLimit === 0),
    "",
    "",
  ],
  [
    "Slack acks/s (first click → last acknowledgement)",
    fmt(slack.acksPerSecond),
    "",
    "",
    `${fmt(commits)} commits/s`,
    (slack.acksPerSecond / commits).toFixed(2),
  ],
  [
    `Slack clicks carried out: first click → all ${fmt(slack.interactions)} requests approved`,
    `${fmt(slack.approvedMs)} ms`,
    "",
    "",
    `acks done in ${fmt(slack.ackMs)} ms`,
    "",
  ],
  [
    `Expiry lateness p50: ${fmt(expiry.grants)} grants expiring over ${fmt(expiry.windowMs / 1000, 1)} s`,
    `${fmt(expiry.p50)} ms`,
    "",
    "",
    "",
    "",
  ],
  [
    "Expiry lateness p99 (deescalate() instant − expiresAt)",
    `${fmt(expiry.p99)} ms`,
    "< 1,000 ms",
    yes(expiry.p99 < 1000),
    "aim",
    (expiry.p99 / 1000).toFixed(2),
  ],
  [
    "Expiry processing rate, grants/s (first expiry → last deescalation)",
    fmt(expiry.perSecond),
    "",
    "",
    `${fmt(commits)} commits/s`,
    (expiry.perSecond / commits).toFixed(2),
  ],
  [
    `Drift check, ms: one target, ${fmt(drift.grants)} active grants, list() of the same (no differences)`,
    `${fmt(drift.compareMs, 1)} ms`,
    "",
    "",
    `plain read of the grants ${fmt(drift.plainReadMs, 1)} ms`,
    (drift.compareMs / drift.plainReadMs).toFixed(2),
  ],
  [
    `Drift reconciliation, ms: ${fmt(drift.strangers)} strangers found and reported (audit, findings), then again`,
    `${fmt(drift.reportMs, 1)} / ${fmt(drift.againMs, 1)} ms`,
    "",
    "",
    `plain read of the grants ${fmt(drift.plainReadMs, 1)} ms`,
    (drift.reportMs / drift.plainReadMs).toFixed(2),
  ],
  [
    "Peak RSS: process creating and holding 100,000 active grants",
    `${fmt(created.holding.maxRssMB)} MB`,
    "< 200 MB",
    yes(created.holding.maxRssMB < 200),
    `idle runtime ${fmt(idleRss)} MB`,
    (created.holding.maxRssMB / idleRss).toFixed(2),
  ],
  [
    "Peak RSS: fresh server process over 100,000 active grants",
    `${fmt(restarted.holding.maxRssMB)} MB`,
    "< 200 MB",
    yes(restarted.holding.maxRssMB < 200),
    `idle runtime ${fmt(idleRss)} MB`,
    (restarted.holding.maxRssMB / idleRss).toFixed(2),
  ],
  [
    `Soak RSS after burst 1 → ${soak.bursts}: each ${fmt(soak.size)} API requests + ${fmt(soak.size)} Slack option loads`,
    `${fmt(soakAt(0).rssMB)} → ${fmt(soakAt(-1).rssMB)} MB`,
    "",
    "",
    `idle server ${fmt(soak.idle.rssMB)} MB`,
    (soakAt(-1).rssMB / soak.idle.rssMB).toFixed(2),
  ],
  [
    "Soak RSS growth: last 4 bursts / first 4",
    `${fmt(soakRssLast4)} / ${fmt(soakRssFirst4)} MB`,
    "< 25%",
    yes(soakRssLast4 < 0.25 * soakRssFirst4),
    "growth over the first 4",
    (soakRssLast4 / soakRssFirst4).toFixed(2),
  ],
  [
    "Soak heap after V8's full GCs, growth: last 4 bursts / first 4",
    `${fmt(soakLiveLast4)} / ${fmt(soakLiveFirst4)} MB`,
    "< 25%",
    yes(soakLiveLast4 < 0.25 * soakLiveFirst4),
    "growth over the first 4",
    (soakLiveLast4 / soakLiveFirst4).toFixed(2),
  ],
  [
    "Soak RSS once the server idles after the last burst",
    `${fmt(soak.rested.rssMB)} MB`,
    "",
    "",
    `idle server ${fmt(soak.idle.rssMB)} MB`,
    (soak.rested.rssMB / soak.idle.rssMB).toFixed(2),
  ],
  [
    "Start, spawn → /readyz 200: `jitflow serve` from the built package (median of 5)",
    `${fmt(startup.package.readyMs)} ms`,
    "",
    "",
    `from the sources ${fmt(startup.source.readyMs)} ms`,
    (startup.package.readyMs / startup.source.readyMs).toFixed(2),
  ],
  [
    "Idle RSS of that server, a second after it is ready: built package",
    `${fmt(startup.package.idleRssMB)} MB`,
    "",
    "",
    `from the sources ${fmt(startup.source.idleRssMB)} MB`,
    (startup.package.idleRssMB / startup.source.idleRssMB).toFixed(2),
  ],
];

const header: Row = ["metric", "value", "aim", "met", "baseline (same run)", "ratio"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
const line = (r: Row) =>
  r
    .map((cell, i) => (i === 1 || i === 5 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
    .join(" | ");
console.log("");
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
for (const r of rows) console.log(line(r));
console.log("");
console.log("Notes:");
console.log(
  `- Submit → active: time from the first submit until every request is \`active\` (auto-approved by onRequest, ` +
    `escalated by the scheduler on a no-op custom target); after a 300-request warm-up. Engine: submit() in ` +
    `this process (${fmt(engine.submitPerSecond)} submits/s, ${fmt(engine.cpuMsPerRequest, 2)} ms of CPU per ` +
    `request including the scheduler's and outbox's share). HTTP: a server process (startServer) and a ` +
    `load-generating process sharing the CPUs (${fmt(http.submitPerSecond)} POSTs/s answered).`,
);
console.log(
  `- Slack: a server process (startServer, Slack on, an approval-only flow) and a process playing Slack: ` +
    `the fake Web API (test/support/fake-slack.ts) and ${fmt(slack.interactions)} signed block_actions ` +
    `Approve clicks on posted approval messages, ${fmt(slack.concurrency)} in flight over ` +
    `${fmt(slack.connections)} new connections, each timed from send to answer (p95 ${fmt(slack.p95)} ms); ` +
    `after a 100-click warm-up. An ack waits for two durable (group) commits: the replay guard, then ` +
    `the click written to the outbox; the outbox worker approves after it. Slack told (message updates, ` +
    `DMs) ${fmt(slack.toldMs)} ms after the first click: ${fmt(slack.slackCalls)} Web API calls, ` +
    `${fmt(slack.slackErrors)} failed.`,
);
console.log(
  `- Expiry: grants made active through submit() with durations chosen so expiresAt falls in one window ` +
    (expiry.activeBeforeFirstExpiryMs >= 0
      ? `(all active ${fmt(expiry.activeBeforeFirstExpiryMs / 1000, 1)} s before the first expiry); `
      : `(creation overran the window: the last became active ${fmt(-expiry.activeBeforeFirstExpiryMs / 1000, 1)} s after the first expiry); `) +
    `the scheduler's ` +
    `own timer and the system clock do the rest. ${fmt(expiry.deescalated)} of ${fmt(expiry.grants)} ` +
    `deescalated, ${fmt(expiry.ended)} ended; lateness min ${fmt(expiry.min)} ms, max ${fmt(expiry.max)} ms.`,
);
console.log(
  `- Memory: ${fmt(created.viaEngine)} grants through submit(), the rest copied in SQL from an engine-made ` +
    `grant (expiries 1–7 days out); scheduler sweeps and ${fmt(1000)} more submits while holding them. ` +
    `Creating process: idle RSS ${fmt(idleRss)} MB (heap ${fmt(created.idle.heapUsedMB)} MB), holding ` +
    `${fmt(created.active)} active: RSS ${fmt(created.holding.rssMB)} MB (heap ` +
    `${fmt(created.holding.heapUsedMB)} MB). Fresh process holding ${fmt(restarted.active)}: RSS ` +
    `${fmt(restarted.holding.rssMB)} MB (heap ${fmt(restarted.holding.heapUsedMB)} MB). RSS includes ` +
    `Node's TypeScript stripper (~17 MB), which the compiled npm package does not load.`,
);
console.log(
  `- Soak: \`jitflow serve\` (logging at info) with Slack on (the fake Web API), ${fmt(soak.bursts)} bursts of ` +
    `${fmt(soak.size)} POST /api/v1/requests (three Slack DMs each) and ${fmt(soak.size)} signed option loads ` +
    `(each a new search answered with 100 options), ${fmt(soak.concurrency)} in flight; sampled once every ` +
    `request is active and the outbox has nothing due. After each burst: RSS ` +
    `${soakAfter.map((a) => fmt(a.rssMB)).join(", ")} MB; heap after V8's latest full GC ` +
    `${soakAfter.map((a) => fmt(live(a))).join(", ")} MB (idle before: RSS ${fmt(soak.idle.rssMB)} MB, heap in ` +
    `use ${fmt(soak.idle.heapUsedMB)} MB). ${fmt(soak.restedAfterMs / 1000, 1)} s after the last burst V8 had ` +
    `shrunk its heap: RSS ${fmt(soak.rested.rssMB)} MB, heap ${fmt(soak.rested.heapUsedMB)} MB. ` +
    (soakLevelled
      ? "It levels off: the last 4 bursts add under a quarter of what the first 4 did, to RSS and heap. "
      : "It does NOT level off: the last 4 bursts add a quarter or more of what the first 4 did. ") +
    `Under load most of the RSS is V8's heap sized for the burst (a young generation of up to 128 MB, ` +
    `garbage in the old one), given back once the server idles: docs/operations.md#memory.`,
);
console.log(
  `- Start: the bench's config on a SQLite database migrated beforehand, timed from spawn to the first 200 ` +
    `from /readyz; runs alternate package and sources (package ${startup.package.readyMsRuns.join(", ")} ms; ` +
    `sources ${startup.source.readyMsRuns.join(", ")} ms). The package is \`npm pack\` of this checkout installed ` +
    `with --omit=dev: compiled JavaScript, no TypeScript stripper.`,
);
console.log(
  `- Ratios: throughput ÷ durable commits/s; p99 ÷ aim (Slack: ÷ its 3,000 ms); peak RSS ÷ idle runtime ` +
    `RSS (same config, no grants); soak RSS ÷ the same server's RSS before the first burst.`,
);
console.log(
  `- Load average at start ${loadBefore}, at end ${load()}; total ${fmt((performance.now() - started) / 1000)} s.`,
);
