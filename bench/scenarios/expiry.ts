// Expiry lateness: 10,000 grants made active through the engine, set to expire within a few seconds
// of each other; the real scheduler (its own timer, the system clock) takes them away. Lateness is the
// instant the custom target's deescalate() ran minus the request's expiresAt.

import { percentile, report, sleep, startRuntime, submitMany, waitForActive } from "../support.ts";

/** Optional hooks around the expiry burst, for profiling (see bench/README.md). */
const hooks = globalThis as {
  benchBeforeExpiry?: (firstExpiry: number) => Promise<void>;
  benchAfterExpiry?: () => Promise<void>;
};

const count = Number(process.argv[2] ?? 10_000);
/** Requests/s the caller measured for submit → active; used to place the expiry window after creation. */
const rateHint = Number(process.argv[3] ?? 0);
const spreadMs = 2000;
const calibration = 1000;

const rt = await startRuntime();
try {
  // Calibration (and background load): grants that stay active for a day.
  const calibrationStart = performance.now();
  await submitMany(rt, calibration, 32, () => 86_400);
  await waitForActive(rt, calibration);
  const measured = (calibration / (performance.now() - calibrationStart)) * 1000;
  const rate = rateHint > 0 ? Math.min(rateHint, measured) : measured;

  // Expiry instants spread evenly over [windowStart, windowStart + spreadMs], after creation is expected to end.
  const creationStart = Date.now();
  const windowStart = creationStart + Math.ceil((count / rate) * 1000 * 1.5) + 3000;
  const durationOf = (i: number) => {
    const at = windowStart + ((i - calibration) / count) * spreadMs;
    return Math.max(1, Math.ceil((at - Date.now()) / 1000));
  };
  await submitMany(rt, count, 32, durationOf, { first: calibration });
  await waitForActive(rt, calibration + count);
  const allActiveAt = Date.now();

  const rows = await rt.deps.store.db
    .selectFrom("requests")
    .select(["id", "expires_at"])
    .where("duration", "<", 86_400)
    .execute();
  const expiresAt = new Map(rows.map((r) => [r.id, Number(r.expires_at)]));
  const firstExpiry = Math.min(...expiresAt.values());
  const lastExpiry = Math.max(...expiresAt.values());

  await hooks.benchBeforeExpiry?.(firstExpiry);
  const deadline = lastExpiry + 120_000;
  const seen = rt.probe.deescalated;
  while (seen.size < expiresAt.size && Date.now() < deadline) await sleep(50);
  await sleep(200);
  await hooks.benchAfterExpiry?.();

  const lastDone = Math.max(...seen.values());
  const lateness: number[] = [];
  for (const [id, at] of expiresAt) {
    const done = seen.get(id);
    if (done !== undefined) lateness.push(done - at);
  }
  lateness.sort((a, b) => a - b);
  const ended = await rt.deps.store.db
    .selectFrom("requests")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("state", "=", "ended")
    .executeTakeFirstOrThrow();
  report({
    grants: expiresAt.size,
    deescalated: lateness.length,
    ended: Number(ended.n),
    windowMs: lastExpiry - firstExpiry,
    activeBeforeFirstExpiryMs: firstExpiry - allActiveAt,
    p50: percentile(lateness, 50),
    p99: percentile(lateness, 99),
    max: lateness.at(-1),
    min: lateness[0],
    rateUsed: rate,
    perSecond: (lateness.length / (lastDone - firstExpiry)) * 1000,
  });
} finally {
  await rt.close();
}
