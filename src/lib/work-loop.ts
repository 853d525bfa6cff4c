// The loop the scheduler and the outbox worker share: a pass claims and works leased rows until none is due;
// then a timer is armed for the next due instant (or the sweep), and a wake while a pass runs means one more.

import type { Logger } from "pino";
import type { Clock } from "./clock.ts";

export interface WorkLoopOptions {
  /** For log lines: "scheduler", "outbox". */
  name: string;
  clock: Clock;
  logger: Logger;
  /** The longest the loop sleeps: rows leased by a replica that died are looked at again by then. */
  sweepIntervalMs: number;
  /** Claims and works rows until nothing more is due now. */
  pass(): Promise<void>;
  /** The next instant something is due, if anything is. */
  nextDue(): Promise<number | undefined>;
}

export interface WorkLoop {
  /** Something is due at this instant: make sure a pass runs by then. */
  wake(dueAt: number): void;
  /** Runs a pass now (or one more after the running one) and resolves when it is done. */
  kick(): Promise<void>;
  /** The pass running now, if one is. */
  current(): Promise<void> | undefined;
  start(): void;
  /** No pass starts after this; resolves when the running one has ended. */
  stop(): Promise<void>;
}

export function createWorkLoop(options: WorkLoopOptions): WorkLoop {
  const { clock, logger, sweepIntervalMs } = options;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = true;
  let closing = false;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;

  function arm(at: number): void {
    if (stopped) return;
    const now = clock.now();
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

  async function passes(): Promise<void> {
    do {
      again = false;
      await options.pass();
    } while (again);
    arm((await options.nextDue()) ?? Number.POSITIVE_INFINITY);
  }

  function kick(): Promise<void> {
    if (closing) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = passes()
      .catch((err: unknown) => {
        logger.error({ err }, `${options.name} pass failed; retrying at the next sweep`);
        arm(clock.now() + sweepIntervalMs);
      })
      .finally(() => {
        running = undefined;
        // A wake that came while the pass was finishing (after its last claim) must not wait a sweep.
        if (again) void kick();
      });
    return running;
  }

  return {
    wake(dueAt) {
      if (running) again = true;
      else arm(dueAt);
    },
    kick,
    current: () => running,
    start() {
      stopped = false;
      void kick();
    },
    async stop() {
      stopped = true;
      closing = true;
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
