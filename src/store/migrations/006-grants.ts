// A request has grants: what was granted (a target, its bound values, an identity) moves out of the
// requests table into one row per target granted, with the settings it was granted with, so a grant
// can always be taken away as it was given, whatever the config says by then.

import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("grants")
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
    .addPrimaryKeyConstraint("grants_pk", ["request_id", "target"])
    .execute();
  await db.schema.createIndex("grants_holder").on("grants").columns(["requester", "grant_key"]).execute();
  await db.schema.createIndex("grants_target").on("grants").columns(["target", "identity"]).execute();

  // An extension waiting for approval grants nothing of its own (it extends its parent's grant).
  await sql`
    insert into grants (request_id, target, requester, grant_key, identity, granted_with, created_at)
    select id, target, requester, coalesce(grant_key, target), grant_identity, null, created_at
    from requests where target is not null and extends_id is null`.execute(db);

  await db.schema.dropIndex("requests_grant_key").execute();
  await db.schema.alterTable("requests").dropColumn("grant_key").execute();
  await db.schema.alterTable("requests").dropColumn("grant_identity").execute();
}
