// Reading and writing requests: insert, get, conditional update, list with cursors, and leasing due work. A
// request is read as a typed AccessRequest (camelCase, JSON columns parsed) with its grant (store/grants.ts)
// attached, and written back through the same mapping.

import type { RequestState } from "../model/types.ts";
import type { Executor } from "./database.ts";
import { type Grant, type GrantChanges, grantsOf, insertGrant } from "./grants.ts";
import type { DecisionsTable, RequestsTable } from "./schema.ts";

/** A request as the engine sees it: its own properties (one per column), and the grant it gives. */
export interface AccessRequest {
  id: string;
  flow: string;
  target: string | null;
  requester: string;
  requesterName: string;
  requesterRole: string;
  state: RequestState;
  duration: number;
  /** What the requester filled in, by field name. */
  fields: Record<string, unknown>;
  /** Where it came from (a Slack channel, an API client's context). */
  context: Record<string, unknown>;
  source: string;
  createdAt: number;
  updatedAt: number;
  decidedAt: number | null;
  activatedAt: number | null;
  expiresAt: number | null;
  endedAt: number | null;
  endedReason: string | null;
  error: string | null;
  /** When the request's own work (its approval clock, its start) is next due; its grant's is on the grant. */
  dueAt: number | null;
  leaseOwner: string | null;
  leaseUntil: number | null;
  version: number;
  /** The flow\'s steps that apply to this request (indices; their conditions held at submission). */
  steps: number[] | null;
  /** The policy step being decided (an index into the flow's steps), and when it began. */
  step: number;
  stepStartedAt: number | null;
  /** The backup destination the approval message is at, and when it was forwarded there. */
  destination: number;
  destinationAt: number | null;
  /** Reminders sent for the current step, and when the next one is due. */
  reminders: number;
  remindAt: number | null;
  /** When a pending request expires if no one decides. */
  deadlineAt: number | null;
  /** Approve now, start later: when the grant should start. */
  startAt: number | null;
  /** Break-glass: the emergency's reason; null for normal requests. */
  breakGlass: string | null;
  reviewedBy: string | null;
  reviewedAt: number | null;
  /** An extension that needs approval: the request whose grant it extends. */
  extendsId: string | null;
  /** Extensions applied to this grant: how many, and the seconds they added. */
  extensions: number;
  extendedSeconds: number;
  /** The grant it gives; null for a request that names no target (approval only) or asks for an extension. */
  grant: Grant | null;
}
/**
 * What a command changes on a request: its own properties, and under `grant` its grant's (written in the
 * same transaction, by ChangeSet).
 */
export type RequestChanges = RequestUpdate & { grant?: GrantChanges };
/** Changes to a request's own properties (its grant's are GrantChanges). */
export type RequestUpdate = Partial<Omit<AccessRequest, "grant">>;

/** When the request's next work is due: its own (approval clock, start) or its grant's. */
export function nextDueOf(row: Pick<AccessRequest, "dueAt" | "grant">): number | null {
  const grant = row.grant?.dueAt ?? null;
  if (row.dueAt === null) return grant;
  return grant === null ? row.dueAt : Math.min(row.dueAt, grant);
}
export type DecisionRow = DecisionsTable;
export type { Executor } from "./database.ts";

/** The policy columns of a request that has none of the policy's features in use (tests, imports). */
export const plainPolicyColumns = {
  steps: null,
  step: 0,
  stepStartedAt: null,
  destination: 0,
  destinationAt: null,
  reminders: 0,
  remindAt: null,
  deadlineAt: null,
  startAt: null,
  breakGlass: null,
  reviewedBy: null,
  reviewedAt: null,
  extendsId: null,
  extensions: 0,
  extendedSeconds: 0,
} satisfies RequestUpdate;

/** The column of each property of a request (the requests table's names). */
const columnOf = {
  id: "id",
  flow: "flow",
  target: "target",
  requester: "requester",
  requesterName: "requester_name",
  requesterRole: "requester_role",
  state: "state",
  duration: "duration",
  fields: "fields",
  context: "context",
  source: "source",
  createdAt: "created_at",
  updatedAt: "updated_at",
  decidedAt: "decided_at",
  activatedAt: "activated_at",
  expiresAt: "expires_at",
  endedAt: "ended_at",
  endedReason: "ended_reason",
  error: "error",
  dueAt: "due_at",
  leaseOwner: "lease_owner",
  leaseUntil: "lease_until",
  version: "version",
  steps: "steps",
  step: "step",
  stepStartedAt: "step_started_at",
  destination: "destination",
  destinationAt: "destination_at",
  reminders: "reminders",
  remindAt: "remind_at",
  deadlineAt: "deadline_at",
  startAt: "start_at",
  breakGlass: "break_glass",
  reviewedBy: "reviewed_by",
  reviewedAt: "reviewed_at",
  extendsId: "extends_id",
  extensions: "extensions",
  extendedSeconds: "extended_seconds",
} as const satisfies { [P in keyof RequestUpdate]-?: keyof RequestsTable };

