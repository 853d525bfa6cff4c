// The cancel, revoke and extend commands.

import { JitflowError } from "../errors.ts";
import { durationProblem, parseDuration } from "../lib/duration.ts";
import type { Person } from "../model/types.ts";
import { getDecisions, getDecisionsOf, type RequestRow, updateRequest } from "../store/requests.ts";
import { type ChangeSet, ConflictError, invalidTransition } from "./changes.ts";
import { type EngineDeps, flowOf, inTransaction, loadVisibleRequest, mustGetRequest } from "./engine.ts";
import { assertGuestMayAct, isDecider } from "./policy.ts";
import { requestExtension } from "./submit.ts";
import { type RequestView, toView } from "./views.ts";

export interface ActionInput {
  id: string;
  actor: Person;
  reason?: string | undefined;
}

async function view(deps: EngineDeps, row: RequestRow): Promise<RequestView> {
  return toView(row, await getDecisions(deps.store.db, row.id));
}

export async function cancel(deps: EngineDeps, input: ActionInput): Promise<RequestView> {
  const { row } = await loadVisibleRequest(deps, input.id, input.actor);
  if (row.requester !== input.actor.email && input.actor.role !== "admin" && input.actor.role !== "bot") {
    throw new JitflowError(
      "CANCEL_NOT_ALLOWED",
      "only the requester, an admin or a bot can cancel a request",
    );
  }
  const saved = await inTransaction(deps, async (changes) => {
    const current = await mustGetRequest(deps, input.id, changes.trx);
    return changes.apply(
      current,
      "cancel",
      input.actor.email,
      { due_at: null },
      { reason: input.reason ?? null },
    );
  });
  return view(deps, saved);
}

export async function revoke(deps: EngineDeps, input: ActionInput): Promise<RequestView> {
  const { row, deciders } = await loadVisibleRequest(deps, input.id, input.actor);
  const flow = flowOf(deps, row.flow);
  const privileged = input.actor.role === "admin" || input.actor.role === "bot";
  if (!privileged) {
    if (!flow?.config.allowRevoke) {
      throw new JitflowError(
        "REVOKE_NOT_ALLOWED",
        `flow "${row.flow}" does not allow revoking; ask an admin`,
      );
    }
    const isRequester = row.requester === input.actor.email;
    if (!isRequester && !isDecider(input.actor, (await deciders()).rules)) {
      throw new JitflowError("REVOKE_NOT_ALLOWED", "only the requester, an approver or an admin can revoke");
    }
    assertGuestMayAct(input.actor, flow);
  }
  const now = deps.clock.now();
  const saved = await inTransaction(deps, async (changes) => {
    const current = await mustGetRequest(deps, input.id, changes.trx);
    if (current.target === null || current.extends_id !== null) {
      throw new JitflowError(
        "INVALID_TRANSITION",
        current.extends_id !== null
          ? `request ${current.id} asks to extend ${current.extends_id}: revoke that grant instead`
          : `request ${current.id} is approval-only: there is no access to revoke`,
        {
          details: { state: current.state },
        },
      );
    }
    return changes.apply(
      current,
      "revoke",
      input.actor.email,
      { ended_reason: "revoked", due_at: now, attempts: 0, last_error: null },
      { reason: input.reason ?? null },
    );
  });
  deps.wake(now);
  return view(deps, saved);
}

export interface ExtendInput {
  id: string;
  actor: Person;
  duration: string | number;
  /**
   * The expiry the actor saw when they chose to extend. When given, extending is idempotent: if the
   * grant already ends `duration` later than this (a retry of the same extension), nothing more is
   * added; if it ends anywhere else, someone changed it meanwhile and the extension is refused.
   */
  ifExpiresAt?: number | undefined;
}

export async function extend(deps: EngineDeps, input: ExtendInput): Promise<RequestView> {
  const seconds = parseDuration(input.duration);
  if (seconds === undefined) {
    throw new JitflowError("DURATION_INVALID", durationProblem(input.duration));
  }
  const { row } = await loadVisibleRequest(deps, input.id, input.actor);
  if (row.requester !== input.actor.email && input.actor.role !== "admin" && input.actor.role !== "bot") {
    throw new JitflowError("EXTEND_NOT_ALLOWED", "only the requester, an admin or a bot can extend a grant");
  }
  if (row.state !== "active" || row.expires_at === null) throw invalidTransition(row.state, "extend");
  const flow = flowOf(deps, row.flow);
  const limits = flow?.config.extensions;
  checkExtensionLimits(row, seconds, limits);
  // Above the flow's threshold an extension is a request of its own, decided by the flow's policy.
  const threshold = limits?.approvalAbove;
  if (threshold !== undefined && row.extended_seconds + seconds > threshold && input.actor.role !== "admin") {
    return requestExtension(deps, row, seconds, input.actor);
  }
  const saved = await inTransaction(deps, async (changes) => {
    const current = await mustGetRequest(deps, input.id, changes.trx);
    if (current.state !== "active" || current.expires_at === null)
      throw invalidTransition(current.state, "extend");
    if (input.ifExpiresAt !== undefined && current.expires_at !== input.ifExpiresAt) {
      if (current.expires_at === input.ifExpiresAt + seconds * 1000) return current;
      throw new JitflowError(
        "INVALID_TRANSITION",
        "the grant's end changed since you chose to extend it; look again",
        {
          details: { state: current.state, expiresAt: new Date(current.expires_at).toISOString() },
        },
      );
    }
    return applyExtension(deps, changes, current, seconds, input.actor.email);
  });
  if (saved.due_at !== null) deps.wake(saved.due_at);
  return view(deps, saved);
}

