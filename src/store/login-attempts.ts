// Web sign-ins started at the OIDC provider and not yet finished: their state, PKCE verifier and nonce.

import type { Kysely } from "kysely";
import type { Database, LoginAttemptsTable } from "./schema.ts";

/** Remembers a sign-in sent to the provider, until it comes back or is forgotten. */
export async function recordLoginAttempt(db: Kysely<Database>, attempt: LoginAttemptsTable): Promise<void> {
  await db.insertInto("login_attempts").values(attempt).execute();
}

/**
 * Takes the sign-in with this state out of the table and returns it. Whoever deletes it is the only one who
 * may finish it: a caller that loses the race gets undefined, as for a state that was never there.
 */
export async function claimLoginAttempt(
  db: Kysely<Database>,
  state: string,
): Promise<LoginAttemptsTable | undefined> {
  const row = await db.selectFrom("login_attempts").selectAll().where("state", "=", state).executeTakeFirst();
  if (!row) return undefined;
  const deleted = await db.deleteFrom("login_attempts").where("state", "=", state).executeTakeFirst();
  return deleted.numDeletedRows === 1n ? row : undefined;
}

/** Forgets sign-ins started before `before` (abandoned at the provider). */
export async function forgetLoginAttempts(db: Kysely<Database>, before: number): Promise<void> {
  await db.deleteFrom("login_attempts").where("created_at", "<", before).execute();
}
