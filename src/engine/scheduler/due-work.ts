// Due work on claimed rows: time out pending requests, escalate, expire and deescalate grants, in batched transactions.

import { messageOf, retryAfterOf } from "../../errors.ts";
import { backoffMs } from "../../lib/backoff.ts";
import { metrics } from "../../lib/metrics.ts";
import type { GrantCredentials } from "../../model/types.ts";
import { deleteCredentials, parseKey, seal, storeCredentials } from "../../store/credentials.ts";
import { type Grant, type GrantedWith, requestsOfLeasedGrants, updateGrant } from "../../store/grants.ts";
import { setLeases } from "../../store/leases.ts";
import {
  type AccessRequest,
  type DecisionRow,
  getDecisions,
  getDecisionsOf,
  getRequest,
  getRequests,
  leasedRequests,
  liveGrantsOf,
  sameGrant,
  updateRequest,
  wakeWaitingEscalations,
} from "../../store/requests.ts";
import { vetBoundValues } from "../../targets/bound-values.ts";
import { OwnIdentityError, PermanentTargetError } from "../../targets/target.ts";
import { tickPending } from "../approval/pending.ts";
import { ConflictError } from "../changes.ts";
import { type EngineDeps, inTransaction } from "../deps.ts";
import { flowOf, reportAfterHook } from "../engine.ts";
import { grantedTargetOf, grantedWith } from "../granted-targets.ts";
import { runAfterHook, runOnHook } from "../hooks.ts";
import { systemActor, toEvent } from "../read/views.ts";
import { prepareCall } from "../target-calls.ts";

/** What escalate was called with, to keep with the grant (set whenever the target was called). */
type Called = { grantedWith?: GrantedWith };

type Outcome =
  | ({
      kind: "escalated";
      row: AccessRequest;
      identity: string;
      credentials?: GrantCredentials | undefined;
    } & Called)
  | {
      kind: "deescalated";
      row: AccessRequest;
      sharedWith: string[];
      standing?: boolean;
      /** The target was left alone: the identity is jitflow's own (why, in words). */
      refused?: string;
    }
  | ({ kind: "failed"; row: AccessRequest; error: string } & Called)
  | ({
      kind: "retry";
      row: AccessRequest;
      error: string;
      deferMs?: number;
      retryAfterMs?: number | undefined;
    } & Called)
  | { kind: "skip"; row: AccessRequest };

/** What a batch leased: requests whose own work is due (approval clock, start), and grants whose work is. */
export interface Claimed {
  requests: readonly string[];
  grants: readonly string[];
}

/**
 * Processes the requests and grants this owner has leased. The leases are renewed all along, so a
 * batch of slow calls is not taken over (and its calls made again) by another replica, or another
 * batch, halfway through.
 */
export async function processDue(deps: EngineDeps, owner: string, claimed: Claimed): Promise<void> {
  const { leaseMs } = deps.config.config.scheduler;
  // Grants this batch starts leases too (an approved request starting), renewed with the others.
  const grants = new Set(claimed.grants);
  const heartbeat = setInterval(() => {
    const until = deps.clock.now() + leaseMs;
    void Promise.all([
      setLeases(deps.store.db, "requests", owner, claimed.requests, until),
      setLeases(deps.store.db, "grants", owner, [...grants], until),
    ]).catch((err: unknown) => {
      deps.logger.warn({ err }, "could not renew leases");
    });
  }, leaseMs / 3);
  let applied: Outcome[];
  try {
    applied = await runPhases(deps, owner, claimed, grants);
  } finally {
    clearInterval(heartbeat);
  }
  for (const outcome of applied) await afterHooks(deps, outcome);
}

