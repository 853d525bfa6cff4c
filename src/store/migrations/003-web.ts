// The web app: sign-in sessions (stored by the hash of their cookie) and OIDC sign-ins in progress.

import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("sessions")
    .addColumn("id_hash", "text", (c) => c.primaryKey())
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("csrf", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("sessions_expires").on("sessions").column("expires_at").execute();

  // The state, PKCE verifier and nonce of a sign-in between the redirect to the provider and its return.
  await db.schema
    .createTable("login_attempts")
    .addColumn("state", "text", (c) => c.primaryKey())
    .addColumn("code_verifier", "text", (c) => c.notNull())
    .addColumn("nonce", "text", (c) => c.notNull())
    .addColumn("next", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  // Abandoned sign-ins are deleted by age on every new one: an index keeps that cheap.
  await db.schema.createIndex("login_attempts_created").on("login_attempts").column("created_at").execute();
}
