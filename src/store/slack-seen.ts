// Signatures of the Slack requests already received, so a replayed request is refused.

import type { Kysely, Transaction } from "kysely";
import type { Database } from "./schema.ts";

/** Records a request's signature; false when it was already recorded (a replay). */
export async function markSlackSignatureSeen(
  trx: Transaction<Database>,
  signature: string,
  now: number,
): Promise<boolean> {
  const result = await trx
    .insertInto("slack_seen")
    .values({ signature, seen_at: now })
    .onConflict((oc) => oc.column("signature").doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Forgets the signatures seen before `before`. */
export async function forgetSlackSignatures(db: Kysely<Database>, before: number): Promise<void> {
  await db.deleteFrom("slack_seen").where("seen_at", "<", before).execute();
}
