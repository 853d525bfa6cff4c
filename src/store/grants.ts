import type { Executor } from "./database.ts";
import type { GrantsTable } from "./schema.ts";

/**
 * What a grant was made with, recorded when escalate is first called, so that taking it away never
 * depends on the config as it is by then (a target renamed, removed, re-pointed or given a binding).
 * Secrets are references ({ env: "NAME" }), never values: the config cannot hold a secret inline.
 */
export interface GrantedWith {
  /** The connector type, e.g. "postgres_role". */
  type: string;
  label: string;
  /** The target's configured settings (its connection), without the keys a request fills in. */
  fixed: Record<string, unknown>;
  /** The settings of the call: the fixed ones with the request's bound values filled in. */
  settings: unknown;
  /** The settings of the integration the target used (Okta, GitHub), if any. */
  integration: unknown;
  /** The identity escalate was asked to grant to, before the target put it in its canonical form. */
  identity: string;
  identityIsEmail: boolean;
  /** The identity was one of the target's standing members: jitflow never takes their access away. */
  standing: boolean;
}

export interface Grant {
  /** The request's id, "/", the target's name. */
  id: string;
  requestId: string;
  target: string;
  requester: string;
  /** The target plus its bound values (or the request, for a login per request): same key, same access. */
  key: string;
  /** Who the target granted it to, in its canonical form; null until escalate returned. */
  identity: string | null;
  /** Null for a grant made before jitflow recorded it (schema 006), or not yet attempted. */
  grantedWith: GrantedWith | null;
  createdAt: number;
  /** When its work (escalate, expire, deescalate) is next due; null when there is none. */
  dueAt: number | null;
  leaseOwner: string | null;
  leaseUntil: number | null;
  /** Failed target calls in a row, and the last one's error. */
  attempts: number;
  lastError: string | null;
}

/** What a command or the scheduler changes on a grant. */
export type GrantChanges = Partial<
  Pick<Grant, "identity" | "grantedWith" | "dueAt" | "leaseOwner" | "leaseUntil" | "attempts" | "lastError">
>;

/** A new grant of a request, nothing done yet. */
export function newGrant(
  requestId: string,
  target: string,
  requester: string,
  key: string,
  now: number,
): Grant {
  return {
    id: `${requestId}/${target}`,
    requestId,
    target,
    requester,
    key,
    identity: null,
    grantedWith: null,
    createdAt: now,
    dueAt: null,
    leaseOwner: null,
    leaseUntil: null,
    attempts: 0,
    lastError: null,
  };
}

export function toGrant(row: GrantsTable): Grant {
  return {
    id: row.id,
    requestId: row.request_id,
    target: row.target,
    requester: row.requester,
    key: row.grant_key,
    identity: row.identity,
    grantedWith: row.granted_with === null ? null : (JSON.parse(row.granted_with) as GrantedWith),
    createdAt: Number(row.created_at),
    dueAt: row.due_at === null ? null : Number(row.due_at),
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until === null ? null : Number(row.lease_until),
    attempts: row.attempts,
    lastError: row.last_error,
  };
}

/** The columns of a patch. */
function columnsOf(changes: GrantChanges): Partial<GrantsTable> {
  const set: Partial<GrantsTable> = {};
  if (changes.identity !== undefined) set.identity = changes.identity;
  if (changes.grantedWith !== undefined)
    set.granted_with = changes.grantedWith === null ? null : JSON.stringify(changes.grantedWith);
  if (changes.dueAt !== undefined) set.due_at = changes.dueAt;
  if (changes.leaseOwner !== undefined) set.lease_owner = changes.leaseOwner;
  if (changes.leaseUntil !== undefined) set.lease_until = changes.leaseUntil;
  if (changes.attempts !== undefined) set.attempts = changes.attempts;
  if (changes.lastError !== undefined) set.last_error = changes.lastError;
  return set;
}

export async function insertGrant(db: Executor, grant: Grant): Promise<void> {
  await db
    .insertInto("grants")
    .values({
      id: grant.id,
      request_id: grant.requestId,
      target: grant.target,
      requester: grant.requester,
      grant_key: grant.key,
      created_at: grant.createdAt,
      identity: null,
      granted_with: null,
      due_at: null,
      lease_owner: null,
      lease_until: null,
      attempts: 0,
      last_error: null,
      ...columnsOf(grant),
    })
    .execute();
}

/**
 * Changes a grant; with `heldBy`, only while that owner still holds its lease, and with `requestVersion`,
 * only while its request is still at that version. False when it did not apply.
 */
export async function updateGrant(
  db: Executor,
  id: string,
  changes: GrantChanges,
  only: { heldBy?: string; requestVersion?: number } = {},
): Promise<boolean> {
  const set = columnsOf(changes);
  if (Object.keys(set).length === 0) return true;
  let q = db.updateTable("grants").set(set).where("id", "=", id);
  if (only.heldBy !== undefined) q = q.where("lease_owner", "=", only.heldBy);
  if (only.requestVersion !== undefined) {
    const version = only.requestVersion;
    q = q.where("request_id", "in", (eb) =>
      eb.selectFrom("requests").select("requests.id").where("requests.version", "=", version),
    );
  }
  const result = await q.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** The request ids of these grants that `owner` still holds the lease on. */
export async function requestsOfLeasedGrants(
  db: Executor,
  owner: string,
  ids: readonly string[],
): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom("grants")
    .select("request_id")
    .where("id", "in", ids)
    .where("lease_owner", "=", owner)
    .execute();
  return rows.map((r) => r.request_id);
}

/** The grants of these requests, by request id (today at most one each), read 500 requests at a time. */
export async function grantsOf(db: Executor, requestIds: readonly string[]): Promise<Map<string, Grant>> {
  const out = new Map<string, Grant>();
  for (let i = 0; i < requestIds.length; i += 500) {
    const rows = await db
      .selectFrom("grants")
      .selectAll()
      .where("request_id", "in", requestIds.slice(i, i + 500))
      .execute();
    for (const row of rows) out.set(row.request_id, toGrant(row));
  }
  return out;
}

/** The live grants (of escalating, active or deescalating requests), counted per target and record. */
export async function liveGrantsByRecord(
  db: Executor,
): Promise<{ target: string; grantedWith: GrantedWith | null; count: number }[]> {
  const rows = await db
    .selectFrom("grants")
    .innerJoin("requests", "requests.id", "grants.request_id")
    .select(["grants.target", "grants.granted_with", (eb) => eb.fn.countAll().as("count")])
    .where("requests.state", "in", ["escalating", "active", "deescalating"])
    .groupBy(["grants.target", "grants.granted_with"])
    .execute();
  return rows.map((r) => ({
    target: r.target,
    grantedWith: r.granted_with === null ? null : (JSON.parse(r.granted_with) as GrantedWith),
    count: Number(r.count),
  }));
}
