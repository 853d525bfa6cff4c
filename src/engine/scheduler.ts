// The level-triggered scheduler: a timer to the next due row plus a periodic sweep; leases rows and runs their work.

import { randomUUID } from "node:crypto";
import { claimDue, nextDue, releaseLeases } from "../store/requests.ts";
import type { EngineDeps } from "./engine.ts";
import { processDue } from "./grants.ts";

export interface Scheduler {
  /** Something is due at this instant: make sure the timer fires by then. */
  wake(dueAt: number): void;
  /** Runs everything due now, until nothing is; resolves when done. */
  runOnce(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export function createScheduler(deps: Omit<EngineDeps, "wake">, batchSize = 500): Scheduler {
  const owner = `scheduler-${randomUUID()}`;
  const { sweepIntervalMs, leaseMs } = deps.config.config.scheduler;
  const engineDeps: EngineDeps = { ...deps, wake: (at) => scheduler.wake(at) };
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = true;
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
        void scheduler.runOnce();
      },
      Math.max(0, when - now),
    );
  }

  async function loop(): Promise<void> {
    do {
      again = false;
      for (;;) {
        const claimed = await claimDue(
          deps.store.db,
          deps.store.dialect,
          owner,
          deps.clock.now(),
          leaseMs,
          batchSize,
        );
        if (claimed.length === 0) break;
        await processDue(engineDeps, owner, claimed);
      }
    } while (again);
    const next = await nextDue(deps.store.db, deps.clock.now());
    arm(next ?? Number.POSITIVE_INFINITY);
  }

  const scheduler: Scheduler = {
    wake(dueAt) {
      if (running) again = true;
      else arm(dueAt);
    },
    runOnce() {
      if (running) {
        again = true;
        return running;
      }
      running = loop()
        .catch(async (err: unknown) => {
          deps.logger.error({ err }, "scheduler pass failed; retrying at the next sweep");
          // Give leased rows back now (their work is idempotent and will be redone), not at lease expiry.
          await releaseLeases(deps.store.db, owner).catch(() => {});
          arm(deps.clock.now() + sweepIntervalMs);
        })
        .finally(() => {
          running = undefined;
        });
      return running;
    },
    start() {
      stopped = false;
      void scheduler.runOnce();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
  return scheduler;
}
