// Events of the Sym-compatible API: each request or deescalation it accepted, so its status can be asked later.

import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { ApiEventsTable, Database } from "./schema.ts";

/** Records an event the API accepted for a request ("request", "deescalate"); returns its new id. */
export async function recordApiEvent(
  db: Kysely<Database>,
  requestId: string,
  name: string,
  now: number,
): Promise<string> {
  const id = randomUUID();
  await db.insertInto("api_events").values({ id, request_id: requestId, name, created_at: now }).execute();
  return id;
}

/** The event with this id, if there is one. */
export async function getApiEvent(db: Kysely<Database>, id: string): Promise<ApiEventsTable | undefined> {
  return db.selectFrom("api_events").selectAll().where("id", "=", id).executeTakeFirst();
}
