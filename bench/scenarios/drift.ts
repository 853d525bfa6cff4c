// Drift detection over N active grants: one comparison (list + both reads of the grants) and one
// reconciliation that reports 1% of strangers, next to the plain read of the same grants it cannot avoid.

import { compareTarget, reconcileTarget } from "../../src/engine/drift.ts";
import { percentile, report, startRuntime, submitMany, waitForActive } from "../support.ts";

const count = Number(process.argv[2] ?? 10_000);
const strangers = Math.max(1, Math.round(count / 100));
const runs = 7;

/** The median of `runs` timings of fn, in ms. */
async function median(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return percentile(
    times.sort((a, b) => a - b),
    50,
  );
}

const rt = await startRuntime();
try {
  await submitMany(rt, count, 32, () => 86400);
  await waitForActive(rt, count);
  // The read drift detection makes twice: every live or recently ended grant of the target.
  const plainRead = await median(() =>
    rt.deps.store.db.selectFrom("requests").selectAll().where("target", "=", "noop").execute(),
  );
  const compare = await median(() => compareTarget(rt.deps, "noop"));
  const clean = await compareTarget(rt.deps, "noop");
  for (let i = 0; i < strangers; i++) rt.probe.holders.add(`stranger${i}@example.com`);
  let started = performance.now();
  const first = await reconcileTarget(rt.deps, "noop");
  const reportMs = performance.now() - started;
  started = performance.now();
  await reconcileTarget(rt.deps, "noop");
  const againMs = performance.now() - started;
  report({
    grants: count,
    strangers,
    plainReadMs: plainRead,
    compareMs: compare,
    reportMs,
    againMs,
    cleanFindings: clean.missing.length + clean.unmanaged.length + clean.outlived.length,
    unmanagedFound: first.unmanaged.length,
  });
} finally {
  await rt.close();
}
