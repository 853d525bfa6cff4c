// The level-triggered scheduler: a timer to the next due row plus a periodic sweep; leases rows and runs their work.

import { randomUUID } from "node:crypto";
import { createWorkLoop } from "../../lib/work-loop.ts";
import { claimDue, nextDue, releaseLeases } from "../../store/requests.ts";
import type { EngineDeps } from "../deps.ts";
import { processDue } from "./due-work.ts";

export interface Scheduler {
  /** Something is due at this instant: make sure the timer fires by then. */
  wake(dueAt: number): void;
  /** Runs everything due now and waits until that work has finished (tests and benchmarks use it). */
  runOnce(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Batches run concurrently, up to `maxBatches`: a target that hangs until its timeout holds up only
 * its own batch, while the loop goes on leasing and revoking everything else that comes due.
 */
export function createScheduler(deps: Omit<EngineDeps, "wake">, batchSize = 500, maxBatches = 4): Scheduler {
  const owner = `scheduler-${randomUUID()}`;
  const { sweepIntervalMs, leaseMs } = deps.config.config.scheduler;
  const engineDeps: EngineDeps = { ...deps, wake: (at) => loop.wake(at) };
  const inFlight = new Set<Promise<void>>();
  let batchSeq = 0;

  function startBatch(batchOwner: string, claimed: Awaited<ReturnType<typeof claimDue>>): void {
    const batch: Promise<void> = processDue(engineDeps, batchOwner, claimed)
      .catch(async (err: unknown) => {
        deps.logger.error({ err, rows: claimed.length }, "scheduler batch failed; its rows will be retried");
        // Give the rows back now (their work is idempotent and will be redone), not at lease expiry.
        const ids = claimed.map((r) => r.id);
        await releaseLeases(deps.store.db, batchOwner, ids).catch(() => {});
      })
      .finally(() => {
        inFlight.delete(batch);
        // Finished work can make other rows due now (a waiting escalation); look again.
        void loop.kick();
      });
    inFlight.add(batch);
  }

  /** Claims batches while rows are due, up to `maxBatches` running at once. */
  async function pass(): Promise<void> {
    for (;;) {
      if (inFlight.size >= maxBatches) {
        await Promise.race(inFlight);
        continue;
      }
      const now = deps.clock.now();
      // Each batch leases under its own name, so one batch's clean-up never drops another's leases.
      batchSeq += 1;
      const batchOwner = `${owner}/${batchSeq}`;
      const claimed = await claimDue(deps.store.db, deps.store.dialect, batchOwner, now, leaseMs, batchSize);
      if (claimed.length === 0) break;
      startBatch(batchOwner, claimed);
    }
  }

  const loop = createWorkLoop({
    name: "scheduler",
    clock: deps.clock,
    logger: deps.logger,
    sweepIntervalMs,
    pass,
    nextDue: () => nextDue(deps.store.db, deps.clock.now()),
  });

  return {
    wake: (dueAt) => loop.wake(dueAt),
    async runOnce() {
      await loop.kick();
      while (inFlight.size > 0 || loop.current()) {
        await Promise.all([...inFlight, loop.current()]);
        await loop.kick();
      }
    },
    start: () => loop.start(),
    async stop() {
      await loop.stop();
      while (loop.current() || inFlight.size > 0) await Promise.all([loop.current(), ...inFlight]);
    },
  };
}
