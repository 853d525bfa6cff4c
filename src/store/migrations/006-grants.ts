// A request has grants: what was granted (a target, its bound values, an identity) and the work of
// granting and revoking it (when it is due, its lease, its failed attempts) move out of the requests
// table into one row per target granted, with the settings it was granted with, so a grant can always
// be taken away as it was given, whatever the config says by then. The scheduler leases grants for
// their work; a request keeps its own due instant and lease for its approval clock only.

import { type Kysely, sql } from "kysely";

/** The states in which a request's due work is its grant's. */
const grantStates = ["escalating", "active", "deescalating"];

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("grants")
    // The request's id, "/", the target's name.
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("request_id", "text", (c) => c.notNull())
    .addColumn("target", "text", (c) => c.notNull())
    // Who holds it, copied from the request (it never changes): overlapping grants are found by it.
    .addColumn("requester", "text", (c) => c.notNull())
    // The target plus its bound values (or the request, for a login per request): the same key is the same access.
    .addColumn("grant_key", "text", (c) => c.notNull())
    // Who the target granted it to, in the connector's canonical form; set when escalate returns.
    .addColumn("identity", "text")
    // What it was granted with (JSON: the target's type, label, settings with bound values, integration,
    // the identity asked for); written when escalate is first called. Null for grants made before this.
    .addColumn("granted_with", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    // The grant's work (escalate, expire, deescalate): when it is next due, who holds it, failed calls.
    .addColumn("due_at", "bigint")
    .addColumn("lease_owner", "text")
    .addColumn("lease_until", "bigint")
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("last_error", "text")
    .execute();
  await db.schema
    .createIndex("grants_request")
    .on("grants")
    .columns(["request_id", "target"])
    .unique()
    .execute();
  await db.schema.createIndex("grants_due").on("grants").column("due_at").execute();
  await db.schema.createIndex("grants_target").on("grants").columns(["target", "identity"]).execute();

  // One grant per request that names a target; an extension waiting for approval has none (it extends
  // its parent's). The work of grants being made, live or being revoked moves with them, and the leases
  // of the server that stopped for the upgrade are dropped.
  await sql`
    insert into grants (id, request_id, target, requester, grant_key, identity, granted_with, created_at,
                        due_at, attempts, last_error)
    select id || '/' || target, id, target, requester, coalesce(grant_key, target), grant_identity, null,
           created_at, case when state in (${sql.join(grantStates)}) then due_at end, attempts, last_error
    from requests where target is not null and extends_id is null`.execute(db);
  await sql`
    update requests set due_at = null, lease_owner = null, lease_until = null
    where state in (${sql.join(grantStates)})`.execute(db);

  await db.schema.dropIndex("requests_grant_key").execute();
  // A person's live requests, whose grants overlapping ones are compared with.
  await db.schema
    .createIndex("requests_requester_state")
    .on("requests")
    .columns(["requester", "state"])
    .execute();
  for (const column of ["grant_key", "grant_identity", "attempts", "last_error"]) {
    await db.schema.alterTable("requests").dropColumn(column).execute();
  }
}
