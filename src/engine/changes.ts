// Applies lifecycle transitions to rows inside a transaction, collecting the audit events and outbox messages they cause.

import type { Transaction } from "kysely";
import { JitflowError } from "../errors.ts";
import type { RequestState } from "../model/types.ts";
import { emailedEvents, fanOutMessage } from "../notify/fan-out.ts";
import { type SlackOp, slackMessagesFor } from "../notify/slack-messages.ts";
import { appendEvents, type NewAuditEvent } from "../store/audit-log.ts";
import type { Dialect } from "../store/database.ts";
import { uuidv7 } from "../store/ids.ts";
import { enqueue, type OutboxMessage } from "../store/outbox.ts";
import { type RequestRow, updateRequest } from "../store/requests.ts";
import type { Database } from "../store/schema.ts";
import { type Command, transition } from "./lifecycle.ts";
import type { LoadedConfig } from "./load-config.ts";

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
  changes?: Partial<RequestRow>;
  data?: Record<string, unknown>;
}

/** One transaction's worth of changes. */
export class ChangeSet {
  readonly events: NewAuditEvent[] = [];
  readonly messages: OutboxMessage[] = [];
  readonly #logLines: Record<string, unknown>[] = [];
  readonly #approvalTouched = new Set<string>();
  readonly #config: LoadedConfig;
  readonly #trx: Transaction<Database>;
  readonly #dialect: Dialect;
  readonly now: number;

  constructor(config: LoadedConfig, trx: Transaction<Database>, dialect: Dialect, now: number) {
    this.#config = config;
    this.#trx = trx;
    this.#dialect = dialect;
    this.now = now;
  }

  get trx(): Transaction<Database> {
    return this.#trx;
  }

  /** Records an event (and its notifications) that is not a state change, e.g. a hook error. */
  note(row: RequestRow, type: string, actor: string, data: Record<string, unknown>): void {
    const id = uuidv7(this.now);
    this.events.push({ id, requestId: row.id, type, actor, at: this.now, data });
    this.#notify(id, row, type, actor, data);
  }

  /**
   * Moves a row through the lifecycle. Throws INVALID_TRANSITION if the lifecycle forbids it,
   * ConflictError if the row changed since it was read.
   */
  async apply(
    row: RequestRow,
    command: Command,
    actor: string,
    changes: Partial<RequestRow> = {},
    data: Record<string, unknown> = {},
  ): Promise<RequestRow> {
    return this.applyAll(row, [{ command, actor, changes, data }]);
  }

  /** Several transitions in a row (approve, then start escalating): one write, one event each. */
  async applyAll(row: RequestRow, steps: Step[]): Promise<RequestRow> {
    let state = row.state as RequestState;
    let set: Partial<RequestRow> = {};
    const recorded: { type: string; actor: string; data: Record<string, unknown>; next: RequestRow }[] = [];
    for (const step of steps) {
      const to = transition(state, step.command);
      if (!to) throw invalidTransition(state, step.command);
      set = { ...set, ...step.changes, state: to.to, updated_at: this.now };
      const data = { from: state, to: to.to, ...step.data };
      recorded.push({ type: to.event, actor: step.actor, data, next: { ...row, ...set } });
      state = to.to;
    }
    if (!(await updateRequest(this.#trx, row, set))) throw new ConflictError(row.id);
    for (const r of recorded) {
      const id = uuidv7(this.now);
      this.events.push({ id, requestId: row.id, type: r.type, actor: r.actor, at: this.now, data: r.data });
      this.#notify(id, r.next, r.type, r.actor, r.data);
    }
    return { ...row, ...set, version: row.version + 1 };
  }

  #notify(id: string, row: RequestRow, type: string, actor: string, data: Record<string, unknown>): void {
    const payload = {
      id,
      type,
      requestId: row.id,
      flow: row.flow,
      target: row.target,
      requester: row.requester,
      state: row.state,
      actor,
      at: new Date(this.now).toISOString(),
      expiresAt: row.expires_at === null ? null : new Date(row.expires_at).toISOString(),
      data,
    };
    this.#logLines.push(payload);
    for (const m of slackMessagesFor(this.#config, row, { id, type, actor, at: this.now, data })) {
      // The approval message shows the request as it is when it goes out, so one post or update per
      // request per transaction says everything this transaction changed.
      const op = (m.payload as SlackOp).op;
      if (op === "approval.post" || op === "approval.update") {
        if (this.#approvalTouched.has(row.id)) continue;
        this.#approvalTouched.add(row.id);
      }
      this.messages.push(m);
    }
    if (this.#config.config.email && emailedEvents.has(type)) {
      this.messages.push(fanOutMessage(row, { id, type, actor, at: this.now, data }));
    }
    // The URL, not the secret, is stored; the worker finds the hook by URL when it delivers.
    for (const hook of this.#config.config.notify.webhooks) {
      if (!hook.events || hook.events.includes(type)) {
        this.messages.push({
          kind: "webhook",
          payload: { url: hook.url, event: payload },
          requestId: row.id,
        });
      }
    }
  }

  /**
   * An event of the system rather than of one request (drift found in a target): audit log, log,
   * outgoing webhooks, and, given a notice, the Slack error channel.
   */
  noteSystem(type: string, actor: string, data: Record<string, unknown>, notice?: string): void {
    const id = uuidv7(this.now);
    this.events.push({ id, requestId: null, type, actor, at: this.now, data });
    const payload = { id, type, requestId: null, actor, at: new Date(this.now).toISOString(), data };
    this.#logLines.push(payload);
    const channel = this.#config.slack?.errorChannel;
    if (notice && channel) {
      const op: SlackOp = { op: "notice", text: notice };
      this.messages.push({
        kind: "slack",
        payload: op,
        requestId: null,
        orderKey: `slack:channel:${channel}`,
      });
    }
    for (const hook of this.#config.config.notify.webhooks) {
      if (!hook.events || hook.events.includes(type)) {
        this.messages.push({ kind: "webhook", payload: { url: hook.url, event: payload }, requestId: null });
      }
    }
  }

  /** Writes the collected events and messages; call once, last, inside the transaction. */
  async flush(): Promise<void> {
    // One log message per transaction: a batch of 500 expiries is one outbox row, not 500.
    if (this.#logLines.length > 0) {
      this.messages.push({ kind: "log", payload: { events: this.#logLines }, requestId: null });
    }
    await appendEvents(this.#trx, this.#dialect, this.events);
    await enqueue(this.#trx, this.messages, this.now);
  }
}
