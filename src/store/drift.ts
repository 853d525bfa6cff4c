// Drift detection's tables: the findings reported so far (drift_findings), the scopes of each target listed
// at least once (drift_scopes), and each target's last check with the lease of the replica checking it (drift_runs).

import type { Kysely } from "kysely";
import type { Executor } from "./requests.ts";
import type { Database, DriftFindingsTable } from "./schema.ts";

export type DriftFindingRow = DriftFindingsTable;

/** The scope keys of a target listed before: only these may be acted on. */
export async function knownDriftScopes(db: Executor, target: string): Promise<Set<string>> {
  const rows = await db.selectFrom("drift_scopes").select("scope").where("target", "=", target).execute();
  return new Set(rows.map((r) => r.scope));
}

/** Remembers that a scope of the target has been listed (once). */
export async function recordDriftScope(
  db: Executor,
  target: string,
  scope: string,
  now: number,
): Promise<void> {
  await db
    .insertInto("drift_scopes")
    .values({ target, scope, first_listed: now })
    .onConflict((oc) => oc.columns(["target", "scope"]).doNothing())
    .execute();
}

/** The findings reported for a target so far. */
export async function driftFindingsOf(db: Executor, target: string): Promise<DriftFindingRow[]> {
  return db.selectFrom("drift_findings").selectAll().where("target", "=", target).execute();
}

/** A finding seen again: its last_seen moves to now. */
export async function touchDriftFinding(
  db: Executor,
  finding: Pick<DriftFindingRow, "target" | "identity" | "kind">,
  now: number,
): Promise<void> {
  await db
    .updateTable("drift_findings")
    .set({ last_seen: now })
    .where("target", "=", finding.target)
    .where("identity", "=", finding.identity)
    .where("kind", "=", finding.kind)
    .execute();
}

/** A new finding (once: a finding already recorded stays as it was). */
export async function recordDriftFinding(
  db: Executor,
  finding: Pick<DriftFindingRow, "target" | "identity" | "kind" | "request_id">,
  now: number,
): Promise<void> {
  await db
    .insertInto("drift_findings")
    .values({ ...finding, first_seen: now, last_seen: now })
    .onConflict((oc) => oc.columns(["target", "identity", "kind"]).doNothing())
    .execute();
}

/** A finding that went away is forgotten, so it is reported again if it comes back. */
export async function forgetDriftFinding(
  db: Executor,
  finding: Pick<DriftFindingRow, "target" | "identity" | "kind">,
): Promise<void> {
  await db
    .deleteFrom("drift_findings")
    .where("target", "=", finding.target)
    .where("identity", "=", finding.identity)
    .where("kind", "=", finding.kind)
    .execute();
}

/**
 * Leases the target's drift check to `owner` when the last check is `intervalMs` old and no other replica
 * holds the lease; false when it is not due or taken.
 */
export async function claimDriftRun(
  db: Kysely<Database>,
  target: string,
  owner: string,
  now: number,
  intervalMs: number,
  leaseMs: number,
): Promise<boolean> {
  await db
    .insertInto("drift_runs")
    .values({ target, last_run_at: 0, lease_owner: null, lease_until: null })
    .onConflict((oc) => oc.column("target").doNothing())
    .execute();
  const claimed = await db
    .updateTable("drift_runs")
    .set({ lease_owner: owner, lease_until: now + leaseMs })
    .where("target", "=", target)
    .where("last_run_at", "<=", now - intervalMs)
    .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", now)]))
    .returning("last_run_at")
    .executeTakeFirst();
  return claimed !== undefined;
}

/** Keeps the lease while the check runs. */
export async function renewDriftRun(
  db: Kysely<Database>,
  target: string,
  owner: string,
  until: number,
): Promise<void> {
  await db
    .updateTable("drift_runs")
    .set({ lease_until: until })
    .where("target", "=", target)
    .where("lease_owner", "=", owner)
    .execute();
}

/** The check is done: its time is recorded and the lease given back. */
export async function finishDriftRun(
  db: Kysely<Database>,
  target: string,
  owner: string,
  now: number,
): Promise<void> {
  await db
    .updateTable("drift_runs")
    .set({ last_run_at: now, lease_owner: null, lease_until: null })
    .where("target", "=", target)
    .where("lease_owner", "=", owner)
    .execute();
}
