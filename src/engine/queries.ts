// Read-side operations: one request, lists, the flows a person may request, and prefetched field options.

import { JitflowError } from "../errors.ts";
import type { Person, PrefetchOption, RequestState, Source } from "../sdk/types.ts";
import { type AuditEvent, listEvents } from "../store/audit-log.ts";
import { getDecisions, listRequests, type RequestRow } from "../store/requests.ts";
import { decidersOf, type EngineDeps, loadWithDecisions, mustGetFlow } from "./engine.ts";
import { withTimeLimit } from "./hooks.ts";
import { assertMayRequest, isDecider, mayRequest } from "./policy.ts";
import { type RequestView, toView } from "./views.ts";

/** Admins and bots see everything; others see their own requests and those they may decide. */
export async function getRequestFor(deps: EngineDeps, id: string, actor: Person): Promise<RequestView> {
  const { row, decisions } = await loadWithDecisions(deps, id);
  const visible =
    actor.role === "admin" ||
    actor.role === "bot" ||
    row.requester === actor.email ||
    decisions.some((d) => d.actor === actor.email) ||
    isDecider(actor, (await decidersOf(deps, row, decisions, actor)).rules);
  if (!visible) throw new JitflowError("REQUEST_NOT_FOUND", `there is no request ${id}`);
  return toView(row, decisions);
}

export interface ListInput {
  actor: Person;
  state?: RequestState[] | undefined;
  flow?: string | undefined;
  mine?: boolean | undefined;
  cursor?: string | undefined;
  limit: number;
}

export function encodeCursor(row: Pick<RequestRow, "created_at" | "id">): string {
  return Buffer.from(JSON.stringify([row.created_at, row.id])).toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, "base64url").toString()) as unknown[];
    if (Number.isSafeInteger(createdAt) && typeof id === "string")
      return { createdAt: createdAt as number, id };
  } catch {
    // fall through to the error below
  }
  throw new JitflowError("CURSOR_INVALID", "cursor is not one this server returned");
}

export async function listRequestsFor(
  deps: EngineDeps,
  input: ListInput,
): Promise<{ items: RequestView[]; nextCursor: string | null }> {
  const privileged = input.actor.role === "admin" || input.actor.role === "bot";
  const approverOf = [...deps.config.flows.values()]
    .filter((f) => f.config.approvers?.users.includes(input.actor.email))
    .map((f) => f.config.name);
  const rows = await listRequests(deps.store.db, {
    state: input.state,
    flow: input.flow,
    requester: input.mine ? input.actor.email : undefined,
    visibleTo: privileged || input.mine ? undefined : { email: input.actor.email, flows: approverOf },
    before: input.cursor ? decodeCursor(input.cursor) : undefined,
    limit: input.limit + 1,
  });
  const page = rows.slice(0, input.limit);
  const items = await Promise.all(page.map(async (r) => toView(r, await getDecisions(deps.store.db, r.id))));
  const last = page.at(-1);
  return { items, nextCursor: rows.length > input.limit && last ? encodeCursor(last) : null };
}

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
  return [...deps.config.flows.values()]
    .filter((f) => mayRequest(actor.role === "bot" ? { ...actor, role: "member" } : actor, f, source))
    .map((f) => ({
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
    }));
}

/** Options for a prefetched field, filtered by the query, at most 100. */
export async function prefetchOptions(
  deps: EngineDeps,
  input: { flow: string; field: string; actor: Person; query: string; source: Source },
): Promise<PrefetchOption[]> {
  const flow = mustGetFlow(deps, input.flow);
  // Prefetch runs the flow's code: only for people who may request the flow from where they ask.
  assertMayRequest(
    input.actor.role === "bot" ? { ...input.actor, role: "member" } : input.actor,
    flow,
    input.source,
  );
  const field = flow.config.fields.find((f) => f.name === input.field);
  if (!field) throw new JitflowError("FIELD_NOT_FOUND", `flow "${input.flow}" has no field "${input.field}"`);
  const fn = flow.module?.prefetch?.[field.name];
  if (!field.prefetch || !fn) {
    throw new JitflowError("PREFETCH_NOT_AVAILABLE", `field "${input.field}" has no prefetched options`);
  }
  const outcome = await withTimeLimit(`prefetch.${field.name}`, deps.config.config.hooks.timeoutMs, () =>
    fn({
      name: `prefetch.${field.name}`,
      actor: input.actor,
      flow: { name: flow.config.name, label: flow.label, vars: structuredClone(flow.config.vars) },
      field: field.name,
      query: input.query,
    }),
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

/** The audit log, in order: for admins and bots only. */
export async function auditFor(
  deps: EngineDeps,
  actor: Person,
  options: { after?: number | undefined; limit: number; requestId?: string | undefined },
): Promise<AuditEvent[]> {
  if (actor.role !== "admin" && actor.role !== "bot") {
    throw new JitflowError("FORBIDDEN", "only admins and bots may read the audit log");
  }
  return listEvents(deps.store.db, options);
}
