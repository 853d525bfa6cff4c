// Web sign-in sessions: the cookie's value is never stored, only its SHA-256; each has a CSRF token and an expiry.

import { createHash, randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database, SessionsTable } from "./schema.ts";

const hash = (value: string): string => createHash("sha256").update(value).digest("hex");

export async function createSession(
  db: Kysely<Database>,
  person: { email: string; name: string },
  now: number,
  ttlMs: number,
): Promise<{ cookie: string; session: SessionsTable }> {
  const cookie = randomBytes(32).toString("base64url");
  const session: SessionsTable = {
    id_hash: hash(cookie),
    email: person.email,
    name: person.name,
    csrf: randomBytes(24).toString("base64url"),
    created_at: now,
    expires_at: now + ttlMs,
  };
  await db.insertInto("sessions").values(session).execute();
  return { cookie, session };
}

/** The live session a cookie names, if any. */
export async function findSession(
  db: Kysely<Database>,
  cookie: string,
  now: number,
): Promise<SessionsTable | undefined> {
  const row = await db
    .selectFrom("sessions")
    .selectAll()
    .where("id_hash", "=", hash(cookie))
    .executeTakeFirst();
  return row && row.expires_at > now ? row : undefined;
}

export async function deleteSession(db: Kysely<Database>, cookie: string): Promise<void> {
  await db.deleteFrom("sessions").where("id_hash", "=", hash(cookie)).execute();
}

/** Forgets expired sessions and abandoned sign-ins. */
export async function pruneSessions(db: Kysely<Database>, now: number): Promise<void> {
  await db.deleteFrom("sessions").where("expires_at", "<=", now).execute();
  await db
    .deleteFrom("login_attempts")
    .where("created_at", "<", now - 10 * 60_000)
    .execute();
}