async function runPhases(
  deps: EngineDeps,
  owner: string,
  claimed: Claimed,
  grants: Set<string>,
): Promise<Outcome[]> {
  const { leaseMs } = deps.config.config.scheduler;
  // Phase 1, one transaction: decisions that need no outside call, and the intent written before any call.
  // Rows are read again here: a command (revoke, extend) may have changed one since it was leased.
  const started = await inTransaction(deps, async (changes) => {
    const out: AccessRequest[] = [];
    const { now, trx } = changes;
    const release = { leaseOwner: null, leaseUntil: null };
    // The requests' own work: their approval clock, and starting their grant.
    for (const row of await leasedRequests(trx, owner, claimed.requests)) {
      const due = row.dueAt !== null && row.dueAt <= now;
      if (!due) {
        if (!(await updateRequest(trx, row, release))) throw new ConflictError(row.id);
      } else if (row.state === "pending") {
        await tickPending(deps, changes, row, release);
      } else if (row.state === "approved" && row.extendsId !== null) {
        // An approved extension grants nothing of its own: its grant was extended when it was approved.
        if (!(await updateRequest(trx, row, { ...release, dueAt: null }))) throw new ConflictError(row.id);
      } else if (row.state === "approved" && row.grant && activationMissed(deps, row, now)) {
        await changes.apply(
          row,
          "timeout",
          "jitflow",
          { ...release, dueAt: null },
          { reason: "the grant did not start within the flow's activationWindow" },
        );
      } else if (row.state === "approved" && row.grant) {
        // From here on the work is the grant's, and this batch holds its lease.
        const expiresAt = now + Number(row.duration) * 1000;
        out.push(
          await changes.apply(row, "start_escalation", "jitflow", {
            ...release,
            dueAt: null,
            expiresAt: expiresAt,
            grant: { dueAt: now, leaseOwner: owner, leaseUntil: now + leaseMs, attempts: 0, lastError: null },
          }),
        );
        grants.add(row.grant.id);
      } else if (!(await updateRequest(trx, row, { ...release, dueAt: null }))) {
        throw new ConflictError(row.id);
      }
    }
    // The grants' work: escalate, expire, deescalate.
    const grantRows = await getRequests(trx, await requestsOfLeasedGrants(trx, owner, claimed.grants));
    for (const row of grantRows) {
      const grant = row.grant;
      if (!grant) continue;
      const due = grant.dueAt !== null && grant.dueAt <= now;
      const letGo = { leaseOwner: null, leaseUntil: null };
      if (!due) {
        await updateGrant(trx, grant.id, letGo, { heldBy: owner });
      } else if (row.state === "active") {
        // The grant stays due (its due instant has come) until the revocation is recorded.
        out.push(
          await changes.apply(row, "expire", "jitflow", {
            endedReason: "scheduled",
            grant: { attempts: 0, lastError: null },
          }),
        );
      } else if (row.state === "escalating") {
        // The expiry the target is told, and the one enforced, is written before each attempt
        // (unless it was written moments ago, by the approval itself).
        const expiresAt = now + Number(row.duration) * 1000;
        const writtenAt = (row.expiresAt ?? 0) - Number(row.duration) * 1000;
        if (grant.attempts === 0 && now - writtenAt <= 1000) {
          out.push(row);
        } else if (await updateRequest(trx, row, { expiresAt: expiresAt })) {
          out.push({ ...row, expiresAt: expiresAt, version: row.version + 1 });
        } else {
          throw new ConflictError(row.id);
        }
      } else if (row.state === "deescalating") {
        out.push(row);
      } else {
        await updateGrant(trx, grant.id, { ...letGo, dueAt: null }, { heldBy: owner });
      }
    }
    return out;
  });

  // Phase 2: calls to targets, concurrently, outside any transaction. What the calls need to know
  // (decisions, other live grants of the same access) is read once for the batch, after phase 1.
  const batch = await readBatch(deps, started);
  const outcomes = await mapLimit(
    started,
    deps.config.config.scheduler.concurrency,
    async (row): Promise<Outcome> => {
      // Whatever goes wrong with one row is that row's retry, never the whole batch's.
      try {
        return await (row.state === "escalating"
          ? escalateOne(deps, batch, row)
          : deescalateOne(deps, batch, row));
      } catch (err) {
        return { kind: "retry", row, error: messageOf(err) };
      }
    },
  );

  // Phase 3, one transaction: record what the targets said.
  return recordOutcomes(deps, owner, outcomes);
}

