// Slack: ordered and de-duplicated outbox messages, the approval messages posted per request, and seen request signatures.

import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // Messages with the same order key are delivered one after another, in id order (a Slack channel's
  // messages, a request's approval message and its updates); a dedupe key makes an insert idempotent.
  await db.schema.alterTable("outbox").addColumn("order_key", "text").execute();
  await db.schema.alterTable("outbox").addColumn("dedupe_key", "text").execute();
  await db.schema
    .createIndex("outbox_order")
    .on("outbox")
    .columns(["order_key", "delivered_at", "id"])
    .execute();
  await db.schema.createIndex("outbox_dedupe").on("outbox").column("dedupe_key").unique().execute();

  await db.schema
    .createTable("slack_messages")
    .addColumn("request_id", "text", (c) => c.notNull())
    .addColumn("destination", "text", (c) => c.notNull())
    .addColumn("channel", "text", (c) => c.notNull())
    .addColumn("ts", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("slack_messages_pk", ["request_id", "destination"])
    .execute();

  // Signatures of Slack requests already accepted, kept a little longer than the 5-minute window in
  // which a replayed copy would otherwise pass the timestamp check.
  await db.schema
    .createTable("slack_seen")
    .addColumn("signature", "text", (c) => c.primaryKey())
    .addColumn("seen_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("slack_seen_at").on("slack_seen").column("seen_at").execute();
}
