import type { ConfigProblem } from "../../config/loader.ts";
import { JitflowError } from "../../errors.ts";
import type { Person, PrefetchOption, RequestState, Source } from "../../model/types.ts";
import { countByFlowAndState } from "../../store/requests.ts";
import { assertMayRequest, requestableFlows } from "../access/policy.ts";
import type { EngineDeps } from "../deps.ts";
import { mustGetFlow } from "../engine.ts";
import { withTimeLimit } from "../hooks.ts";
import { states } from "../lifecycle.ts";
import type { LoadedFlow } from "../load-config.ts";
import { sharedConfigCheck } from "./config-check.ts";

export interface FlowView {
  name: string;
  label: string;
  description: string | null;
  targets: { name: string; label: string; type: string }[];
  durations: number[];
  maxDuration: number;
  fields: {
    name: string;
    label: string;
    type: string;
    required: boolean;
    default: unknown;
    allowedValues: (string | number)[] | null;
    prefetch: boolean;
    visible: boolean;
    description: string | null;
  }[];
  approvers: { users: string[]; minApprovals: number; allowSelfApproval: boolean } | null;
  allowRevoke: boolean;
  allowedSources: Source[];
}

export function flowsFor(deps: EngineDeps, actor: Person, source: Source): FlowView[] {
  return requestableFlows(deps.config.flows.values(), actor, source).map((f) => flowView(deps, f));
}

function flowView(deps: EngineDeps, f: LoadedFlow): FlowView {
  return {
    name: f.config.name,
    label: f.label,
    description: f.config.description ?? null,
    targets: f.config.targets.map((t) => {
      const info = deps.config.targets.get(t)?.info;
      return { name: t, label: info?.label ?? t, type: info?.type ?? "unknown" };
    }),
    durations: f.config.durations,
    maxDuration: f.maxDuration,
    fields: f.config.fields.map((fd) => ({
      name: fd.name,
      label: fd.label ?? fd.name,
      type: fd.type,
      required: fd.required,
      default: fd.default ?? null,
      allowedValues: fd.allowedValues ?? null,
      prefetch: fd.prefetch,
      visible: fd.visible,
      description: fd.description ?? null,
    })),
    approvers: f.config.approvers
      ? {
          users: f.config.approvers.users,
          minApprovals: f.config.approvers.minApprovals,
          allowSelfApproval: f.config.approvers.allowSelfApproval,
        }
      : null,
    allowRevoke: f.config.allowRevoke,
    allowedSources: f.config.allowedSources,
  };
}

export interface AdminFlowView extends Omit<FlowView, "approvers"> {
  approvers: {
    users: string[];
    channel: string | null;
    minApprovals: number;
    allowSelfApproval: boolean;
  } | null;
  /** Requests of this flow in each state, every state present. */
  counts: Record<RequestState, number>;
}

/**
 * Every flow with its approvers and request counts, and what is wrong with the config file as it is on
 * disk now (it may have been edited since the server started): admins only.
 */
export async function adminFlowsFor(
  deps: EngineDeps,
  actor: Person,
): Promise<{ items: AdminFlowView[]; configProblems: ConfigProblem[] }> {
  if (actor.role !== "admin") throw new JitflowError("FORBIDDEN", "only admins may see every flow");
  const [counted, configProblems] = await Promise.all([
    countByFlowAndState(deps.store.db),
    sharedConfigCheck(deps.config.file),
  ]);
  const items = [...deps.config.flows.values()].map((f): AdminFlowView => {
    const counts = Object.fromEntries(states.map((s) => [s, 0])) as Record<RequestState, number>;
    for (const c of counted) if (c.flow === f.config.name) counts[c.state as RequestState] = c.count;
    const approvers = f.config.approvers;
    return {
      ...flowView(deps, f),
      approvers: approvers
        ? {
            users: approvers.users,
            channel: approvers.channel ?? null,
            minApprovals: approvers.minApprovals,
            allowSelfApproval: approvers.allowSelfApproval,
          }
        : null,
      counts,
    };
  });
  return { items, configProblems };
}

/** Options for a prefetched field, filtered by the query, at most 100. */
export async function prefetchOptions(
  deps: EngineDeps,
  input: { flow: string; field: string; actor: Person; query: string; source: Source },
): Promise<PrefetchOption[]> {
  const flow = mustGetFlow(deps, input.flow, { actor: input.actor, source: input.source });
  // Prefetch runs the flow's code: only for people who may request the flow from where they ask.
  assertMayRequest(
    input.actor.role === "bot" ? { ...input.actor, role: "member" } : input.actor,
    flow,
    input.source,
  );
  const field = flow.config.fields.find((f) => f.name === input.field);
  if (!field) throw new JitflowError("FIELD_NOT_FOUND", `flow "${input.flow}" has no field "${input.field}"`);
  const fn = flow.module?.prefetch?.[field.name];
  // Without a prefetch of the module's own, a target whose setting is bound to the field lists its values.
  const lister = fn ? undefined : boundLister(deps, flow.config.targets, field.name);
  if (!field.prefetch || (!fn && !lister)) {
    throw new JitflowError("PREFETCH_NOT_AVAILABLE", `field "${input.field}" has no prefetched options`);
  }
  const timeoutMs = deps.config.config.hooks.timeoutMs;
  const outcome = await withTimeLimit(`prefetch.${field.name}`, timeoutMs, () =>
    fn
      ? fn({
          name: `prefetch.${field.name}`,
          actor: input.actor,
          flow: { name: flow.config.name, label: flow.label, vars: structuredClone(flow.config.vars) },
          field: field.name,
          query: input.query,
        })
      : (lister as NonNullable<typeof lister>)(input.query, AbortSignal.timeout(timeoutMs)),
  );
  if (!outcome.ok) throw new JitflowError("HOOK_FAILED", outcome.error);
  if (!Array.isArray(outcome.value))
    throw new JitflowError("HOOK_FAILED", `prefetch.${field.name} must return a list`);
  const q = input.query.toLowerCase();
  return outcome.value
    .filter((o): o is PrefetchOption => typeof o === "object" && o !== null && "value" in o && "label" in o)
    .filter(
      (o) =>
        q === "" || String(o.label).toLowerCase().includes(q) || String(o.value).toLowerCase().includes(q),
    )
    .slice(0, 100)
    .map((o) => ({ value: o.value, label: String(o.label) }));
}

/** The first of the flow's targets that binds this field and can list its values, as a prefetch. */
export function boundLister(
  deps: Pick<EngineDeps, "config">,
  targets: string[],
  field: string,
): ((query: string, signal: AbortSignal) => Promise<PrefetchOption[]>) | undefined {
  for (const name of targets) {
    const target = deps.config.targets.get(name);
    const options = target?.connector.options?.bind(target.connector);
    if (!target || !options || !target.bindings.includes(field)) continue;
    return (query, signal) => options({ key: field, settings: target.fixedSettings, query, signal });
  }
  return undefined;
}
