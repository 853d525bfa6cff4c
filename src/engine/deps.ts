// The engine's dependencies (store, config, clock, planners, wake-ups) and its transactions: each runs with a
// fresh ChangeSet, retried when a row changed underneath. Every other engine module builds on these.

import type { Logger } from "pino";
import { JitflowError } from "../errors.ts";
import type { Clock } from "../lib/clock.ts";
import { metrics } from "../lib/metrics.ts";
import type { Store } from "../store/database.ts";
import type { EventPlanner } from "../store/outbox.ts";
import { ChangeSet, ConflictError } from "./changes.ts";
import type { LoadedConfig } from "./load-config.ts";

export interface EngineDeps {
  store: Store;
  config: LoadedConfig;
  clock: Clock;
  logger: Logger;
  /** What turns each transaction's events into outbox messages: one per channel that is on (server.ts). */
  planners: readonly EventPlanner[];
  /** Tells the scheduler that something became due at this instant. */
  wake(dueAt: number): void;
  /** Tells the outbox worker that messages were committed. */
  notify(): void;
  /** Directory lookups for approval steps (Slack channels, Okta groups, PagerDuty schedules). */
  lookups?: ApproverLookups | undefined;
}

/** Runs fn in one transaction with a fresh ChangeSet; retries when a row changed underneath. */
export async function inTransaction<T>(deps: EngineDeps, fn: (changes: ChangeSet) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      let committed: ChangeSet | undefined;
      const result = await deps.store.transaction(async (trx) => {
        const changes = new ChangeSet(deps.planners, trx, deps.store.dialect, deps.clock.now());
        const value = await fn(changes);
        await changes.flush();
        committed = changes;
        return value;
      });
      for (const event of committed?.events ?? []) metrics.events.inc({ type: event.type });
      if (committed?.messages.length) deps.notify();
      return result;
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      if (attempt >= 4) {
        throw new JitflowError("INVALID_TRANSITION", "the request changed while this action ran; try again", {
          cause: err,
        });
      }
    }
  }
}

/** Directory lookups the sources need; absent when the integration is not configured. */
export interface ApproverLookups {
  slackChannel?(channel: string): Promise<string[]>;
  oktaGroup?(integration: string, group: string): Promise<string[]>;
  pagerduty?(integration: string, schedule: string): Promise<string[]>;
}
