// Real targets: which grant a request is (for overlaps), the identity it was granted to, temporary
// credentials waiting for their requester, and what drift detection has already reported.

import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // The grant a request gives: its target, plus the values of the target's field bindings, plus the
  // request itself for targets that create a login per request. Requests of one person with the same
  // grant_key overlap: the last to end takes the access away.
  await db.schema.alterTable("requests").addColumn("grant_key", "text").execute();
  // The identity the target was granted to, in the connector's canonical form (a DN, a login).
  await db.schema.alterTable("requests").addColumn("grant_identity", "text").execute();
  await sql`update requests set grant_key = target where target is not null`.execute(db);
  await db.schema
    .createIndex("requests_grant_key")
    .on("requests")
    .columns(["requester", "grant_key", "state"])
    .execute();

  // A temporary login's password, sealed (AES-256-GCM) with credentials.encryptionKey; deleted when the grant ends.
  await db.schema
    .createTable("grant_credentials")
    .addColumn("request_id", "text", (c) => c.primaryKey())
    .addColumn("sealed", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();

  // Differences between a target and jitflow's grants, reported once when first seen and
  // forgotten when they go away.
  await db.schema
    .createTable("drift_findings")
    .addColumn("target", "text", (c) => c.notNull())
    .addColumn("identity", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("request_id", "text")
    .addColumn("first_seen", "bigint", (c) => c.notNull())
    .addColumn("last_seen", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("drift_findings_pk", ["target", "identity", "kind"])
    .execute();

  // One reconciler at a time per target, across replicas.
  await db.schema
    .createTable("drift_runs")
    .addColumn("target", "text", (c) => c.primaryKey())
    .addColumn("last_run_at", "bigint", (c) => c.notNull())
    .addColumn("lease_owner", "text")
    .addColumn("lease_until", "bigint")
    .execute();

  // The scopes of a target (its effective settings, hashed) listed at least once: unmanaged access
  // is revoked only in a scope already listed before, never on its first listing.
  await db.schema
    .createTable("drift_scopes")
    .addColumn("target", "text", (c) => c.notNull())
    .addColumn("scope", "text", (c) => c.notNull())
    .addColumn("first_listed", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("drift_scopes_pk", ["target", "scope"])
    .execute();
}
