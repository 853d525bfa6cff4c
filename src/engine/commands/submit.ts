// The submit command: validate a request, run the prompt and request hooks, and record it (auto-decided or pending).

import { JitflowError } from "../../errors.ts";
import { durationProblem, parseDuration } from "../../lib/duration.ts";
import type { Person, Source } from "../../model/types.ts";
import { newGrant } from "../../store/grants.ts";
import { uuidv7 } from "../../store/ids.ts";
import { storeApprovers } from "../../store/request-approvers.ts";
import {
  type AccessRequest,
  getDecisions,
  getRequest,
  insertRequest,
  nextDueOf,
  pendingExtensionOf,
  plainPolicyColumns,
  type RequestChanges,
  requestColumns,
  sameGrant,
  setRequestError,
} from "../../store/requests.ts";
import { submittedDigests } from "../../store/submitted-data.ts";
import { vetBoundValues } from "../../targets/bound-values.ts";
import { assertMayRequest, personOf } from "../access/policy.ts";
import { applicableSteps, resolveStep } from "../approval/approvers.ts";
import { clockColumns } from "../approval/pending.ts";
import { stepBegins } from "../approval/policy.ts";
import { type EngineDeps, inTransaction } from "../deps.ts";
import { mustGetFlow, reportAfterHook } from "../engine.ts";
import { validateFields } from "../fields.ts";
import { runAfterHook, runOnHook } from "../hooks.ts";
import type { LoadedFlow } from "../load-config.ts";
import { type RequestView, toEvent, toView } from "../read/views.ts";
import { approveInTransaction, denyInTransaction } from "./record-decision.ts";

export interface SubmitInput {
  actor: Person;
  flow: string;
  target?: string | undefined;
  duration?: string | number | undefined;
  fields?: Record<string, unknown> | undefined;
  /** Act for someone else: only bots and admins. */
  requester?: string | undefined;
  context?: Record<string, unknown> | undefined;
  source: Source;
  /** The new request's id, chosen by the caller so that retrying the submission is safe. */
  id?: string | undefined;
  /** Approve now, start later: when the grant should start (ISO 8601 or epoch ms). */
  startAt?: string | number | undefined;
  /** Break-glass: approve it now, by the requester, for this emergency (flows with allowBreakGlass). */
  breakGlass?: string | undefined;
}

export interface SubmitResult {
  request: RequestView;
  /** Other live grants of the same target to the same person: this request overlaps them. */
  overlaps: string[];
}

/** What a valid submission asks for, after every check. */
export interface PreparedSubmission {
  flow: LoadedFlow;
  requester: Person;
  target: string | null;
  duration: number;
  fields: Record<string, unknown>;
  startAt: number | null;
  breakGlass: string | null;
}

/**
 * Every check a submission must pass before any hook runs: who may ask, target, duration and fields.
 * Channels call it to answer at once (a Slack form shows field errors in place); submit calls it again.
 */
