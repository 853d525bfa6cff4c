// The submit command: validate a request, run the prompt and request hooks, and record it (auto-decided or pending).

import type { LoadedFlow } from "../config/loader.ts";
import { parseDuration } from "../duration.ts";
import { JitflowError } from "../errors.ts";
import type { Person, Source } from "../sdk/types.ts";
import { uuidv7 } from "../store/ids.ts";
import {
  type DecisionRow,
  getDecisions,
  getRequest,
  insertRequest,
  type RequestRow,
  sameGrant,
} from "../store/requests.ts";
import { approveInTransaction, denyInTransaction } from "./decide.ts";
import { type EngineDeps, inTransaction, mustGetFlow, reportAfterHook } from "./engine.ts";
import { validateFields } from "./fields.ts";
import { runAfterHook, runOnHook } from "./hooks.ts";
import { assertMayRequest, personOf } from "./policy.ts";
import { type RequestView, toEvent, toView } from "./views.ts";

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
}

/**
 * Every check a submission must pass before any hook runs: who may ask, target, duration and fields.
 * Channels call it to answer at once (a Slack form shows field errors in place); submit calls it again.
 */
export function prepareSubmission(deps: EngineDeps, input: SubmitInput): PreparedSubmission {
  const flow = mustGetFlow(deps, input.flow);
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
      throw new JitflowError(
        "DURATION_INVALID",
        `${JSON.stringify(given)} is not a duration; use "30s", "90m", "1h", "1d" or a number of seconds`,
      );
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
    if (seconds === undefined) throw new JitflowError("DURATION_INVALID", "duration is not a valid duration");
    duration = seconds;
  }
  const fields = validateFields(flow, input.fields ?? {});
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
  return { flow, requester, target, duration, fields };
}

/**
 * Which grant a request gives: its target, plus the values of the target's bound fields, plus the
 * request itself when the target creates a login per request. Two live requests of one person with
 * the same key are one grant in the target.
 */
export function grantKeyOf(
  deps: EngineDeps,
  id: string,
  target: string | null,
  fields: Record<string, unknown>,
): string | null {
  if (target === null) return null;
  const loaded = deps.config.targets.get(target);
  if (!loaded) return target;
  if (loaded.perRequest) return `${target}\u0000request:${id}`;
  if (loaded.bindings.length === 0) return target;
  return `${target}\u0000${JSON.stringify(loaded.bindings.map((k) => fields[k]))}`;
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
  const { flow, requester, target, duration, fields } = prepareSubmission(deps, input);

  const now = deps.clock.now();
  const row: RequestRow = {
    id: input.id ?? uuidv7(now),
    flow: flow.config.name,
    target,
    requester: requester.email,
    requester_name: requester.name,
    requester_role: requester.role,
    state: "pending",
    duration,
    fields: JSON.stringify(fields),
    context: JSON.stringify(input.context ?? {}),
    source: input.source,
    created_at: now,
    updated_at: now,
    decided_at: null,
    activated_at: null,
    expires_at: null,
    ended_at: null,
    ended_reason: null,
    error: null,
    attempts: 0,
    last_error: null,
    due_at: now + flow.config.requestTimeout * 1000,
    lease_owner: null,
    lease_until: null,
    version: 0,
    grant_key: null,
    grant_identity: null,
  };
  row.grant_key = grantKeyOf(deps, row.id, target, fields);

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

  const saved = await inTransaction(deps, async (changes) => {
    await insertRequest(changes.trx, row);
    changes.note(row, "request.created", requester.email, {
      flow: row.flow,
      target,
      duration,
      source: input.source,
      ...(input.actor.email === requester.email ? {} : { submittedBy: input.actor.email }),
    });
    let current = row;
    for (const error of [promptError, decision.ok ? undefined : decision.error]) {
      if (!error) continue;
      current = { ...current, error };
      await changes.trx.updateTable("requests").set({ error }).where("id", "=", row.id).execute();
      changes.note(current, "hook.failed", "jitflow", { error });
    }
    const result = decision.ok ? decision.value : undefined;
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
    const decisions: DecisionRow[] =
      result?.kind === "approve" || result?.kind === "deny"
        ? [
            {
              request_id: row.id,
              actor: "hook:onRequest",
              decision: result.kind,
              reason: result.reason ?? null,
              at: changes.now,
            },
          ]
        : [];
    return { row: current, decisions };
  });
  if (saved.row.due_at !== null) deps.wake(saved.row.due_at);

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
