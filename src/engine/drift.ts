// Drift detection: compares who a target says holds it with the grants jitflow holds, reports the
// differences once each, and takes away what must not be there.

import { createHash, randomUUID } from "node:crypto";
import { messageOf } from "../errors.ts";
import { metrics } from "../lib/metrics.ts";
import type { FlowEvent } from "../model/types.ts";
import {
  claimDriftRun,
  driftFindingsOf,
  finishDriftRun,
  forgetDriftFinding,
  knownDriftScopes,
  recordDriftFinding,
  recordDriftScope,
  renewDriftRun,
  touchDriftFinding,
} from "../store/drift.ts";
import type { GrantAtTarget } from "../store/requests.ts";
import {
  getRequest,
  grantsAtTarget,
  liveGrantsHolding,
  liveStates,
  makeGrantDueNow,
} from "../store/requests.ts";
import type { LoadedTarget } from "../targets/load.ts";
import { type EngineDeps, inTransaction } from "./deps.ts";
import { countEventsOf } from "./hook-helpers.ts";
import { systemActor } from "./read/views.ts";

/** Who a request's grant went to, in the target's canonical form; null while not known. */
const identityOf = (r: GrantAtTarget): string | null => r.identity;

export interface DriftEntry {
  identity: string;
  /** The bound field values this part of the target is for (fieldBindings), e.g. { repo: "api" }. */
  scope?: Record<string, unknown>;
  requestId?: string;
  requester?: string;
  /** An outlived grant that jitflow still counts as active (its revocation is late): the scheduler takes it away. */
  stillActive?: boolean;
}

export interface DriftReport {
  target: string;
  type: string;
  checkedAt: string;
  /** Why the target was not compared (cannot list, drift off), or the error listing it. */
  skipped?: string;
  error?: string;
  /** Granted by jitflow and active, but the target does not have it: removed by hand. */
  missing: DriftEntry[];
  /** In the target, not granted by jitflow and not standing: added by hand. */
  unmanaged: DriftEntry[];
  /** Still in the target (or still active in jitflow) after the grant's end: taken away at once. */
  outlived: DriftEntry[];
  /** Standing members found in the target (the allow-list), for information. */
  standing: string[];
}

const live: readonly string[] = liveStates;

/** How far back ended grants are looked at, to tell a grant that outlived its end from one added by hand. */
const recentMs = 7 * 86_400_000;

interface Scope {
  values: Record<string, unknown>;
  settings: unknown;
}

/**
 * What one listing was of: the target's effective settings (its fixed settings with the bound values
 * filled in). A scope seen for the first time (a new target, a new bound value, a changed group) is
 * only reported on, never revoked in, until it has been listed once.
 */
const scopeKeyOf = (settings: unknown) =>
  createHash("sha256").update(JSON.stringify(settings)).digest("base64url");

function scopeOf(target: LoadedTarget, fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(target.bindings.map((k) => [k, fields[k]]));
}

const sameScope = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  JSON.stringify(a) === JSON.stringify(b);

async function requestsOf(deps: EngineDeps, name: string, since: number): Promise<GrantAtTarget[]> {
  return grantsAtTarget(deps.store.db, name, since);
}

/** Compares one target with jitflow's grants. Changes nothing. */
export async function compareTarget(deps: EngineDeps, name: string): Promise<DriftReport> {
  return (await compare(deps, name)).report;
}

