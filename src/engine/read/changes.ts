import type { Person } from "../../model/types.ts";
import { findEvents, lastSeq } from "../../store/audit-log.ts";
import { getDecisionsOf } from "../../store/requests.ts";
import { approverFlowsOf, privileged } from "../access/policy.ts";
import type { EngineDeps } from "../deps.ts";

/** What the live stream knows about a change, to decide who is told. */
export interface WatchedChange {
  requester: string;
  flow: string;
  /** Who has approved or denied the request. */
  deciders: readonly string[];
}

/** A change to a request, as the live stream tells it. */
export interface RequestChange {
  seq: number;
  requestId: string;
  type: string;
  /** The request's state now (it may have moved on since this event). */
  state: string;
  at: string;
  watched: WatchedChange;
}

/** The seq the live stream starts after: the newest event's. */
export function lastChangeSeq(deps: EngineDeps): Promise<number> {
  return lastSeq(deps.store.db);
}

/** Audit events of requests after this seq, in order, at most `limit` events read. */
export async function requestChangesAfter(
  deps: EngineDeps,
  after: number,
  limit: number,
): Promise<{ changes: RequestChange[]; lastSeq: number; full: boolean }> {
  const entries = await findEvents(deps.store.db, { after }, limit);
  const ids = [
    ...new Set(entries.flatMap((e) => (e.request && e.event.requestId ? [e.event.requestId] : []))),
  ];
  const deciders = new Map<string, string[]>();
  for (const d of await getDecisionsOf(deps.store.db, ids)) {
    deciders.set(d.request_id, [...(deciders.get(d.request_id) ?? []), d.actor]);
  }
  const changes: RequestChange[] = [];
  for (const { event, request } of entries) {
    if (!request || !event.requestId) continue;
    changes.push({
      seq: event.seq,
      requestId: event.requestId,
      type: event.type,
      state: request.state,
      at: event.at,
      watched: {
        requester: request.requester,
        flow: request.flow,
        deciders: deciders.get(event.requestId) ?? [],
      },
    });
  }
  return { changes, lastSeq: entries.at(-1)?.event.seq ?? after, full: entries.length === limit };
}

/**
 * Who hears of a change on the live stream. Cheaper than getRequestFor (no reducers run per event): admins
 * and bots hear of every request; others of their own, those of flows whose approvers.users name them,
 * and those they decided.
 */
export function streamAudienceOf(deps: EngineDeps, actor: Person): (change: WatchedChange) => boolean {
  if (privileged(actor)) return () => true;
  const flows = new Set(approverFlowsOf(deps, actor.email));
  return (change) =>
    change.requester === actor.email || flows.has(change.flow) || change.deciders.includes(actor.email);
}
