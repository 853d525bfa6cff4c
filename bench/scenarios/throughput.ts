// Requests/s from submit to `active`: requests submitted through the engine (as the HTTP API does),
// auto-approved by the flow's onRequest hook, escalated by the real scheduler on a no-op custom target.

import { countInState, report, startRuntime, submitMany, waitForActive } from "../support.ts";

const count = Number(process.argv[2] ?? 5000);
const concurrency = Number(process.argv[3] ?? 32);
const warmup = 300;

const rt = await startRuntime();
try {
  await submitMany(rt, warmup, concurrency, () => 86400);
  await waitForActive(rt, warmup);

  const cpu = process.cpuUsage();
  const started = performance.now();
  await submitMany(rt, count, concurrency, () => 86400, { first: warmup });
  const submitted = performance.now();
  const done = await waitForActive(rt, warmup + count);
  const ms = done - started;
  const used = process.cpuUsage(cpu);
  report({
    requests: count,
    concurrency,
    ms,
    perSecond: (count / ms) * 1000,
    submitPerSecond: (count / (submitted - started)) * 1000,
    active: await countInState(rt, "active"),
    cpuMsPerRequest: (used.user + used.system) / 1000 / count,
  });
} finally {
  await rt.close();
}