/** The comparison, and the scopes (by key) that were listed for it. */
async function compare(deps: EngineDeps, name: string): Promise<{ report: DriftReport; listed: string[] }> {
  const target = deps.config.targets.get(name);
  const now = deps.clock.now();
  const report: DriftReport = {
    target: name,
    type: target?.info.type ?? "unknown",
    checkedAt: new Date(now).toISOString(),
    missing: [],
    unmanaged: [],
    outlived: [],
    standing: [],
  };
  if (!target) return { report: { ...report, skipped: "not configured" }, listed: [] };
  const list = target.connector.list?.bind(target.connector);
  if (!list) {
    return {
      report: { ...report, skipped: `${target.info.type} targets cannot list who holds them` },
      listed: [],
    };
  }

  // Grants read before and after listing: only a grant live on both sides of the call can be called
  // missing, and none live on either side can be called unmanaged.
  const before = await requestsOf(deps, name, now - recentMs);
  const scopes: Scope[] = [];
  if (target.bindings.length === 0) {
    const s = target.settingsFor({});
    if (s.ok) scopes.push({ values: {}, settings: s.settings });
  } else {
    for (const r of before) {
      const values = scopeOf(target, r.fields);
      if (scopes.some((s) => sameScope(s.values, values))) continue;
      const s = target.settingsFor(values);
      if (s.ok) scopes.push({ values, settings: s.settings });
    }
  }
  const listed: { scope: Scope; holders: Set<string> }[] = [];
  try {
    for (const scope of scopes) {
      const holders = await list({
        module: moduleFor(deps, name),
        signal: AbortSignal.timeout(deps.config.config.scheduler.targetTimeoutMs),
        settings: scope.settings,
      });
      listed.push({ scope, holders: new Set(holders) });
    }
  } catch (err) {
    return { report: { ...report, error: messageOf(err) }, listed: [] };
  }
  const after = await requestsOf(deps, name, now - recentMs);
  const afterById = new Map(after.map((r) => [r.id, r]));
  const nowAfter = deps.clock.now();

  for (const { scope, holders } of listed) {
    const inScope = (r: GrantAtTarget) => sameScope(scopeOf(target, r.fields), scope.values);
    const scoped = (e: DriftEntry): DriftEntry =>
      target.bindings.length > 0 ? { ...e, scope: scope.values } : e;
    const liveRows = [...before, ...after].filter((r) => live.includes(r.state) && inScope(r));
    const liveIdentities = new Set(liveRows.map(identityOf).filter((i): i is string => i !== null));
    // A live grant with no identity yet (escalating, or interrupted before it was recorded) may have
    // granted any of the holders: while there is one, nothing in this scope is called unmanaged.
    const unsettled = liveRows.some((r) => identityOf(r) === null);
    const liveRequesters = new Set(liveRows.map((r) => r.requester));
    for (const r of before) {
      const a = afterById.get(r.id);
      const identity = identityOf(r);
      if (!inScope(r) || r.state !== "active" || a?.state !== "active" || identity === null) continue;
      if (a.expiresAt !== null && a.dueAt !== null && a.expiresAt < nowAfter - 60_000) {
        report.outlived.push(
          scoped({ identity, requestId: r.id, requester: r.requester, stillActive: true }),
        );
      } else if (!holders.has(identity)) {
        report.missing.push(scoped({ identity, requestId: r.id, requester: r.requester }));
      }
    }
    for (const identity of [...holders].sort()) {
      if (liveIdentities.has(identity)) continue;
      if (target.drift.standing.includes(identity)) {
        report.standing.push(identity);
        continue;
      }
      const ended = after
        .filter((r) => inScope(r) && identityOf(r) === identity && !live.includes(r.state))
        .sort((x, y) => (y.endedAt ?? 0) - (x.endedAt ?? 0))[0];
      if (ended) {
        // The same person asking again may be granting it right now: not outlived while they have a live request.
        if (!liveRequesters.has(ended.requester)) {
          report.outlived.push(scoped({ identity, requestId: ended.id, requester: ended.requester }));
        }
      } else if (!unsettled) {
        report.unmanaged.push(scoped({ identity }));
      }
    }
  }
  return { report, listed: listed.map((l) => scopeKeyOf(l.scope.settings)) };
}

/** The module of a flow that uses the target (custom targets list and revoke through it). */
function moduleFor(deps: EngineDeps, name: string) {
  for (const flow of deps.config.flows.values()) {
    if (flow.config.targets.includes(name) && flow.module) return flow.module;
  }
  return undefined;
}

const findingKey = (e: DriftEntry) => (e.scope ? `${JSON.stringify(e.scope)} ${e.identity}` : e.identity);