/** An approved request that should have started more than the flow's activationWindow ago. */
function activationMissed(deps: EngineDeps, row: AccessRequest, now: number): boolean {
  const window = flowOf(deps, row.flow)?.config.activationWindow;
  if (window === undefined) return false;
  const due = row.startAt ?? row.decidedAt ?? row.updatedAt;
  return now > due + window * 1000;
}

async function recordOutcomes(deps: EngineDeps, owner: string, outcomes: Outcome[]): Promise<Outcome[]> {
  const { retryBaseMs, retryMaxMs } = deps.config.config.scheduler;
  return inTransaction(deps, async (changes) => {
    const done: Outcome[] = [];
    const now = changes.now;
    // Deferred escalations go last, so they see revocations this same batch has just finished.
    const ordered = [...outcomes].sort((a, b) => Number(isDeferral(a)) - Number(isDeferral(b)));
    const currentRows = new Map<string, AccessRequest>();
    for (const r of await getRequests(
      changes.trx,
      ordered.map((o) => o.row.id),
    )) {
      currentRows.set(r.id, r);
    }
    // Requests of the same grant that waited for a revocation this batch finished may go now.
    const revoked: Grant[] = [];
    let woken = false;
    const wakeWaiting = async () => {
      woken = true;
      await wakeWaitingEscalations(changes.trx, revoked, now);
    };
    for (const outcome of ordered) {
      const { row } = outcome;
      const grant = row.grant;
      if (!woken && isDeferral(outcome)) await wakeWaiting();
      if (!grant) continue;
      const current = currentRows.get(row.id);
      const unchanged = current && current.version === row.version && current.grant?.leaseOwner === owner;
      if (!unchanged || outcome.kind === "skip") {
        await setLeases(changes.trx, "grants", owner, [grant.id], null);
        continue;
      }
      const release = { leaseOwner: null, leaseUntil: null };
      // What escalate was called with, kept whatever it answered (a half-done grant is revoked with it).
      const record =
        outcome.kind !== "deescalated" && outcome.grantedWith ? { grantedWith: outcome.grantedWith } : {};
      if (outcome.kind === "escalated") {
        const flow = flowOf(deps, row.flow);
        const expiresAt = row.expiresAt ?? now + Number(row.duration) * 1000;
        const scheduled = flow?.config.scheduleDeescalation ?? true;
        if (outcome.credentials) await keepCredentials(deps, changes.trx, row, outcome.credentials, now);
        await changes.apply(
          row,
          "escalated",
          "jitflow",
          {
            activatedAt: now,
            expiresAt: expiresAt,
            grant: {
              ...release,
              ...record,
              dueAt: scheduled ? expiresAt : null,
              lastError: null,
              identity: outcome.identity,
            },
          },
          {
            expiresAt: new Date(expiresAt).toISOString(),
            attempts: grant.attempts + 1,
            // A temporary login's name (never its password): the requester is told where to read it.
            ...(outcome.credentials ? { login: outcome.credentials.username } : {}),
          },
        );
        done.push(outcome);
      } else if (outcome.kind === "deescalated") {
        if (row.endedReason === "scheduled" && row.expiresAt !== null) {
          metrics.revocationLateness.observe(Math.max(0, now - row.expiresAt) / 1000);
        }
        await changes.apply(
          row,
          row.endedReason === "failed" ? "fail" : "deescalated",
          "jitflow",
          { endedAt: now, grant: { ...release, dueAt: null, lastError: null } },
          {
            endedReason: row.endedReason,
            ...(outcome.sharedWith.length ? { stillGrantedBy: outcome.sharedWith } : {}),
            ...(outcome.standing ? { standing: true } : {}),
            ...(outcome.refused ? { targetLeftAlone: outcome.refused } : {}),
          },
        );
        await deleteCredentials(changes.trx, [row.id]);
        revoked.push(grant);
        done.push(outcome);
      } else if (outcome.kind === "failed") {
        // Revoked first (now), then marked failed when the revocation is done.
        await changes.apply(
          row,
          "fail",
          "jitflow",
          {
            endedReason: "failed",
            error: outcome.error,
            grant: { ...release, ...record, dueAt: now, lastError: outcome.error, attempts: 0 },
          },
          { error: outcome.error },
        );
      } else {
        const stillRevoking =
          outcome.deferMs && (await sameGrant(changes.trx, row, ["deescalating"])).length > 0;
        const delay = outcome.deferMs
          ? stillRevoking
            ? outcome.deferMs
            : 0
          : Math.max(outcome.retryAfterMs ?? 0, backoffMs(grant.attempts, retryBaseMs, retryMaxMs));
        const counted = await updateGrant(
          changes.trx,
          grant.id,
          {
            ...release,
            ...record,
            attempts: grant.attempts + (outcome.deferMs ? 0 : 1),
            lastError: outcome.error.slice(0, 2000),
            dueAt: now + delay,
          },
          { heldBy: owner, requestVersion: row.version },
        );
        if (counted && !outcome.deferMs && grant.attempts + 1 === failingAfter) {
          // Said once, not on every retry: the error channel and the audit log hear that a target keeps refusing.
          changes.note(row, "grant.retrying", "jitflow", {
            action: row.state === "escalating" ? "escalate" : "deescalate",
            attempts: failingAfter,
            error: outcome.error.slice(0, 2000),
          });
        }
        if (!outcome.deferMs) {
          metrics.targetFailures.inc({
            target: row.target ?? "",
            action: row.state === "escalating" ? "escalate" : "deescalate",
          });
          deps.logger.warn(
            {
              requestId: row.id,
              target: row.target,
              attempts: grant.attempts + 1,
              retryInMs: delay,
              error: outcome.error,
            },
            `${row.state === "escalating" ? "escalation" : "deescalation"} failed; will retry`,
          );
        }
      }
    }
    if (!woken) await wakeWaiting();
    return done;
  });
}

