// The grants a request gives (one row per target granted): who holds it, the same-access key, the
// identity granted to and what it was granted with, read as typed Grant objects (JSON parsed once).

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
}

export function toGrant(row: GrantsTable): Grant {
  return {
    requestId: row.request_id,
    target: row.target,
    requester: row.requester,
    key: row.grant_key,
    identity: row.identity,
    grantedWith: row.granted_with === null ? null : (JSON.parse(row.granted_with) as GrantedWith),
    createdAt: Number(row.created_at),
  };
}

export async function insertGrant(db: Executor, grant: Grant): Promise<void> {
  await db
    .insertInto("grants")
    .values({
      request_id: grant.requestId,
      target: grant.target,
      requester: grant.requester,
      grant_key: grant.key,
      identity: grant.identity,
      granted_with: grant.grantedWith === null ? null : JSON.stringify(grant.grantedWith),
      created_at: grant.createdAt,
    })
    .execute();
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

/** Records who a grant went to and what it was made with (either may be left as it is). */
export async function recordGrant(
  db: Executor,
  grant: Pick<Grant, "requestId" | "target">,
  record: { identity?: string; grantedWith?: GrantedWith },
): Promise<void> {
  const set: Partial<GrantsTable> = {};
  if (record.identity !== undefined) set.identity = record.identity;
  if (record.grantedWith !== undefined) set.granted_with = JSON.stringify(record.grantedWith);
  if (Object.keys(set).length === 0) return;
  await db
    .updateTable("grants")
    .set(set)
    .where("request_id", "=", grant.requestId)
    .where("target", "=", grant.target)
    .execute();
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
