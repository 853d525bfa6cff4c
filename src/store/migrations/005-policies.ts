// Approval policies and notifications: the step a pending request is at, where its approval message
// has been forwarded, reminders, start-later requests, break-glass, extensions that need approval,
// the approvers each step was sent to, and each person's notification preference.

import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  const add = (column: string, type: "integer" | "bigint" | "text", notNullDefault?: number) =>
    db.schema
      .alterTable("requests")
      .addColumn(column, type, (c) =>
        notNullDefault === undefined ? c : c.notNull().defaultTo(notNullDefault),
      )
      .execute();
  // The steps whose conditions held at submission (JSON list of indices into the flow's steps).
  await add("steps", "text");
  // The policy step being decided (index into the flow's steps), and when it began.
  await add("step", "integer", 0);
  await add("step_started_at", "bigint");
  // The backup destination the approval message is at (index), and when it was forwarded there.
  await add("destination", "integer", 0);
  await add("destination_at", "bigint");
  // Reminders sent for the current step, and when the next one is due.
  await add("reminders", "integer", 0);
  await add("remind_at", "bigint");
  // When a pending request expires if no one decides (requestTimeout); due_at is the earliest of the
  // policy's instants.
  await add("deadline_at", "bigint");
  // Approve now, start later: when the grant should start.
  await add("start_at", "bigint");
  // Break-glass: the emergency's reason (null for normal requests), and who reviewed it afterwards.
  await add("break_glass", "text");
  await add("reviewed_by", "text");
  await add("reviewed_at", "bigint");
  // An extension that needs approval is its own request: the grant it extends.
  await add("extends_id", "text");
  // Extensions applied to this grant: how many, and how many seconds in all.
  await add("extensions", "integer", 0);
  await add("extended_seconds", "bigint", 0);
  await sql`update requests set deadline_at = due_at where state = 'pending'`.execute(db);
  await db.schema.createIndex("requests_break_glass").on("requests").column("break_glass").execute();

  // Which step each decision counted towards.
  await db.schema
    .alterTable("decisions")
    .addColumn("step", "integer", (c) => c.notNull().defaultTo(0))
    .execute();

  // The people each step of a request was sent to (resolved from users, channels, groups, on-call
  // schedules and getApprovers when the step began), and where they came from.
  await db.schema
    .createTable("request_approvers")
    .addColumn("request_id", "text", (c) => c.notNull())
    .addColumn("step", "integer", (c) => c.notNull())
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("added_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("request_approvers_pk", ["request_id", "step", "email"])
    .execute();
  await db.schema.createIndex("request_approvers_email").on("request_approvers").column("email").execute();

  // How each person wants to be told: "slack", "email" or "both" (absent: the default).
  await db.schema
    .createTable("preferences")
    .addColumn("email", "text", (c) => c.primaryKey())
    .addColumn("notify", "text", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
}