/** After this many failed calls in a row, a grant's target is reported as failing. */
const failingAfter = 3;

/** The key temporary logins' passwords are sealed with, when the environment holds a usable one. */
function credentialsKey(deps: EngineDeps): Buffer | undefined {
  const ref = deps.config.config.credentials?.encryptionKey;
  return ref ? parseKey(process.env[ref.env] ?? "") : undefined;
}

/** Seals a temporary login's credentials for its requester (escalation checked the key beforehand). */
async function keepCredentials(
  deps: EngineDeps,
  trx: Parameters<typeof storeCredentials>[0],
  row: AccessRequest,
  credentials: GrantCredentials,
  now: number,
): Promise<void> {
  const key = credentialsKey(deps);
  if (!key) {
    deps.logger.error(
      { requestId: row.id },
      "credentials.encryptionKey is not usable: the login's password is not kept",
    );
    return;
  }
  await storeCredentials(trx, row.id, seal(key, row.id, credentials), now);
}

function isDeferral(outcome: Outcome): boolean {
  return outcome.kind === "retry" && outcome.deferMs !== undefined;
}

async function afterHooks(deps: EngineDeps, outcome: Outcome): Promise<void> {
  if (outcome.kind !== "escalated" && outcome.kind !== "deescalated") return;
  const module = flowOf(deps, outcome.row.flow)?.module;
  const name = outcome.kind === "escalated" ? "afterEscalate" : "afterDeescalate";
  if (!module?.[name]) return;
  const row = await getRequest(deps.store.db, outcome.row.id);
  if (!row) return;
  const evt = toEvent(deps.config, row, await getDecisions(deps.store.db, row.id), systemActor);
  const error = await runAfterHook(module, name, evt, deps.config.config.hooks.timeoutMs);
  await reportAfterHook(deps, row, error);
}