/** The properties stored as JSON text: parsed when a request is read, written out when it is stored. */
const jsonProperties = new Set<string>(["fields", "context", "steps"]);

/** A request as read: its row, its JSON columns parsed (once, here), and its grant. One literal: one shape. */
export function toRequest(row: RequestsTable, grant: Grant | null): AccessRequest {
  return {
    id: row.id,
    flow: row.flow,
    target: row.target,
    requester: row.requester,
    requesterName: row.requester_name,
    requesterRole: row.requester_role,
    state: row.state,
    duration: row.duration,
    fields: JSON.parse(row.fields) as Record<string, unknown>,
    context: JSON.parse(row.context) as Record<string, unknown>,
    source: row.source,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    decidedAt: row.decided_at,
    activatedAt: row.activated_at,
    expiresAt: row.expires_at,
    endedAt: row.ended_at,
    endedReason: row.ended_reason,
    error: row.error,
    dueAt: row.due_at,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until,
    version: row.version,
    steps: row.steps === null ? null : (JSON.parse(row.steps) as number[]),
    step: row.step,
    stepStartedAt: row.step_started_at,
    destination: row.destination,
    destinationAt: row.destination_at,
    reminders: row.reminders,
    remindAt: row.remind_at,
    deadlineAt: row.deadline_at,
    startAt: row.start_at,
    breakGlass: row.break_glass,
    reviewedBy: row.reviewed_by,
    reviewedAt: row.reviewed_at,
    extendsId: row.extends_id,
    extensions: row.extensions,
    extendedSeconds: row.extended_seconds,
    grant,
  };
}

/** The columns of a request, or of the changes made to one (only the properties it sets). */
export function requestColumns(request: AccessRequest): RequestsTable;
export function requestColumns(changes: RequestUpdate): Partial<RequestsTable>;
export function requestColumns(changes: RequestUpdate): Partial<RequestsTable> {
  const out: Record<string, unknown> = {};
  for (const [property, value] of Object.entries(changes)) {
    if (value === undefined || property === "grant") continue;
    const column = columnOf[property as keyof RequestUpdate];
    out[column] = jsonProperties.has(property) && value !== null ? JSON.stringify(value) : value;
  }
  return out as Partial<RequestsTable>;
}

/** Inserts a request and its grant. */
export async function insertRequest(trx: Executor, row: AccessRequest): Promise<void> {
  await trx.insertInto("requests").values(requestColumns(row)).execute();
  if (row.grant) await insertGrant(trx, row.grant);
}

/** Attaches each request's grant (one more query for the lot). */
async function withGrants(db: Executor, rows: RequestsTable[]): Promise<AccessRequest[]> {
  if (rows.length === 0) return [];
  const grants = await grantsOf(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => toRequest(r, grants.get(r.id) ?? null));
}

export async function getRequest(db: Executor, id: string): Promise<AccessRequest | undefined> {
  const row = await db.selectFrom("requests").selectAll().where("id", "=", id).executeTakeFirst();
  return row ? (await withGrants(db, [row]))[0] : undefined;
}

export async function getDecisions(db: Executor, id: string): Promise<DecisionRow[]> {
  return db.selectFrom("decisions").selectAll().where("request_id", "=", id).orderBy("at").execute();
}

/** The decisions of several requests, in order. */
export async function getDecisionsOf(db: Executor, ids: string[]): Promise<DecisionRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom("decisions").selectAll().where("request_id", "in", ids).orderBy("at").execute();
}

/**
 * Updates a request only if it is still in `fromState` at `version` (optimistic concurrency).
 * Returns false when another writer got there first.
 */
