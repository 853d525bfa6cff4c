// The people each step of a request was sent to, and the source each came from (a step's sources, a backup
// destination), kept so that who may decide, and who hears of the outcome, does not change with the directory.

import type { Executor } from "./requests.ts";

/** The source of approvers added when a request is forwarded to a backup destination. */
export const backupSource = "destination";

/** Stores the people a step was sent to (a person already stored for the step keeps their first source). */
export async function storeApprovers(
  trx: Executor,
  requestId: string,
  step: number,
  people: readonly { email: string; source: string }[],
  now: number,
): Promise<void> {
  if (people.length === 0) return;
  await trx
    .insertInto("request_approvers")
    .values(
      people.map((p) => ({ request_id: requestId, step, email: p.email, source: p.source, added_at: now })),
    )
    .onConflict((oc) => oc.columns(["request_id", "step", "email"]).doNothing())
    .execute();
}

/** The people a step of a request was sent to, by email (only its backup approvers, with `onlyBackups`). */
export async function approversOf(
  db: Executor,
  requestId: string,
  step: number,
  onlyBackups = false,
): Promise<string[]> {
  let query = db
    .selectFrom("request_approvers")
    .select("email")
    .where("request_id", "=", requestId)
    .where("step", "=", step);
  if (onlyBackups) query = query.where("source", "=", backupSource);
  return (await query.orderBy("email").execute()).map((r) => r.email);
}

/** Everyone any step of a request was sent to, so far, once each, by email. */
export async function everyApproverOf(
  db: Executor,
  requestId: string,
  onlyBackups = false,
): Promise<string[]> {
  let query = db
    .selectFrom("request_approvers")
    .select("email")
    .distinct()
    .where("request_id", "=", requestId);
  if (onlyBackups) query = query.where("source", "=", backupSource);
  return (await query.orderBy("email").execute()).map((r) => r.email);
}

/** The people a step of a request was sent to, in the order the database returns them. */
export async function askedAtStep(db: Executor, requestId: string, step: number): Promise<string[]> {
  const rows = await db
    .selectFrom("request_approvers")
    .select("email")
    .where("request_id", "=", requestId)
    .where("step", "=", step)
    .execute();
  return rows.map((r) => r.email);
}

/**
 * Everyone any step of a request was sent to, once per step (a person asked at two steps comes twice), in
 * the order the database returns them.
 */
export async function everyoneAsked(db: Executor, requestId: string): Promise<string[]> {
  const rows = await db
    .selectFrom("request_approvers")
    .select("email")
    .where("request_id", "=", requestId)
    .execute();
  return rows.map((r) => r.email);
}
