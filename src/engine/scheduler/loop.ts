// The level-triggered scheduler: a timer to the next due row plus a periodic sweep; leases due requests (their
// approval clock, their start) and due grants (escalate, expire, deescalate) and runs their work.

import { randomUUID } from "node:crypto";
import { createWorkLoop } from "../../lib/work-loop.ts";
import { claimDue, nextUnleasedDue, releaseLeases } from "../../store/leases.ts";
import type { EngineDeps } from "../deps.ts";
import { type Claimed, processDue } from "./due-work.ts";

export interface Scheduler {
  /** Something is due at this instant: make sure the timer fires by then. */
  wake(dueAt: number): void;
  /** Runs everything due now and waits until that work has finished (tests and benchmarks use it). */
  runOnce(): Promise<void>;
  start(): void;
  /** Claims nothing more and resolves when the batches running now have ended. */
  stop(): Promise<void>;
  /** Gives back every lease this scheduler still holds (a stop that ran out of time). */
  releaseLeases(): Promise<void>;
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
  let stopping = false;

  function startBatch(batchOwner: string, claimed: Claimed): void {
    const batch: Promise<void> = processDue(engineDeps, batchOwner, claimed)
      .catch(async (err: unknown) => {
        deps.logger.error(
          { err, requests: claimed.requests.length, grants: claimed.grants.length },
          "scheduler batch failed; its rows will be retried",
        );
        // Give the rows back now (their work is idempotent and will be redone), not at lease expiry.
        await releaseLeases(deps.store.db, "requests", { by: batchOwner }).catch(() => {});
        await releaseLeases(deps.store.db, "grants", { by: batchOwner }).catch(() => {});
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
    while (!stopping) {
      if (inFlight.size >= maxBatches) {
        await Promise.race(inFlight);
        continue;
      }
      const now = deps.clock.now();
      // Each batch leases under its own name, so one batch's clean-up never drops another's leases.
      batchSeq += 1;
      const batchOwner = `${owner}/${batchSeq}`;
      const { db, dialect } = deps.store;
      const requests = await claimDue(db, dialect, "requests", batchOwner, now, leaseMs, batchSize);
      const grants = await claimDue(db, dialect, "grants", batchOwner, now, leaseMs, batchSize);
      if (requests.length === 0 && grants.length === 0) break;
      startBatch(batchOwner, { requests, grants });
    }
  }

  const loop = createWorkLoop({
    name: "scheduler",
    clock: deps.clock,
    logger: deps.logger,
    sweepIntervalMs,
    pass,
    nextDue: async () => {
      const now = deps.clock.now();
      const [request, grant] = await Promise.all([
        nextUnleasedDue(deps.store.db, "requests", now),
        nextUnleasedDue(deps.store.db, "grants", now),
      ]);
      return request === undefined ? grant : grant === undefined ? request : Math.min(request, grant);
    },
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
      stopping = true;
      await loop.stop();
      while (loop.current() || inFlight.size > 0) await Promise.all([loop.current(), ...inFlight]);
    },
    async releaseLeases() {
      await releaseLeases(deps.store.db, "requests", { under: `${owner}/` });
      await releaseLeases(deps.store.db, "grants", { under: `${owner}/` });
    },
  };
}
