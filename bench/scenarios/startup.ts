// Start time and idle memory of `jitflow serve`: from the built package (npm pack, installed with
// --omit=dev: compiled JavaScript) and from the sources (Node strips the TypeScript), RUNS times each,
// alternating. Each start is timed from spawn to the first 200 from /readyz, on a database migrated
// beforehand (so a start opens it, as a restart does); idle RSS is read a second after that. Usage:
//   startup.ts [RUNS]

import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { copyCheckout, pack } from "../../test/support/package.ts";
import { cliPath } from "../../test/support/server-process.ts";
import { configFile, report, sleep, tempDir } from "../support.ts";

const runs = Number(process.argv[2] ?? 5);
const exec = promisify(execFile);

// The package, as a user installs it.
const work = tempDir();
const checkout = copyCheckout();
const tarball = await pack(checkout, work);
const installed = join(work, "installed");
await exec("mkdir", [installed]);
writeFileSync(join(installed, "package.json"), '{ "private": true }\n');
await exec("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline", tarball], {
  cwd: installed,
  maxBuffer: 64 * 1024 * 1024,
});
await exec("rm", ["-rf", checkout]);
const packageCli = join(installed, "node_modules/jitflow/bin/jitflow.js");

interface Start {
  readyMs: number;
  idleRssMB: number;
}

/** One start of `jitflow serve` by `cli` on `databaseUrl`: spawn → /readyz 200, then idle RSS; then SIGTERM. */
async function start(cli: string, databaseUrl: string): Promise<Start> {
  const began = performance.now();
  const child = spawn(process.execPath, [cli, "serve", "--config", configFile, "--port", "0"], {
    env: { ...process.env, JITFLOW_DATABASE_URL: databaseUrl, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line.includes('"msg":"jitflow is serving"')) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once("exit", (code) => reject(new Error(`jitflow serve exited (${code}) before serving`)));
  });
  for (;;) {
    const res = await fetch(`${url}/readyz`).catch(() => undefined);
    if (res?.status === 200) break;
    await sleep(2);
  }
  const readyMs = performance.now() - began;
  await sleep(1000);
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const idleRssMB = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]) / 1024;
  child.kill("SIGTERM");
  await once(child, "exit");
  return { readyMs, idleRssMB };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

const variants = { package: packageCli, source: cliPath } as const;
const databases: Record<string, string> = {};
for (const [name, cli] of Object.entries(variants)) {
  databases[name] = `sqlite:${join(work, `${name}.db`)}`;
  await exec(process.execPath, [cli, "migrate", "--database", databases[name] as string]);
  await start(cli, databases[name] as string); // warm the file system cache
}
const results: Record<string, Start[]> = { package: [], source: [] };
for (let i = 0; i < runs; i++) {
  for (const [name, cli] of Object.entries(variants)) {
    results[name]?.push(await start(cli, databases[name] as string));
  }
}
const summary = (name: string) => ({
  readyMs: median((results[name] ?? []).map((r) => r.readyMs)),
  idleRssMB: median((results[name] ?? []).map((r) => r.idleRssMB)),
  readyMsRuns: (results[name] ?? []).map((r) => Math.round(r.readyMs)),
});
report({ runs, package: summary("package"), source: summary("source") });