export async function updateRequest(
  trx: Executor,
  current: Pick<AccessRequest, "id" | "state" | "version">,
  changes: RequestUpdate,
): Promise<boolean> {
  const result = await trx
    .updateTable("requests")
    .set({ ...requestColumns(changes), version: current.version + 1 })
    .where("id", "=", current.id)
    .where("state", "=", current.state)
    .where("version", "=", current.version)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export interface ListFilter {
  state?: RequestState[];
  flow?: string;
  requester?: string;
  /** Leave out requests made by this person. */
  notRequester?: string;
  /** Leave out requests this person has approved or denied. */
  notDecidedBy?: string;
  /** Only requests these people may see: their own, or these flows. */
  visibleTo?: { email: string; flows: string[] };
  before?: { createdAt: number; id: string };
  limit: number;
}

export async function listRequests(db: Executor, filter: ListFilter): Promise<AccessRequest[]> {
  let q = db.selectFrom("requests").selectAll();
  if (filter.state?.length) q = q.where("state", "in", filter.state);
  if (filter.flow) q = q.where("flow", "=", filter.flow);
  if (filter.requester) q = q.where("requester", "=", filter.requester);
  if (filter.notRequester) q = q.where("requester", "!=", filter.notRequester);
  if (filter.notDecidedBy) {
    const email = filter.notDecidedBy;
    q = q.where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom("decisions")
            .select("decisions.actor")
            .whereRef("decisions.request_id", "=", "requests.id")
            .where("decisions.actor", "=", email),
        ),
      ),
    );
  }
  if (filter.visibleTo) {
    const { email, flows } = filter.visibleTo;
    q = q.where((eb) =>
      eb.or([
        eb("requester", "=", email),
        ...(flows.length ? [eb("flow", "in", flows)] : []),
        eb.exists(
          eb
            .selectFrom("decisions")
            .select("decisions.actor")
            .whereRef("decisions.request_id", "=", "requests.id")
            .where("decisions.actor", "=", email),
        ),
      ]),
    );
  }
  if (filter.before) {
    const { createdAt, id } = filter.before;
    q = q.where((eb) =>
      eb.or([
        eb("created_at", "<", createdAt),
        eb.and([eb("created_at", "=", createdAt), eb("id", "<", id)]),
      ]),
    );
  }
  return withGrants(
    db,
    await q.orderBy("created_at", "desc").orderBy("id", "desc").limit(filter.limit).execute(),
  );
}

/** How many requests each flow has in each state (only pairs that occur). */
export async function countByFlowAndState(
  db: Executor,
): Promise<{ flow: string; state: string; count: number }[]> {
  const rows = await db
    .selectFrom("requests")
    .select(["flow", "state", (eb) => eb.fn.countAll().as("count")])
    .groupBy(["flow", "state"])
    .execute();
  return rows.map((r) => ({ flow: r.flow, state: r.state, count: Number(r.count) }));
}

/** Other requests of the same person for the same grant (target and bound fields) in the given states. */
export async function sameGrant(
  db: Executor,
  row: Pick<AccessRequest, "id" | "grant">,
  states: RequestState[],
): Promise<AccessRequest[]> {
  if (row.grant === null) return [];
  const { requester, key } = row.grant;
  // A person's live requests are few (index requests_requester_state); their grants are joined.
  const rows = await db
    .selectFrom("requests")
    .innerJoin("grants", "grants.request_id", "requests.id")
    .selectAll("requests")
    .where("requests.requester", "=", requester)
    .where("requests.state", "in", states)
    .where("grants.grant_key", "=", key)
    .where("requests.id", "!=", row.id)
    .execute();
  return withGrants(db, rows);
}

/** The requests with these ids, read 500 at a time. */
export async function getRequests(db: Executor, ids: readonly string[]): Promise<AccessRequest[]> {
  const rows: RequestsTable[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    rows.push(
      ...(await db
        .selectFrom("requests")
        .selectAll()
        .where("id", "in", ids.slice(i, i + 500))
        .execute()),
    );
  }
  return withGrants(db, rows);
}

/** The rows among `ids` that `owner` still holds the lease on, in id order. */
export async function leasedRequests(
  db: Executor,
  owner: string,
  ids: readonly string[],
): Promise<AccessRequest[]> {
  if (ids.length === 0) return [];
  return withGrants(
    db,
    await db
      .selectFrom("requests")
      .selectAll()
      .where("id", "in", ids)
      .where("lease_owner", "=", owner)
      .orderBy("id")
      .execute(),
  );
}

/** Makes a request's grant due now, if the request is still in `state` (drift found an outlived grant). */
export async function makeGrantDueNow(
  db: Executor,
  id: string,
  state: RequestState,
  now: number,
): Promise<void> {
  await db
    .updateTable("grants")
    .set({ due_at: now })
    .where("request_id", "=", id)
    .where("request_id", "in", (eb) =>
      eb.selectFrom("requests").select("requests.id").where("requests.state", "=", state),
    )
    .execute();
}

/** Escalations of these people's grants that waited for a revocation may go now. */
export async function wakeWaitingEscalations(
  db: Executor,
  grants: readonly Pick<Grant, "requester" | "key">[],
  now: number,
): Promise<void> {
  for (let i = 0; i < grants.length; i += 200) {
    const chunk = grants.slice(i, i + 200);
    await db
      .updateTable("grants")
      .set({ due_at: now })
      .where((g) =>
        g.or(
          chunk.map((r) =>
            g.and([g("grants.requester", "=", r.requester), g("grants.grant_key", "=", r.key)]),
          ),
        ),
      )
      // Found from these people's escalating requests (index requests_requester_state).
      .where("request_id", "in", (eb) =>
        eb
          .selectFrom("requests")
          .select("requests.id")
          .where("requests.requester", "in", [...new Set(chunk.map((r) => r.requester))])
          .where("requests.state", "=", "escalating"),
      )
      .execute();
  }
}

