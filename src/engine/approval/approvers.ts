// Who a step is sent to: its conditions evaluated, and its sources (users, admins, a Slack channel, an Okta
// group, a PagerDuty schedule, getApprovers) resolved to people, whom store/request-approvers.ts keeps.

import { backupSource } from "../../store/request-approvers.ts";
import type { AccessRequest } from "../../store/requests.ts";
import type { EngineDeps } from "../deps.ts";
import { withTimeLimit } from "../hooks.ts";
import type { LoadedFlow } from "../load-config.ts";
import { systemActor, toEvent } from "../read/views.ts";
import type { PolicyStep } from "./policy.ts";

export interface ResolvedApprover {
  email: string;
  source: string;
}

export interface Resolution {
  people: ResolvedApprover[];
  /** Sources that could not be resolved (the step goes on with the others; admins can always decide). */
  errors: string[];
}

/** The indices of the flow's steps whose `when` holds for this request. A condition that fails counts as true. */
export async function applicableSteps(
  deps: EngineDeps,
  flow: LoadedFlow,
  row: AccessRequest,
): Promise<{ steps: number[]; errors: string[] }> {
  const steps: number[] = [];
  const errors: string[] = [];
  const input = {
    flow: row.flow,
    target: row.target,
    duration: Number(row.duration),
    fields: structuredClone(row.fields),
    requester: { email: row.requester, role: row.requesterRole },
  };
  for (const step of flow.policy) {
    if (!step.when) {
      steps.push(step.index);
      continue;
    }
    const when = step.when;
    const outcome = await withTimeLimit(
      `steps[${step.index}].when`,
      deps.config.config.hooks.timeoutMs,
      async () => when(structuredClone(input)),
    );
    // Failing closed: a condition that cannot be evaluated keeps its step (more approval, never less).
    if (!outcome.ok) errors.push(`${outcome.error}; the step "${step.name}" applies`);
    if (!outcome.ok || outcome.value === true) steps.push(step.index);
  }
  return { steps, errors };
}

/** Resolves a step's sources to people, now. Lookups that fail are reported, not thrown. */
export async function resolveStep(
  deps: EngineDeps,
  flow: LoadedFlow,
  row: AccessRequest,
  step: PolicyStep,
): Promise<Resolution> {
  const people: ResolvedApprover[] = [];
  const errors: string[] = [];
  const add = (emails: string[], source: string) => {
    for (const e of emails) people.push({ email: e.toLowerCase(), source });
  };
  const s = step.sources;
  add(s.users, "users");
  // The first destination's people are asked from the start; later ones when the request reaches them.
  add(step.chain[0]?.users ?? [], backupSource);
  if (s.admins) add(deps.config.config.users.admins, "admins");
  const ms = deps.config.config.hooks.timeoutMs;
  const lookups = deps.lookups ?? {};
  const lookup = async (source: string, fn: (() => Promise<string[]>) | undefined, missing: string) => {
    if (!fn) {
      errors.push(`${source}: ${missing}`);
      return;
    }
    const outcome = await withTimeLimit(source, ms, fn);
    if (outcome.ok) add(outcome.value, source);
    else errors.push(outcome.error);
  };
  const { slackChannel, oktaGroup, pagerduty } = s;
  if (slackChannel) {
    await lookup(
      `slack:${slackChannel}`,
      lookups.slackChannel && (() => lookups.slackChannel?.(slackChannel) ?? Promise.resolve([])),
      "Slack is not configured",
    );
  }
  if (oktaGroup) {
    await lookup(
      `okta:${oktaGroup.group}`,
      lookups.oktaGroup &&
        (() => lookups.oktaGroup?.(oktaGroup.integration, oktaGroup.group) ?? Promise.resolve([])),
      `integration "${oktaGroup.integration}" is not an okta integration`,
    );
  }
  if (pagerduty) {
    await lookup(
      `pagerduty:${pagerduty.schedule}`,
      lookups.pagerduty &&
        (() => lookups.pagerduty?.(pagerduty.integration, pagerduty.schedule) ?? Promise.resolve([])),
      `integration "${pagerduty.integration}" is not a pagerduty integration`,
    );
  }
  if (s.getApprovers && flow.module?.getApprovers) {
    const getApprovers = flow.module.getApprovers;
    const evt = { ...toEvent(deps.config, row, [], systemActor), name: "getApprovers" };
    const outcome = await withTimeLimit("getApprovers", ms, () => getApprovers(evt));
    if (!outcome.ok) errors.push(outcome.error);
    else if (!Array.isArray(outcome.value) || !outcome.value.every((e) => typeof e === "string")) {
      errors.push("getApprovers must return a list of emails");
    } else add(outcome.value, "getApprovers");
  }
  const seen = new Set<string>();
  return { people: people.filter((p) => !seen.has(p.email) && seen.add(p.email)), errors };
}