export function prepareSubmission(deps: EngineDeps, input: SubmitInput): PreparedSubmission {
  const flow = mustGetFlow(deps, input.flow, { actor: input.actor, source: input.source });
  const { users } = deps.config.config;
  let requester = input.actor;
  if (input.requester !== undefined && input.requester.toLowerCase() !== input.actor.email) {
    if (input.actor.role !== "bot" && input.actor.role !== "admin") {
      throw new JitflowError("ACT_AS_NOT_ALLOWED", "only bot and admin tokens may request for someone else");
    }
    requester = personOf(input.requester, users);
  }
  if (requester.role === "bot") requester = { ...requester, role: "member" };
  assertMayRequest(requester, flow, input.source);

  const targets = flow.config.targets;
  let target: string | null = null;
  if (targets.length > 0) {
    target = input.target ?? (targets.length === 1 ? (targets[0] as string) : null);
    if (target === null) {
      throw new JitflowError(
        "TARGET_REQUIRED",
        `flow "${flow.config.name}" needs a target (one of: ${targets.join(", ")})`,
      );
    }
    if (!targets.includes(target)) {
      throw new JitflowError(
        "TARGET_NOT_FOUND",
        `flow "${flow.config.name}" has no target "${target}" (targets: ${targets.join(", ")})`,
      );
    }
  } else if (input.target !== undefined) {
    throw new JitflowError(
      "TARGET_NOT_FOUND",
      `flow "${flow.config.name}" is approval-only and has no targets`,
    );
  }

  let duration = 0;
  if (flow.config.durations.length > 0) {
    const given = input.duration ?? flow.config.durations[0];
    const seconds = parseDuration(given);
    if (seconds === undefined) {
      throw new JitflowError("DURATION_INVALID", durationProblem(given));
    }
    if (seconds > flow.maxDuration) {
      throw new JitflowError(
        "DURATION_NOT_ALLOWED",
        `flow "${flow.config.name}" allows at most ${flow.maxDuration} seconds; ${seconds} were asked for`,
        { details: { maxSeconds: flow.maxDuration } },
      );
    }
    duration = seconds;
  } else if (input.duration !== undefined) {
    const seconds = parseDuration(input.duration);
    if (seconds === undefined) throw new JitflowError("DURATION_INVALID", durationProblem(input.duration));
    duration = seconds;
  }
  const fields = validateFields(flow, input.fields ?? {});
  const startAt = startOf(flow, input.startAt, target, deps.clock.now());
  let breakGlass: string | null = null;
  if (input.breakGlass !== undefined) {
    if (!flow.config.allowBreakGlass) {
      throw new JitflowError(
        "BREAK_GLASS_NOT_ALLOWED",
        `flow "${flow.config.name}" does not allow break-glass requests`,
      );
    }
    breakGlass = input.breakGlass.trim();
    if (breakGlass.length === 0) {
      throw new JitflowError("REASON_REQUIRED", "a break-glass request needs the emergency's reason");
    }
    if (breakGlass.length > 2000) {
      throw new JitflowError("REASON_REQUIRED", "the break-glass reason is longer than 2000 characters");
    }
  }
  if (target !== null) {
    // A target that takes settings from the request (fieldBindings) must accept the values given.
    const loaded = deps.config.targets.get(target);
    const settings = loaded?.settingsFor(fields);
    if (loaded && settings && !settings.ok) {
      const field =
        loaded.bindings.find((k) => settings.error.startsWith(`field "${k}"`)) ?? loaded.bindings[0];
      throw new JitflowError("FIELD_INVALID", settings.error, {
        details: { fields: [{ field, code: "FIELD_INVALID", message: settings.error }] },
      });
    }
  }
  return { flow, requester, target, duration, fields, startAt, breakGlass };
}

/**
 * The request's bound values must be ones the target hands out (offered, or on its allow-list) and never
 * ones it refuses outright: asked of the target now, and again just before the grant.
 */
async function assertGrantable(deps: EngineDeps, target: string, fields: Record<string, unknown>) {
  const loaded = deps.config.targets.get(target);
  if (!loaded || loaded.bindings.length === 0) return;
  const settings = loaded.settingsFor(fields);
  if (!settings.ok) return; // prepareSubmission refused it already
  const signal = AbortSignal.timeout(deps.config.config.scheduler.targetTimeoutMs);
  const verdict = await vetBoundValues(loaded, settings.settings, fields, signal);
  if (verdict.ok) return;
  if (!verdict.permanent) throw new JitflowError("TARGET_UNAVAILABLE", `${verdict.error}; try again`);
  throw new JitflowError("FIELD_INVALID", verdict.error, {
    details: { fields: [{ field: verdict.field, code: "FIELD_INVALID", message: verdict.error }] },
  });
}

/** A requested start time: in the future, within the flow's maxStartDelay, and only for grants. */
function startOf(
  flow: LoadedFlow,
  given: string | number | undefined,
  target: string | null,
  now: number,
): number | null {
  if (given === undefined) return null;
  const at = typeof given === "number" ? given : Date.parse(given);
  if (!Number.isFinite(at) || (typeof given === "string" && !/^\d{4}-\d{2}-\d{2}T/.test(given))) {
    throw new JitflowError("START_INVALID", `${JSON.stringify(given)} is not an ISO 8601 time`);
  }
  if (target === null) {
    throw new JitflowError(
      "START_INVALID",
      `flow "${flow.config.name}" grants nothing: it has no start time`,
    );
  }
  if (at <= now) return null;
  if (at - now > flow.config.maxStartDelay * 1000) {
    throw new JitflowError(
      "START_INVALID",
      `flow "${flow.config.name}" lets a request start at most ${flow.config.maxStartDelay} seconds ahead`,
      { details: { maxStartDelay: flow.config.maxStartDelay } },
    );
  }
  return at;
}

/**
 * Which grant a request gives: its target, plus the values of the target's bound fields, plus the
 * request itself when the target creates a login per request. Two live requests of one person with
 * the same key are one grant in the target.
 */
export function grantKeyOf(
  deps: EngineDeps,
  id: string,
  target: string,
  fields: Record<string, unknown>,
): string {
  const loaded = deps.config.targets.get(target);
  if (!loaded) return target;
  if (loaded.perRequest) return `${target}\u0000request:${id}`;
  if (loaded.bindings.length === 0) return target;
  return `${target}\u0000${JSON.stringify(loaded.bindings.map((k) => fields[k]))}`;
}

