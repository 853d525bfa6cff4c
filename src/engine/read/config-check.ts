// Checking the config file as it is on disk now, for the Flows page: in a worker thread (its own module
// cache, so the file is read afresh), one check at a time per file, reused while the file is unchanged.

import { statSync } from "node:fs";
import { Worker } from "node:worker_threads";
import type { ConfigProblem } from "../../config/loader.ts";
import { messageOf } from "../../errors.ts";
import { ownModuleUrl } from "../../lib/own-modules.ts";

const loaderUrl = ownModuleUrl("../load-config", import.meta.url);
// A worker has its own module cache: importing the config again in this thread would return the module
// loaded at start, not the file as it is now. The flow modules it names are loaded (and run) again too.
const checkConfigSource = `
const { parentPort, workerData } = require("node:worker_threads");
import(workerData.loaderUrl)
  .then((m) => m.loadConfig(workerData.file).then(
    () => [],
    (err) => err instanceof m.ConfigError ? err.problems : [{ path: "", message: String(err?.message ?? err) }],
  ))
  .catch((err) => [{ path: "", message: String(err?.message ?? err) }])
  .then((problems) => parentPort.postMessage(problems));
`;

/** How long one check of the config file answers every caller (the Flows page re-asks on each change). */
const configCheckReuseMs = 5000;
const configChecks = new Map<
  string,
  { mtimeMs: number; settledAt: number | undefined; problems: Promise<ConfigProblem[]> }
>();

/**
 * One check at a time per file, reused for a few seconds while the file is unchanged: each check loads
 * (and runs) the flow modules again, and the Flows page asks on every change.
 */
export function sharedConfigCheck(file: string): Promise<ConfigProblem[]> {
  let mtimeMs = -1;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    // Gone: the check itself says so.
  }
  const recent = configChecks.get(file);
  const fresh = recent?.settledAt === undefined || performance.now() - recent.settledAt < configCheckReuseMs;
  if (recent && recent.mtimeMs === mtimeMs && fresh) return recent.problems;
  const entry = { mtimeMs, settledAt: undefined as number | undefined, problems: configProblemsOf(file) };
  configChecks.set(file, entry);
  void entry.problems.then(() => {
    entry.settledAt = performance.now();
  });
  return entry.problems;
}

/** What loading the config file now reports: [] when it is valid. Gives up after `timeoutMs`. */
export function configProblemsOf(file: string, timeoutMs = 10_000): Promise<ConfigProblem[]> {
  return new Promise((resolve) => {
    const worker = new Worker(checkConfigSource, {
      eval: true,
      workerData: { loaderUrl, file },
      resourceLimits: { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 32 },
    });
    const done = (problems: ConfigProblem[]) => {
      clearTimeout(timer);
      resolve(problems);
      void worker.terminate();
    };
    const timer = setTimeout(
      () => done([{ path: "", message: `loading it did not finish within ${timeoutMs} ms` }]),
      timeoutMs,
    );
    worker.once("message", (problems: ConfigProblem[]) => done(problems));
    worker.once("error", (err) => done([{ path: "", message: messageOf(err) }]));
    worker.once("exit", (code) => done([{ path: "", message: `loading it stopped (exit code ${code})` }]));
  });
}