/** The states in which a grant may exist at its target. */
export const liveStates: RequestState[] = ["escalating", "active", "deescalating"];

/** Live grants (escalating, active, deescalating) of these people with these grant keys. */
export async function liveGrantsOf(
  db: Executor,
  requesters: readonly string[],
  grantKeys: readonly string[],
): Promise<AccessRequest[]> {
  if (requesters.length === 0 || grantKeys.length === 0) return [];
  const rows = await db
    .selectFrom("requests")
    .innerJoin("grants", "grants.request_id", "requests.id")
    .selectAll("requests")
    .where("requests.requester", "in", requesters)
    .where("requests.state", "in", liveStates)
    .where("grants.grant_key", "in", grantKeys)
    .execute();
  return withGrants(db, rows);
}

/** What drift detection compares with a target, per grant: one joined read, nothing else parsed. */
export interface GrantAtTarget {
  /** The request's id. */
  id: string;
  requester: string;
  state: RequestState;
  fields: Record<string, unknown>;
  expiresAt: number | null;
  endedAt: number | null;
  /** The grant's: who it went to (null until known), and when its work is next due. */
  identity: string | null;
  dueAt: number | null;
}

/** A target's live grants, and those that ended since `since` having been granted (drift compares them with the target). */
export async function grantsAtTarget(db: Executor, target: string, since: number): Promise<GrantAtTarget[]> {
  const rows = await db
    .selectFrom("grants")
    .innerJoin("requests", "requests.id", "grants.request_id")
    .select([
      "requests.id",
      "requests.requester",
      "requests.state",
      "requests.fields",
      "requests.expires_at",
      "requests.ended_at",
      "grants.identity",
      "grants.due_at",
    ])
    .where("grants.target", "=", target)
    .where((eb) =>
      eb.or([
        eb("requests.state", "in", liveStates),
        eb.and([eb("requests.ended_at", ">=", since), eb("grants.identity", "is not", null)]),
      ]),
    )
    .execute();
  return rows.map((r) => ({
    id: r.id,
    requester: r.requester,
    state: r.state,
    fields: JSON.parse(r.fields) as Record<string, unknown>,
    expiresAt: r.expires_at,
    endedAt: r.ended_at,
    identity: r.identity,
    dueAt: r.due_at,
  }));
}

/** A target's live grants that hold this identity, or hold none recorded yet. */
export async function liveGrantsHolding(
  db: Executor,
  target: string,
  identity: string,
): Promise<AccessRequest[]> {
  const rows = await db
    .selectFrom("requests")
    .selectAll()
    .where("state", "in", liveStates)
    .where("id", "in", (eb) =>
      eb
        .selectFrom("grants")
        .select("grants.request_id")
        .where("grants.target", "=", target)
        .where((g) => g.or([g("grants.identity", "=", identity), g("grants.identity", "is", null)])),
    )
    .execute();
  return withGrants(db, rows);
}

/** Records the last hook or target error shown with a request, outside the lifecycle. */
export async function setRequestError(db: Executor, id: string, error: string | null): Promise<void> {
  await db.updateTable("requests").set({ error }).where("id", "=", id).execute();
}

/** The waiting (pending) extension request of a grant, if there is one. */
export async function pendingExtensionOf(db: Executor, parentId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("requests")
    .select("id")
    .where("extends_id", "=", parentId)
    .where("state", "=", "pending")
    .executeTakeFirst();
  return row?.id;
}

/** Break-glass requests, newest first: all, only those not reviewed yet, or only reviewed ones. */
export async function breakGlassRows(
  db: Executor,
  reviewed: boolean | undefined,
  limit: number,
): Promise<AccessRequest[]> {
  let query = db.selectFrom("requests").selectAll().where("break_glass", "is not", null);
  if (reviewed === false) query = query.where("reviewed_at", "is", null);
  if (reviewed === true) query = query.where("reviewed_at", "is not", null);
  return withGrants(db, await query.orderBy("id", "desc").limit(limit).execute());
}

/** Records one person's decision on a request's current step; false when they had already decided. */
export async function insertDecision(db: Executor, decision: DecisionRow): Promise<boolean> {
  const result = await db
    .insertInto("decisions")
    .values(decision)
    .onConflict((oc) => oc.columns(["request_id", "actor"]).doNothing())
    .executeTakeFirst();
  // Drivers that do not count inserted rows leave it undefined: then the conflict cannot be seen, and it counts.
  return result.numInsertedOrUpdatedRows === undefined || Number(result.numInsertedOrUpdatedRows) > 0;
}