/** The columns every new pending request starts with: nothing decided, its step beginning now. */
function freshPending(now: number, deadlineAt: number) {
  return {
    ...plainPolicyColumns,
    state: "pending",
    createdAt: now,
    updatedAt: now,
    decidedAt: null,
    activatedAt: null,
    expiresAt: null,
    endedAt: null,
    endedReason: null,
    error: null,
    dueAt: deadlineAt,
    leaseOwner: null,
    leaseUntil: null,
    version: 0,
    deadlineAt: deadlineAt,
    stepStartedAt: now,
    destinationAt: now,
  } satisfies RequestChanges;
}

/**
 * Which steps apply to a new request, and who the first is sent to (lookups happen here, before the
 * transaction); writes the step and its clock into the row.
 */
async function routeFirstStep(
  deps: EngineDeps,
  flow: LoadedFlow,
  row: AccessRequest,
  now: number,
  deadlineAt: number,
) {
  const applicable = await applicableSteps(deps, flow, row);
  const first = applicable.steps[0];
  const firstStep = first === undefined ? undefined : flow.policy[first];
  const resolved = firstStep ? await resolveStep(deps, flow, row, firstStep) : { people: [], errors: [] };
  row.steps = applicable.steps;
  if (firstStep) {
    row.step = firstStep.index;
    Object.assign(row, clockColumns(firstStep, stepBegins(firstStep, now, deadlineAt)));
  }
  return { applicable, firstStep, resolved };
}

/**
 * An extension above the flow's approvalAbove: a request of its own (extends_id = the grant), decided
 * by the flow's policy; when approved, the grant is extended. It expires with the grant at the latest.
 */
export async function requestExtension(
  deps: EngineDeps,
  parent: AccessRequest,
  seconds: number,
  actor: Person,
): Promise<RequestView> {
  const flow = mustGetFlow(deps, parent.flow, { actor, source: parent.source as Source });
  const now = deps.clock.now();
  const deadlineAt = Math.min(
    now + flow.config.requestTimeout * 1000,
    parent.expiresAt ?? Number.POSITIVE_INFINITY,
  );
  const row: AccessRequest = {
    ...parent,
    ...freshPending(now, deadlineAt),
    id: uuidv7(now),
    duration: seconds,
    extendsId: parent.id,
    // It grants nothing of its own: when approved, its parent's grant is extended.
    grant: null,
  };
  const { applicable, firstStep, resolved } = await routeFirstStep(deps, flow, row, now, deadlineAt);
  const saved = await inTransaction(deps, async (changes) => {
    const pending = await pendingExtensionOf(changes.trx, parent.id);
    if (pending) {
      throw new JitflowError(
        "INVALID_TRANSITION",
        `an extension of this grant is already waiting: ${pending}`,
        {
          details: { state: "pending", request: pending },
        },
      );
    }
    await insertRequest(changes.trx, row);
    if (firstStep) await storeApprovers(changes.trx, row.id, firstStep.index, resolved.people, now);
    changes.note(row, "request.created", actor.email, {
      flow: row.flow,
      target: row.target,
      duration: seconds,
      source: row.source,
      extends: parent.id,
      ...(firstStep ? { step: firstStep.name, approvers: resolved.people.map((p) => p.email) } : {}),
      submitted: submittedDigests(requestColumns(row)),
    });
    for (const error of [...applicable.errors, ...resolved.errors]) {
      changes.note(row, "approvers.unresolved", "jitflow", { step: firstStep?.name ?? null, error });
    }
    if (!firstStep)
      return approveInTransaction(deps, changes, row, "policy", "no approval step applies", true);
    return row;
  });
  const due = nextDueOf(saved);
  if (due !== null) deps.wake(due);
  return toView(saved, await getDecisions(deps.store.db, saved.id));
}

