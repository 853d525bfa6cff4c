// The level-triggered scheduler: a timer to the next due row plus a periodic sweep; leases rows and runs their work.

import { randomUUID } from "node:crypto";
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
  const engineDeps: EngineDeps = { ...deps, wake: (at) => scheduler.wake(at) };
  const inFlight = new Set<Promise<void>>();
  let running: Promise<void> | undefined;
  let again = false;
  let batchSeq = 0;
  let stopped = true;
  let closing = false;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;

  function arm(at: number): void {
    if (stopped) return;
    const now = deps.clock.now();
    const when = Math.min(at, now + sweepIntervalMs);
    if (timer && timerAt <= when) return;
    clearTimeout(timer);
    timerAt = when;
    timer = setTimeout(
      () => {
        timer = undefined;
        timerAt = Number.POSITIVE_INFINITY;
        void kick();
      },
      Math.max(0, when - now),
    );
  }

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
        void kick();
      });
    inFlight.add(batch);
  }

  async function loop(): Promise<void> {
    do {
      again = false;
      for (;;) {
        if (inFlight.size >= maxBatches) {
          await Promise.race(inFlight);
          continue;
        }
        const now = deps.clock.now();
        // Each batch leases under its own name, so one batch's clean-up never drops another's leases.
        batchSeq += 1;
        const batchOwner = `${owner}/${batchSeq}`;
        const claimed = await claimDue(
          deps.store.db,
          deps.store.dialect,
          batchOwner,
          now,
          leaseMs,
          batchSize,
        );
        if (claimed.length === 0) break;
        startBatch(batchOwner, claimed);
      }
    } while (again);
    const next = await nextDue(deps.store.db, deps.clock.now());
    arm(next ?? Number.POSITIVE_INFINITY);
  }

  function kick(): Promise<void> {
    if (closing) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = loop()
      .catch((err: unknown) => {
        deps.logger.error({ err }, "scheduler pass failed; retrying at the next sweep");
        arm(deps.clock.now() + sweepIntervalMs);
      })
      .finally(() => {
        running = undefined;
        // A wake that came while the pass was finishing (after its last claim) must not wait a sweep.
        if (again) void kick();
      });
    return running;
  }

  const scheduler: Scheduler = {
    wake(dueAt) {
      if (running) again = true;
      else arm(dueAt);
    },
    async runOnce() {
      await kick();
      while (inFlight.size > 0 || running) {
        await Promise.all([...inFlight, running]);
        await kick();
      }
    },
    start() {
      stopped = false;
      void kick();
    },
    async stop() {
      stopped = true;
      closing = true;
      clearTimeout(timer);
      timer = undefined;
      while (running || inFlight.size > 0) await Promise.all([running, ...inFlight]);
    },
  };
  return scheduler;
}