type ExtensionLimits = NonNullable<ReturnType<typeof flowOf>>["config"]["extensions"] | undefined;

/** The flow's maximum count and total of extensions. */
function checkExtensionLimits(row: RequestRow, seconds: number, limits: ExtensionLimits): void {
  if (limits?.max !== undefined && row.extensions >= limits.max) {
    throw new JitflowError(
      "EXTEND_LIMIT",
      `this grant was extended ${row.extensions} times; the flow allows ${limits.max}`,
      {
        details: { max: limits.max, extensions: row.extensions },
      },
    );
  }
  if (limits?.maxTotal !== undefined && row.extended_seconds + seconds > limits.maxTotal) {
    throw new JitflowError(
      "EXTEND_LIMIT",
      `extensions would add ${row.extended_seconds + seconds} seconds in all; the flow allows ${limits.maxTotal}`,
      { details: { maxTotal: limits.maxTotal, extendedSeconds: row.extended_seconds } },
    );
  }
}

/** Moves an active grant's end later, within the flow's limits; the target is told through the outbox. */
export async function applyExtension(
  deps: EngineDeps,
  changes: ChangeSet,
  current: RequestRow,
  seconds: number,
  actor: string,
  data: Record<string, unknown> = {},
): Promise<RequestRow> {
  if (current.state !== "active" || current.expires_at === null)
    throw invalidTransition(current.state, "extend");
  const flow = flowOf(deps, current.flow);
  checkExtensionLimits(current, seconds, flow?.config.extensions);
  const expiresAt = current.expires_at + seconds * 1000;
  const maxMs = (flow?.maxDuration ?? 0) * 1000;
  if (expiresAt - changes.now > maxMs) {
    throw new JitflowError(
      "EXTEND_TOO_LONG",
      `that would leave ${Math.ceil((expiresAt - changes.now) / 1000)} seconds of access; flow "${current.flow}" allows at most ${maxMs / 1000}`,
      { details: { maxSeconds: maxMs / 1000 } },
    );
  }
  const scheduled = flow?.config.scheduleDeescalation ?? true;
  const extended = await changes.apply(
    current,
    "extend",
    actor,
    {
      expires_at: expiresAt,
      due_at: scheduled ? expiresAt : null,
      extensions: current.extensions + 1,
      extended_seconds: current.extended_seconds + seconds,
    },
    { by: seconds, expiresAt: new Date(expiresAt).toISOString(), ...data },
  );
  // Targets that enforce the end themselves (a login's VALID UNTIL) are told the new one, through
  // the outbox so a crash cannot lose it.
  const target = current.target === null ? undefined : deps.config.targets.get(current.target);
  if (scheduled && target?.connector.setExpiry) {
    changes.messages.push({
      kind: "target.expiry",
      payload: { requestId: current.id },
      requestId: current.id,
      orderKey: `target.expiry:${current.id}`,
    });
  }
  return extended;
}

/** Break-glass requests, newest first: those not reviewed yet, or all. */
export async function breakGlassRequests(
  deps: EngineDeps,
  actor: Person,
  reviewed: boolean | undefined,
  limit = 100,
): Promise<RequestView[]> {
  if (actor.role !== "admin")
    throw new JitflowError("FORBIDDEN", "only admins may review break-glass requests");
  let query = deps.store.db.selectFrom("requests").selectAll().where("break_glass", "is not", null);
  if (reviewed === false) query = query.where("reviewed_at", "is", null);
  if (reviewed === true) query = query.where("reviewed_at", "is not", null);
  const rows = await query.orderBy("id", "desc").limit(limit).execute();
  const decisions = await getDecisionsOf(
    deps.store.db,
    rows.map((r) => r.id),
  );
  return rows.map((r) =>
    toView(
      r,
      decisions.filter((d) => d.request_id === r.id),
    ),
  );
}

/** An admin marks a break-glass request reviewed, with a note; recorded in the audit log. */
export async function review(deps: EngineDeps, input: ActionInput): Promise<RequestView> {
  if (input.actor.role !== "admin")
    throw new JitflowError("FORBIDDEN", "only admins may review break-glass requests");
  const saved = await inTransaction(deps, async (changes) => {
    const current = await mustGetRequest(deps, input.id, changes.trx);
    if (current.break_glass === null) {
      throw new JitflowError("INVALID_TRANSITION", `request ${current.id} is not a break-glass request`, {
        details: { state: current.state },
      });
    }
    if (current.reviewed_at !== null) return current;
    const set = { reviewed_by: input.actor.email, reviewed_at: changes.now };
    if (!(await updateRequest(changes.trx, current, set))) throw new ConflictError(current.id);
    const next = { ...current, ...set, version: current.version + 1 };
    changes.note(next, "request.reviewed", input.actor.email, { note: input.reason ?? null });
    return next;
  });
  return view(deps, saved);
}
