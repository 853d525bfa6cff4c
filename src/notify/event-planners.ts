// The planners every server has: one log line message per transaction, and the outgoing webhooks
// (notify.webhooks) that want each event. Both carry the event as webhook receivers see it.

import type { ParsedConfig } from "../config/schema.ts";
import type { EventPlanner, OutboxMessage, RecordedEvent } from "../store/outbox.ts";

/** An event as log lines and webhook receivers see it: the request's columns they need, times as ISO 8601. */
export function eventPayload(event: RecordedEvent): Record<string, unknown> {
  const { request: row, id, type, actor, data } = event;
  const at = new Date(event.at).toISOString();
  if (row === null) return { id, type, requestId: null, actor, at, data };
  return {
    id,
    type,
    requestId: row.id,
    flow: row.flow,
    target: row.target,
    requester: row.requester,
    state: row.state,
    actor,
    at,
    expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt).toISOString(),
    data,
  };
}

/** One log message per transaction: a batch of 500 expiries is one outbox row, not 500. */
export const logPlanner: EventPlanner = (events) => [
  { kind: "log", payload: { events: events.map(eventPayload) }, requestId: null },
];

/** A message for each webhook that wants the event. The URL, not the secret, is stored: the worker finds the hook by URL. */
export function webhookPlanner(webhooks: ParsedConfig["notify"]["webhooks"]): EventPlanner {
  return (events) => {
    const out: OutboxMessage[] = [];
    for (const event of events) {
      for (const hook of webhooks) {
        if (hook.events && !hook.events.includes(event.type)) continue;
        out.push({
          kind: "webhook",
          payload: { url: hook.url, event: eventPayload(event) },
          requestId: event.request?.id ?? null,
        });
      }
    }
    return out;
  };
}