interface Batch {
  decisions: Map<string, DecisionRow[]>;
  /** Escalating, active or deescalating requests of the batch's people and targets, by grant. */
  live: Map<string, Map<string, AccessRequest>>;
}

const grantKey = (grant: Pick<Grant, "requester" | "key">) => `${grant.requester}\u0000${grant.key}`;

async function readBatch(deps: EngineDeps, rows: AccessRequest[]): Promise<Batch> {
  const decisions = new Map<string, DecisionRow[]>(rows.map((r) => [r.id, []]));
  const live = new Map<string, Map<string, AccessRequest>>();
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    for (const d of await getDecisionsOf(
      deps.store.db,
      chunk.map((r) => r.id),
    )) {
      decisions.get(d.request_id)?.push(d);
    }
    const grants = chunk.map((r) => r.grant).filter((g): g is Grant => g !== null);
    if (grants.length === 0) continue;
    const found = await liveGrantsOf(
      deps.store.db,
      [...new Set(grants.map((g) => g.requester))],
      [...new Set(grants.map((g) => g.key))],
    );
    for (const r of found) {
      if (!r.grant) continue;
      const key = grantKey(r.grant);
      if (!live.has(key)) live.set(key, new Map());
      live.get(key)?.set(r.id, r);
    }
  }
  return { decisions, live };
}

/** Other requests of the same person for the same target, in these states (as read for the batch). */
function sameGrantIn(batch: Batch, row: AccessRequest, states: string[]): AccessRequest[] {
  if (!row.grant) return [];
  const same = batch.live.get(grantKey(row.grant));
  if (!same) return [];
  return [...same.values()].filter((r) => r.id !== row.id && states.includes(r.state));
}

async function escalateOne(deps: EngineDeps, batch: Batch, row: AccessRequest): Promise<Outcome> {
  // A revocation of the same grant still in progress would undo this one: wait for it to end.
  const revoking = sameGrantIn(batch, row, ["deescalating"]);
  if (revoking.length > 0)
    return { kind: "retry", row, error: "waiting for an earlier grant's revocation", deferMs: 1000 };
  const flow = flowOf(deps, row.flow);
  const target = row.target ? deps.config.targets.get(row.target) : undefined;
  if (!target) return { kind: "failed", row, error: `target "${row.target}" is no longer configured` };
  const evt = toEvent(deps.config, row, batch.decisions.get(row.id) ?? [], systemActor);
  const ms = deps.config.config.hooks.timeoutMs;
  const hook = await runOnHook(flow?.module, "onEscalate", evt, ms);
  if (!hook.ok) return { kind: "retry", row, error: hook.error };
  if (hook.value && hook.value.kind !== "approve") {
    const why = hook.value.kind === "ignore" ? hook.value.message : (hook.value.reason ?? "refused");
    return { kind: "failed", row, error: `onEscalate: ${why}` };
  }
  const prepared = await prepareCall(target, evt, flow?.module, ms);
  if (!prepared.ok) {
    return prepared.permanent
      ? { kind: "failed", row, error: prepared.error }
      : { kind: "retry", row, error: prepared.error };
  }
  // A login whose password could not be kept for its requester is not worth creating: wait for the key.
  if (target.connector.perRequest?.(prepared.settings) && !credentialsKey(deps)) {
    return {
      kind: "retry",
      row,
      error: `credentials.encryptionKey is not usable (${deps.config.config.credentials?.encryptionKey.env ?? "not configured"}): the temporary login's password could not be kept`,
    };
  }
  const { targetTimeoutMs } = deps.config.config.scheduler;
  // Checked again here, not only at submission: the value may have become something never granted since.
  const vetted = await vetBoundValues(
    target,
    prepared.settings,
    evt.fields,
    AbortSignal.timeout(targetTimeoutMs),
  );
  if (!vetted.ok) {
    return vetted.permanent
      ? { kind: "failed", row, error: vetted.error }
      : { kind: "retry", row, error: vetted.error };
  }
  const scheduled = flow?.config.scheduleDeescalation ?? true;
  const called = { grantedWith: grantedWith(target, prepared) };
  try {
    const result = await target.connector.escalate({
      evt: { ...evt, name: "escalate" },
      module: flow?.module,
      signal: AbortSignal.timeout(targetTimeoutMs),
      identity: prepared.identity,
      identityIsEmail: prepared.identityIsEmail,
      settings: prepared.settings,
      expiresAt: scheduled && row.expiresAt !== null ? new Date(row.expiresAt) : null,
    });
    return {
      kind: "escalated",
      row,
      identity: result?.identity ?? prepared.identity,
      credentials: result?.credentials,
      ...called,
    };
  } catch (err) {
    if (err instanceof PermanentTargetError) return { kind: "failed", row, error: err.message, ...called };
    return { kind: "retry", row, error: messageOf(err), retryAfterMs: retryAfterOf(err), ...called };
  }
}

