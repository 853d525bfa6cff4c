// What the running server gives the hook helpers flow modules import from "jitflow" (sdk/helpers.ts): its
// directory, its outbox, whether email is on, and counting a requester's past events (evt.requester.countEvents).

import { AsyncLocalStorage } from "node:async_hooks";
import type { Directory } from "../directory/directory.ts";
import { parseDuration } from "../lib/duration.ts";
import type { OutboxMessage } from "../store/outbox.ts";

export interface CountEventsQuery {
  /** An audit event type, such as "request.created", "request.approved" or "grant.active". */
  type: string;
  /** From when: a Date, an ISO 8601 time, or a duration back from now ("30d", "12h"). */
  since: Date | string;
  /** Only events of requests of this flow. */
  flow?: string;
  /** Only events of requests of this target. */
  target?: string;
}

/** What the running server gives the helpers. */
export interface HelperContext {
  directory: Directory;
  /** Writes messages to the outbox, in their own transaction; they are delivered with retries. */
  enqueue(messages: OutboxMessage[]): Promise<void>;
  /** Whether email is configured. */
  email: boolean;
  /** Events of the requests of `requester` matching the query, from `since` (epoch ms). */
  countEvents(requester: string, query: Omit<CountEventsQuery, "since">, since: number): Promise<number>;
  now(): number;
}

// Not a global: each server runs its work (HTTP requests, the scheduler, the outbox, drift checks) inside its
// own context, and a hook reaches the helpers of the server that called it, even with several in one process.
const scope = new AsyncLocalStorage<HelperContext>();

/** Runs `work`, and everything it starts (timers, requests it serves), with these helpers. */
export function withHelpers<T>(context: HelperContext, work: () => T): T {
  return scope.run(context, work);
}

/** The helpers of the server whose work is running now. */
export function helperContext(): HelperContext {
  const context = scope.getStore();
  if (!context) throw new Error("jitflow's hook helpers work only inside a running jitflow server");
  return context;
}

/** The epoch milliseconds a `since` stands for. */
export function sinceOf(since: Date | string, now: number): number {
  if (since instanceof Date && Number.isFinite(since.getTime())) return since.getTime();
  if (typeof since === "string") {
    const back = parseDuration(since);
    if (back !== undefined) return now - back * 1000;
    const at = Date.parse(since);
    if (/^\d{4}-\d{2}-\d{2}/.test(since) && Number.isFinite(at)) return at;
  }
  throw new Error(
    `since must be a Date, an ISO 8601 time or a duration such as "30d"; got ${JSON.stringify(String(since))}`,
  );
}

/** `evt.requester.countEvents`: how many events of this type the requester's requests had since then. */
export function countEventsOf(requester: string): (query: CountEventsQuery) => Promise<number> {
  return async (query) => {
    const ctx = helperContext();
    if (typeof query.type !== "string" || query.type.trim() === "")
      throw new Error("type must be a non-empty string");
    if (query.type.length > 100) throw new Error("type is longer than 100 characters");
    return ctx.countEvents(requester, query, sinceOf(query.since, ctx.now()));
  };
}
