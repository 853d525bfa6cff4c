// Loading requests as a caller may see them, flows, and the hooks that answer who decides and who may do what.

import { JitflowError } from "../errors.ts";
import type { Permissions, Person, Source } from "../model/types.ts";
import { approversOf, everyApproverOf } from "../store/request-approvers.ts";
import {
  type AccessRequest,
  type DecisionRow,
  getDecisions,
  getRequest,
  setRequestError,
} from "../store/requests.ts";
import { type DeciderRules, deciderRules, isDecider, requestableFlows } from "./access/policy.ts";
import { type EngineDeps, inTransaction } from "./deps.ts";
import { withTimeLimit } from "./hooks.ts";
import type { LoadedFlow } from "./load-config.ts";
import { toEvent } from "./read/views.ts";

/** The one answer for a request that does not exist, or that the caller may not see: they must not differ. */
function requestNotFound(id: string): JitflowError {
  return new JitflowError("REQUEST_NOT_FOUND", `there is no request ${id}`);
}

export async function mustGetRequest(
  deps: EngineDeps,
  id: string,
  db: Parameters<typeof getRequest>[0] = deps.store.db,
): Promise<AccessRequest> {
  const row = await getRequest(db, id);
  if (!row) throw requestNotFound(id);
  return row;
}

/** A request as someone may see it; who may decide it is worked out when first asked, then kept. */
export interface VisibleRequest {
  row: AccessRequest;
  decisions: DecisionRow[];
  deciders(): Promise<{ rules: DeciderRules; error?: string }>;
}

/**
 * The request, if this person may see it: admins and bots see every request; others those they asked
 * for, decided, were sent (at any step), or may decide now. Undefined when it does not exist or they
 * may not see it, so that no answer tells one from the other.
 */
export async function findVisibleRequest(
  deps: EngineDeps,
  id: string,
  actor: Person,
): Promise<VisibleRequest | undefined> {
  const row = await getRequest(deps.store.db, id);
  if (!row) return undefined;
  const decisions = await getDecisions(deps.store.db, id);
  let deciders: Promise<{ rules: DeciderRules; error?: string }> | undefined;
  const found: VisibleRequest = {
    row,
    decisions,
    deciders: () => {
      deciders ??= decidersOf(deps, row, decisions, actor);
      return deciders;
    },
  };
  if (
    actor.role === "admin" ||
    actor.role === "bot" ||
    row.requester === actor.email ||
    decisions.some((d) => d.actor === actor.email) ||
    (await everyApproverOf(deps.store.db, row.id)).includes(actor.email) ||
    isDecider(actor, (await found.deciders()).rules)
  ) {
    return found;
  }
  return undefined;
}

/**
 * The request, checked first by every command that names one: whoever may not see it is answered
 * exactly as for an id that does not exist (404 REQUEST_NOT_FOUND), before anything else about it
 * (its state, its flow's rules) can show in an answer.
 */
export async function loadVisibleRequest(
  deps: EngineDeps,
  id: string,
  actor: Person,
): Promise<VisibleRequest> {
  const found = await findVisibleRequest(deps, id, actor);
  if (!found) throw requestNotFound(id);
  return found;
}

export function flowOf(deps: EngineDeps, name: string): LoadedFlow | undefined {
  return deps.config.flows.get(name);
}

/**
 * The flow, or FLOW_NOT_FOUND listing the flows the asker may request from their source: never the
 * others, whose names are not theirs to learn.
 */
export function mustGetFlow(
  deps: EngineDeps,
  name: string,
  asker: { actor: Person; source: Source },
): LoadedFlow {
  const flow = deps.config.flows.get(name);
  if (!flow) {
    const requestable = requestableFlows(deps.config.flows.values(), asker.actor, asker.source);
    throw new JitflowError("FLOW_NOT_FOUND", `there is no flow "${name}"`, {
      details: { flows: requestable.map((f) => f.config.name) },
    });
  }
  return flow;
}

/**
 * Who may decide this request: the flow's approvers, or what getApprovers/getPermissions answer.
 * A reducer that fails falls back to admins only (fail closed) and the failure is returned.
 */
export async function decidersOf(
  deps: EngineDeps,
  row: AccessRequest,
  decisions: DecisionRow[],
  actor: Person,
): Promise<{ rules: DeciderRules; error?: string }> {
  const flow = flowOf(deps, row.flow);
  const module = flow?.module;
  const ms = deps.config.config.hooks.timeoutMs;
  const evt = toEvent(deps.config, row, decisions, actor);
  let fromApprovers: string[] | undefined;
  let fromPermissions: Permissions | undefined;
  // With steps, getApprovers is a source of the steps that ask for it, resolved when they begin.
  if (module?.getApprovers && !flow?.config.approvers?.steps) {
    const getApprovers = module.getApprovers;
    const outcome = await withTimeLimit("getApprovers", ms, () =>
      getApprovers({ ...evt, name: "getApprovers" }),
    );
    if (!outcome.ok || !Array.isArray(outcome.value) || !outcome.value.every((e) => typeof e === "string")) {
      return {
        rules: { users: [], level: "admin", allowSelfApproval: false },
        error: outcome.ok ? "getApprovers must return a list of emails" : outcome.error,
      };
    }
    fromApprovers = outcome.value;
  }
  if (module?.getPermissions) {
    const getPermissions = module.getPermissions;
    const outcome = await withTimeLimit("getPermissions", ms, () =>
      getPermissions({ ...evt, name: "getPermissions" }),
    );
    const problem = outcome.ok ? permissionsProblem(outcome.value) : outcome.error;
    if (!outcome.ok || problem) {
      return { rules: { users: [], level: "admin", allowSelfApproval: false }, error: problem };
    }
    fromPermissions = outcome.value;
  }
  const rules = deciderRules(flow, fromApprovers, fromPermissions);
  // The people the request was sent to: the current step's while it is pending, any step's after. The
  // single-step form keeps deciding from its config and reducers, as above: only backup approvers
  // (forwarded destinations' users) are added to it.
  const onlyBackups = !flow?.config.approvers?.steps;
  const sentTo =
    row.state === "pending"
      ? await approversOf(deps.store.db, row.id, row.step, onlyBackups)
      : await everyApproverOf(deps.store.db, row.id, onlyBackups);
  return { rules: { ...rules, users: [...new Set([...rules.users, ...sentTo])] } };
}

/** What is wrong with a getPermissions result, if anything (checked so a typo fails closed, not open). */
function permissionsProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "getPermissions must return an object";
  const { approveDeny, allowSelfApproval } = value as Record<string, unknown>;
  const levelOk =
    approveDeny === undefined || approveDeny === "admin" || approveDeny === "member" || approveDeny === "all";
  const listOk = Array.isArray(approveDeny) && approveDeny.every((e) => typeof e === "string");
  if (!levelOk && !listOk)
    return 'getPermissions: approveDeny must be "admin", "member", "all" or a list of emails';
  if (allowSelfApproval !== undefined && typeof allowSelfApproval !== "boolean") {
    return "getPermissions: allowSelfApproval must be true or false";
  }
  return undefined;
}

/** An after-hook's failure is recorded on the request and in the audit log; it changes nothing else. */
export async function reportAfterHook(
  deps: EngineDeps,
  row: AccessRequest,
  error: string | undefined,
): Promise<void> {
  if (!error) return;
  deps.logger.error({ requestId: row.id, flow: row.flow, error }, "hook failed");
  await inTransaction(deps, async (changes) => {
    await setRequestError(changes.trx, row.id, error);
    changes.note(row, "hook.failed", "jitflow", { error });
  });
}
