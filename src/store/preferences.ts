// Each person's notification preference: how jitflow tells them about requests (Slack, email or both).

import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";

export const notifyPreferences = ["slack", "email", "both"] as const;
export type NotifyPreference = (typeof notifyPreferences)[number];

/** Which channels the server has configured. */
export interface Channels {
  slack: boolean;
  email: boolean;
}

/** What a person who never chose gets: every configured channel; Slack when none is, as before email. */
export function defaultPreference(channels: Channels): NotifyPreference {
  if (channels.slack && channels.email) return "both";
  return channels.email ? "email" : "slack";
}

const isPreference = (value: string): value is NotifyPreference =>
  (notifyPreferences as readonly string[]).includes(value);

/** The person's stored preference; undefined when they never chose one (the server's default applies). */
export async function getPreference(
  db: Kysely<Database>,
  email: string,
): Promise<NotifyPreference | undefined> {
  const row = await db
    .selectFrom("preferences")
    .select("notify")
    .where("email", "=", email.toLowerCase())
    .executeTakeFirst();
  // A value this version does not know (written by a newer one) counts as no choice, not as an error.
  return row && isPreference(row.notify) ? row.notify : undefined;
}

/**
 * The stored preferences of many people in one query, keyed by lower-cased email; people without
 * one are absent from the map.
 */
export async function getPreferences(
  db: Kysely<Database>,
  emails: string[],
): Promise<Map<string, NotifyPreference>> {
  const found = new Map<string, NotifyPreference>();
  const wanted = [...new Set(emails.map((e) => e.toLowerCase()))];
  if (wanted.length === 0) return found;
  const rows = await db
    .selectFrom("preferences")
    .select(["email", "notify"])
    .where("email", "in", wanted)
    .execute();
  for (const row of rows) if (isPreference(row.notify)) found.set(row.email, row.notify);
  return found;
}

/** Stores the person's preference, replacing any earlier one. */
export async function setPreference(
  db: Kysely<Database>,
  email: string,
  notify: NotifyPreference,
  now: number,
): Promise<void> {
  await db
    .insertInto("preferences")
    .values({ email: email.toLowerCase(), notify, updated_at: now })
    .onConflict((oc) => oc.column("email").doUpdateSet({ notify, updated_at: now }))
    .execute();
}
