// Where each request's approval messages were posted in Slack, so they can be updated and replied to.

import type { Kysely } from "kysely";
import type { Database, SlackMessagesTable } from "./schema.ts";

/**
 * Remembers an approval message posted for a request at a destination ("#channel", "dm:email",
 * "group:email,email"); a destination already remembered for the request keeps its first message.
 */
export async function recordSlackMessage(
  db: Kysely<Database>,
  message: { requestId: string; destination: string; channel: string; ts: string },
  now: number,
): Promise<void> {
  await db
    .insertInto("slack_messages")
    .values({
      request_id: message.requestId,
      destination: message.destination,
      channel: message.channel,
      ts: message.ts,
      created_at: now,
    })
    .onConflict((oc) => oc.columns(["request_id", "destination"]).doNothing())
    .execute();
}

/** The destinations a request's approval message was already posted to. */
export async function postedDestinations(db: Kysely<Database>, requestId: string): Promise<string[]> {
  const rows = await db
    .selectFrom("slack_messages")
    .select("destination")
    .where("request_id", "=", requestId)
    .execute();
  return rows.map((r) => r.destination);
}

/** Where a request's approval messages went: each one's conversation and timestamp. */
export async function slackMessagesOf(
  db: Kysely<Database>,
  requestId: string,
): Promise<SlackMessagesTable[]> {
  return db.selectFrom("slack_messages").selectAll().where("request_id", "=", requestId).execute();
}
