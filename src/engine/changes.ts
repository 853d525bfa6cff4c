// Applies lifecycle transitions to rows inside a transaction, collecting the audit events they record; at the
// end the registered planners turn those events into outbox messages (the engine knows no channel).

import type { Transaction } from "kysely";
import { JitflowError } from "../errors.ts";
import { appendEvents, type NewAuditEvent } from "../store/audit-log.ts";
import type { Dialect } from "../store/database.ts";
import { type GrantChanges, updateGrant } from "../store/grants.ts";
import { uuidv7 } from "../store/ids.ts";
import { type EventPlanner, enqueue, type OutboxMessage, type RecordedEvent } from "../store/outbox.ts";
import {
  type AccessRequest,
  type RequestChanges,
  type RequestUpdate,
  updateRequest,
} from "../store/requests.ts";
import type { Database } from "../store/schema.ts";
import { type Command, transition } from "./lifecycle.ts";

/** Raised when a row changed under us between reading it and writing it; the caller retries. */
export class ConflictError extends Error {
  constructor(id: string) {
    super(`request ${id} changed concurrently`);
    this.name = "ConflictError";
  }
}

const verbs: Record<Command, string> = {
  record_approval: "approve",
  advance_step: "approve",
  remind: "remind about",
  forward: "forward",
  approve: "approve",
  deny: "deny",
  cancel: "cancel",
  timeout: "expire",
  start_escalation: "escalate",
  escalated: "activate",
  fail: "fail",
  revoke: "revoke",
  expire: "expire",
  deescalated: "end",
  extend: "extend",
};

export function invalidTransition(state: string, command: Command): JitflowError {
  return new JitflowError("INVALID_TRANSITION", `cannot ${verbs[command]} a request that is ${state}`, {
    details: { state },
  });
}

export interface Step {
  command: Command;
  actor: string;
  changes?: RequestChanges;
  data?: Record<string, unknown>;
}

/** The request as it is after these changes. */
function withChanges(row: AccessRequest, set: RequestUpdate, grant: GrantChanges): AccessRequest {
  return { ...row, ...set, grant: row.grant && { ...row.grant, ...grant } };
}

/** One transaction's worth of changes. */
export class ChangeSet {
  readonly events: NewAuditEvent[] = [];
  /** Messages the transaction writes itself; the planners' are added when it is flushed. */
  readonly messages: OutboxMessage[] = [];
  readonly #recorded: RecordedEvent[] = [];
  readonly #planners: readonly EventPlanner[];
  readonly #trx: Transaction<Database>;
  readonly #dialect: Dialect;
  readonly now: number;

  constructor(planners: readonly EventPlanner[], trx: Transaction<Database>, dialect: Dialect, now: number) {
    this.#planners = planners;
    this.#trx = trx;
    this.#dialect = dialect;
    this.now = now;
  }

  get trx(): Transaction<Database> {
    return this.#trx;
  }

  /** Records an event that is not a state change, e.g. a hook error. */
  note(row: AccessRequest, type: string, actor: string, data: Record<string, unknown>): void {
    this.#record(row, type, actor, data);
  }

  /**
   * Moves a row through the lifecycle. Throws INVALID_TRANSITION if the lifecycle forbids it,
   * ConflictError if the row changed since it was read.
   */
  async apply(
    row: AccessRequest,
    command: Command,
    actor: string,
    changes: RequestChanges = {},
    data: Record<string, unknown> = {},
  ): Promise<AccessRequest> {
    return this.applyAll(row, [{ command, actor, changes, data }]);
  }

  /**
   * Several transitions in a row (approve, then start escalating): one write of the request (and one of
   * its grant, when a step changes it), one event each.
   */
  async applyAll(row: AccessRequest, steps: Step[]): Promise<AccessRequest> {
    let state = row.state;
    let set: RequestUpdate = {};
    let grantSet: GrantChanges = {};
    const recorded: { type: string; actor: string; data: Record<string, unknown>; next: AccessRequest }[] =
      [];
    for (const step of steps) {
      const to = transition(state, step.command);
      if (!to) throw invalidTransition(state, step.command);
      const { grant, ...columns } = step.changes ?? {};
      set = { ...set, ...columns, state: to.to, updatedAt: this.now };
      grantSet = { ...grantSet, ...grant };
      const data = { from: state, to: to.to, ...step.data };
      recorded.push({ type: to.event, actor: step.actor, data, next: withChanges(row, set, grantSet) });
      state = to.to;
    }
    if (!(await updateRequest(this.#trx, row, set))) throw new ConflictError(row.id);
    const grantChanged = Object.entries(grantSet).some(
      ([key, value]) => row.grant?.[key as keyof GrantChanges] !== value,
    );
    if (grantChanged) {
      if (!row.grant) throw new Error(`request ${row.id} has no grant to change`);
      await updateGrant(this.#trx, row.grant.id, grantSet);
    }
    for (const r of recorded) this.#record(r.next, r.type, r.actor, r.data);
    return { ...withChanges(row, set, grantSet), version: row.version + 1 };
  }

  /** An event of the system rather than of one request (drift found in a target). */
  noteSystem(type: string, actor: string, data: Record<string, unknown>): void {
    this.#record(null, type, actor, data);
  }

  #record(request: AccessRequest | null, type: string, actor: string, data: Record<string, unknown>): void {
    const id = uuidv7(this.now);
    this.events.push({ id, requestId: request?.id ?? null, type, actor, at: this.now, data });
    this.#recorded.push({ id, type, actor, at: this.now, data, request });
  }

  /** Writes the collected events and messages; call once, last, inside the transaction. */
  async flush(): Promise<void> {
    if (this.#recorded.length > 0) {
      for (const plan of this.#planners) this.messages.push(...plan(this.#recorded));
    }
    await appendEvents(this.#trx, this.#dialect, this.events);
    await enqueue(this.#trx, this.messages, this.now);
  }
}