/**
 * Compares the target and acts: new differences are reported once (audit log, metrics, error
 * channel, the requester for access removed by hand); outlived access is taken away at once, and
 * unmanaged access too when the target's drift mode is "revoke".
 */
export async function reconcileTarget(deps: EngineDeps, name: string): Promise<DriftReport> {
  const { report, listed } = await compare(deps, name);
  const target = deps.config.targets.get(name);
  if (!target || report.skipped) return report;
  if (report.error) {
    metrics.driftChecks.inc({ target: name, result: "error" });
    deps.logger.warn({ target: name, error: report.error }, "drift check could not list the target");
    return report;
  }
  metrics.driftChecks.inc({ target: name, result: "ok" });
  for (const kind of ["missing", "unmanaged", "outlived"] as const) {
    metrics.driftFindings.set({ target: name, kind }, report[kind].length);
  }

  // Revocations happen outside the transaction; what they did is recorded with the findings.
  const revoked = new Map<string, string | undefined>();
  // The first listing of a scope only reports: a target (or group, or repository) connected for the
  // first time is never mass-revoked, and its standing members can be allowed before the next check acts.
  const knownScopes = await knownDriftScopes(deps.store.db, name);
  const actedOn = (entry: DriftEntry) => {
    const s = target.settingsFor(entry.scope ?? {});
    return s.ok && knownScopes.has(scopeKeyOf(s.settings));
  };
  for (const entry of [
    ...report.outlived.filter((e) => !e.stillActive),
    ...(target.drift.mode === "revoke" ? report.unmanaged.filter(actedOn) : []),
  ]) {
    // Granted meanwhile (the scheduler runs on): then it is jitflow's again, and stays.
    if (await claimedNow(deps, target, entry)) continue;
    revoked.set(findingKey(entry), await takeAway(deps, target, entry));
  }

  const seen = new Set<string>();
  await inTransaction(deps, async (changes) => {
    const known = await driftFindingsOf(changes.trx, name);
    const isNew = (kind: string, key: string) => !known.some((k) => k.kind === kind && k.identity === key);
    for (const kind of ["missing", "unmanaged", "outlived"] as const) {
      for (const entry of report[kind]) {
        const key = findingKey(entry);
        seen.add(`${kind}\u0000${key}`);
        const outcome = revoked.get(key);
        const acted = revoked.has(key);
        const data = {
          target: name,
          identity: entry.identity,
          ...(entry.scope ? { scope: entry.scope } : {}),
          ...(entry.requestId ? { requestId: entry.requestId } : {}),
          ...(acted ? (outcome ? { revokeError: outcome } : { revoked: true }) : {}),
        };
        if (kind === "outlived" && entry.requestId && !acted) {
          // Still active in jitflow past its end: the scheduler takes it away now.
          await makeGrantDueNow(changes.trx, entry.requestId, "active", changes.now);
        }
        if (!isNew(kind, key) && !(acted && outcome === undefined)) {
          await touchDriftFinding(changes.trx, { target: name, identity: key, kind }, changes.now);
          continue;
        }
        if (isNew(kind, key)) {
          await recordDriftFinding(
            changes.trx,
            { target: name, identity: key, kind, request_id: entry.requestId ?? null },
            changes.now,
          );
        }
        if (kind === "missing" && entry.requestId) {
          const row = await getRequest(changes.trx, entry.requestId);
          if (row) changes.note(row, "grant.missing", "jitflow", data);
          continue;
        }
        changes.noteSystem(`drift.${kind}`, "jitflow", data);
      }
    }
    for (const scope of new Set(listed)) {
      if (knownScopes.has(scope)) continue;
      await recordDriftScope(changes.trx, name, scope, changes.now);
    }
    // Differences that went away are forgotten, so they are reported again if they come back.
    for (const k of known) {
      if (!seen.has(`${k.kind}\u0000${k.identity}`)) {
        await forgetDriftFinding(changes.trx, k);
      }
    }
  });
  if (report.outlived.some((e) => e.stillActive)) deps.wake(deps.clock.now());
  return report;
}