export async function submit(deps: EngineDeps, input: SubmitInput): Promise<SubmitResult> {
  if (input.id !== undefined) {
    // A channel that retries a submission (Slack's outbox) names the request up front: the second try
    // finds the first one instead of asking twice.
    const existing = await getRequest(deps.store.db, input.id);
    if (existing) {
      const decisions = await getDecisions(deps.store.db, existing.id);
      return { request: toView(existing, decisions), overlaps: [] };
    }
  }
  const { flow, requester, target, duration, fields, startAt, breakGlass } = prepareSubmission(deps, input);
  if (target !== null) await assertGrantable(deps, target, fields);

  const now = deps.clock.now();
  const deadlineAt = now + flow.config.requestTimeout * 1000;
  const id = input.id ?? uuidv7(now);
  const row: AccessRequest = {
    ...freshPending(now, deadlineAt),
    id,
    flow: flow.config.name,
    target,
    requester: requester.email,
    requesterName: requester.name,
    requesterRole: requester.role,
    duration,
    fields,
    context: input.context ?? {},
    source: input.source,
    startAt: startAt,
    breakGlass: breakGlass,
    grant:
      target === null
        ? null
        : newGrant(id, target, requester.email, grantKeyOf(deps, id, target, fields), now),
  };

  const ms = deps.config.config.hooks.timeoutMs;
  const module = flow.module;
  const evt = toEvent(deps.config, row, [], input.actor);
  // API and CLI have no form, so the prompt hooks run at submission.
  const prompt = await runOnHook(module, "onPrompt", evt, ms);
  if (!prompt.ok) throw new JitflowError("HOOK_FAILED", prompt.error);
  if (prompt.value && prompt.value.kind !== "approve") {
    const message =
      prompt.value.kind === "ignore" ? prompt.value.message : (prompt.value.reason ?? "not allowed");
    throw new JitflowError("HOOK_IGNORED", message);
  }
  const promptError = await runAfterHook(module, "afterPrompt", evt, ms);
  const decision = await runOnHook(module, "onRequest", evt, ms);
  if (decision.ok && decision.value?.kind === "ignore") {
    throw new JitflowError("HOOK_IGNORED", decision.value.message);
  }

  const { applicable, firstStep, resolved } = await routeFirstStep(deps, flow, row, now, deadlineAt);

  const saved = await inTransaction(deps, async (changes) => {
    await insertRequest(changes.trx, row);
    if (firstStep) await storeApprovers(changes.trx, row.id, firstStep.index, resolved.people, now);
    changes.note(row, "request.created", requester.email, {
      flow: row.flow,
      target,
      duration,
      source: input.source,
      ...(input.actor.email === requester.email ? {} : { submittedBy: input.actor.email }),
      ...(startAt === null ? {} : { startAt: new Date(startAt).toISOString() }),
      ...(firstStep ? { step: firstStep.name, approvers: resolved.people.map((p) => p.email) } : {}),
      // The row as stored, inside the hash chain: `jitflow audit verify` finds any later edit of it.
      submitted: submittedDigests(requestColumns(row)),
    });
    let current = row;
    for (const error of [...applicable.errors, ...resolved.errors]) {
      changes.note(current, "approvers.unresolved", "jitflow", { step: firstStep?.name ?? null, error });
    }
    for (const error of [promptError, decision.ok ? undefined : decision.error]) {
      if (!error) continue;
      current = { ...current, error };
      await setRequestError(changes.trx, row.id, error);
      changes.note(current, "hook.failed", "jitflow", { error });
    }
    let result = decision.ok ? decision.value : undefined;
    if (breakGlass !== null && result?.kind !== "deny") {
      // The emergency is approved by the requester at once, and announced (request.break_glass).
      changes.note(current, "request.break_glass", requester.email, { reason: breakGlass });
      current = await approveInTransaction(deps, changes, current, requester.email, breakGlass, true);
      result = undefined;
    } else if (!firstStep && result === undefined) {
      // No step's condition holds: the policy asks for no approval.
      current = await approveInTransaction(
        deps,
        changes,
        current,
        "policy",
        "no approval step applies",
        true,
      );
    }
    if (result?.kind === "approve") {
      current = await approveInTransaction(
        deps,
        changes,
        current,
        "hook:onRequest",
        result.reason ?? null,
        true,
      );
    } else if (result?.kind === "deny") {
      current = await denyInTransaction(changes, current, "hook:onRequest", result.reason ?? null);
    }
    // A new request has no decisions but the hook's, just written.
    const decisions = await getDecisions(changes.trx, row.id);
    return { row: current, decisions };
  });
  const due = nextDueOf(saved.row);
  if (due !== null) deps.wake(due);

  const after = toEvent(deps.config, saved.row, saved.decisions, input.actor);
  await reportAfterHook(deps, saved.row, await runAfterHook(module, "afterRequest", after, ms));
  if (saved.row.state !== "pending" && saved.row.state !== "denied") {
    await reportAfterHook(deps, saved.row, await runAfterHook(module, "afterApprove", after, ms));
  } else if (saved.row.state === "denied") {
    await reportAfterHook(deps, saved.row, await runAfterHook(module, "afterDeny", after, ms));
  }
  const overlaps = await sameGrant(deps.store.db, saved.row, ["escalating", "active"]);
  return { request: toView(saved.row, saved.decisions), overlaps: overlaps.map((o) => o.id) };
}