async function deescalateOne(deps: EngineDeps, batch: Batch, row: AccessRequest): Promise<Outcome> {
  // Overlapping grants are counted: if another live request gives the same access, leave the target alone.
  // Only a grant to the same identity is the same access: one made to another identity (the mapping
  // or getIdentity changed in between) does not keep this one.
  const identity = row.grant?.identity ?? null;
  const others = sameGrantIn(batch, row, ["escalating", "active"]).filter((o) => {
    const theirs = o.grant?.identity ?? null;
    return identity === null || theirs === null || theirs === identity;
  });
  if (others.length > 0) return { kind: "deescalated", row, sharedWith: others.map((o) => o.id) };
  const flow = flowOf(deps, row.flow);
  const evt = toEvent(deps.config, row, batch.decisions.get(row.id) ?? [], systemActor);
  // onDeescalate may observe but never stop access being taken away.
  const hook = await runOnHook(flow?.module, "onDeescalate", evt, deps.config.config.hooks.timeoutMs);
  if (!hook.ok)
    deps.logger.error({ requestId: row.id, error: hook.error }, "hook failed; deescalating anyway");
  // As the grant was made: its recorded target, settings and identity (see granted-targets.ts).
  const granted = await grantedTargetOf(deps, row, evt, flow?.module);
  if (!granted.ok) {
    // Settings the target refuses (a bound field) were never granted: there is nothing to take away.
    // But a grant that was made (its identity is recorded) is never let go: the revocation waits (and
    // alerts) until it can be made.
    if (granted.permanent && identity === null) return { kind: "deescalated", row, sharedWith: [] };
    return { kind: "retry", row, error: granted.error };
  }
  // Standing members keep their access: jitflow never removes what it was told is permanent.
  if (granted.standing) return { kind: "deescalated", row, sharedWith: [], standing: true };
  try {
    await granted.connector.deescalate({
      evt: { ...evt, name: "deescalate" },
      module: flow?.module,
      signal: AbortSignal.timeout(deps.config.config.scheduler.targetTimeoutMs),
      identity: granted.identity,
      identityIsEmail: granted.identityIsEmail,
      settings: granted.settings,
      expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt),
    });
    return { kind: "deescalated", row, sharedWith: [] };
  } catch (err) {
    // jitflow's own identity was never granted anything (escalate refuses it), so nothing is taken away;
    // the grant ends, and its event says why the target was left alone.
    if (err instanceof OwnIdentityError) {
      deps.logger.warn({ requestId: row.id, target: row.target, error: err.message }, "target left alone");
      return { kind: "deescalated", row, sharedWith: [], refused: err.message };
    }
    return { kind: "retry", row, error: messageOf(err), retryAfterMs: retryAfterOf(err) };
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