/** True when a live grant of this scope now has this identity, or has none recorded yet (it may be this one). */
async function claimedNow(deps: EngineDeps, target: LoadedTarget, entry: DriftEntry): Promise<boolean> {
  const rows = await liveGrantsHolding(deps.store.db, target.info.name, entry.identity);
  return rows.some((r) => sameScope(scopeOf(target, r.fields), entry.scope ?? {}));
}

/** Removes access jitflow does not hold a grant for; returns the error, or undefined when done. */
async function takeAway(
  deps: EngineDeps,
  target: LoadedTarget,
  entry: DriftEntry,
): Promise<string | undefined> {
  const settings = target.settingsFor(entry.scope ?? {});
  if (!settings.ok) return settings.error;
  const evt: FlowEvent = {
    name: "deescalate",
    requester: {
      email: entry.requester ?? entry.identity,
      name: entry.identity,
      role: "member",
      countEvents: countEventsOf(entry.requester ?? entry.identity),
    },
    actor: systemActor,
    fields: entry.scope ?? {},
    target: target.info,
    duration: 0,
    flow: { name: "drift", label: "Drift detection", vars: {} },
    request: {
      id: entry.requestId ?? randomUUID(),
      state: "deescalating",
      createdAt: new Date().toISOString(),
      expiresAt: null,
    },
    source: "api",
    context: { drift: true },
    decisions: [],
    reason: "drift",
  };
  try {
    await target.connector.deescalate({
      evt,
      module: moduleFor(deps, target.info.name),
      signal: AbortSignal.timeout(deps.config.config.scheduler.targetTimeoutMs),
      identity: entry.identity,
      settings: settings.settings,
      expiresAt: null,
      listed: true,
    });
    metrics.driftRevocations.inc({ target: target.info.name });
    return undefined;
  } catch (err) {
    return messageOf(err);
  }
}

export interface DriftReconciler {
  start(): void;
  stop(): Promise<void>;
  /** Checks every target that is due now and waits for the checks (tests use it). */
  runOnce(): Promise<void>;
}

/** Checks each target every `drift.interval`, one replica at a time per target (a lease in drift_runs). */
export function createDriftReconciler(deps: EngineDeps): DriftReconciler {
  const owner = `drift-${randomUUID()}`;
  const leaseMs = 60_000;
  const targets = [...deps.config.targets.values()].filter((t) => t.drift.mode !== "off" && t.connector.list);
  const shortest = Math.min(...targets.map((t) => t.drift.interval));
  const tickMs = Math.min(30_000, Math.max(500, (shortest * 1000) / 4));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function runDue(): Promise<void> {
    for (const target of targets) {
      const name = target.info.name;
      const now = deps.clock.now();
      if (!(await claimDriftRun(deps.store.db, name, owner, now, target.drift.interval * 1000, leaseMs)))
        continue;
      // Renewed while the check runs (many bound values × slow listings can take long), so another
      // replica never checks — and revokes in — the same target at the same time.
      const renewal = setInterval(() => {
        void renewDriftRun(deps.store.db, name, owner, deps.clock.now() + leaseMs).catch((err: unknown) =>
          deps.logger.warn({ err, target: name }, "could not renew the drift lease"),
        );
      }, leaseMs / 3);
      try {
        await reconcileTarget(deps, name);
      } catch (err) {
        deps.logger.error({ err, target: name }, "drift check failed");
      } finally {
        clearInterval(renewal);
        await finishDriftRun(deps.store.db, name, owner, deps.clock.now());
      }
    }
  }

  function runOnce(): Promise<void> {
    running ??= runDue().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    start() {
      if (targets.length === 0 || timer) return;
      timer = setInterval(() => {
        void runOnce().catch((err: unknown) => deps.logger.error({ err }, "drift checks failed"));
      }, tickMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running?.catch(() => {});
    },
    runOnce,
  };
}
