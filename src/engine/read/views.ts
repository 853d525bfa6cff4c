// Turns rows into what the outside sees: the API's request view and the event hooks receive.

import type { FlowEvent, Person, RequestState, Role, Source } from "../../model/types.ts";
import { type AccessRequest, type DecisionRow, type Executor, getDecisions } from "../../store/requests.ts";
import { countEventsOf } from "../hook-helpers.ts";
import type { LoadedConfig } from "../load-config.ts";

export interface RequestView {
  id: string;
  flow: string;
  target: string | null;
  requester: { email: string; name: string };
  state: RequestState;
  duration: number;
  fields: Record<string, unknown>;
  context: Record<string, unknown>;
  source: Source;
  createdAt: string;
  updatedAt: string;
  decidedAt: string | null;
  activatedAt: string | null;
  expiresAt: string | null;
  endedAt: string | null;
  endedReason: "scheduled" | "revoked" | "failed" | null;
  error: string | null;
  attempts: number;
  lastError: string | null;
  decisions: {
    actor: string;
    decision: "approve" | "deny";
    reason: string | null;
    at: string;
    step: number;
  }[];
  /** The approval step the request is at (an index into the flow's steps), and the steps that apply to it. */
  step: number;
  steps: number[];
  /** Approve now, start later: when the grant starts. */
  startAt: string | null;
  /** A break-glass request's reason (it approved itself), and who reviewed it since. */
  breakGlass: string | null;
  reviewedBy: string | null;
  reviewedAt: string | null;
  /** An extension waiting for approval: the request whose grant it extends. */
  extends: string | null;
  /** Extensions applied to this grant so far. */
  extensions: number;
}

/** The policy fields of a view of a plain one-step request (tests and examples). */
export const plainPolicyView = {
  step: 0,
  steps: [0],
  startAt: null,
  breakGlass: null,
  reviewedBy: null,
  reviewedAt: null,
  extends: null,
  extensions: 0,
} satisfies Partial<RequestView>;

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function toView(row: AccessRequest, decisions: DecisionRow[]): RequestView {
  return {
    id: row.id,
    flow: row.flow,
    target: row.target,
    requester: { email: row.requester, name: row.requesterName },
    state: row.state,
    duration: Number(row.duration),
    fields: structuredClone(row.fields),
    context: structuredClone(row.context),
    source: row.source as Source,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    decidedAt: iso(row.decidedAt),
    activatedAt: iso(row.activatedAt),
    expiresAt: iso(row.expiresAt),
    endedAt: iso(row.endedAt),
    endedReason: row.endedReason as RequestView["endedReason"],
    error: row.error,
    attempts: row.grant?.attempts ?? 0,
    lastError: row.grant?.lastError ?? null,
    decisions: decisions.map((d) => ({
      actor: d.actor,
      decision: d.decision as "approve" | "deny",
      reason: d.reason,
      at: new Date(d.at).toISOString(),
      step: d.step,
    })),
    step: row.step,
    steps: row.steps === null ? [row.step] : row.steps,
    startAt: iso(row.startAt),
    breakGlass: row.breakGlass,
    reviewedBy: row.reviewedBy,
    reviewedAt: iso(row.reviewedAt),
    extends: row.extendsId,
    extensions: row.extensions,
  };
}

export const systemActor: Person = { email: "jitflow", name: "jitflow", role: "bot" };

/** The event a hook, reducer or custom target receives for a request. */
export function toEvent(
  config: LoadedConfig,
  row: AccessRequest,
  decisions: DecisionRow[],
  actor: Person,
  reason: string | null = null,
): FlowEvent {
  const flow = config.flows.get(row.flow);
  const target = row.target ? config.targets.get(row.target) : undefined;
  return {
    name: "",
    requester: {
      email: row.requester,
      name: row.requesterName,
      role: row.requesterRole as Role,
      countEvents: countEventsOf(row.requester),
    },
    actor,
    // Copies: a hook that changes what it is handed changes nothing of the request.
    fields: structuredClone(row.fields),
    target: target ? structuredClone(target.info) : null,
    duration: Number(row.duration),
    flow: { name: row.flow, label: flow?.label ?? row.flow, vars: structuredClone(flow?.config.vars ?? {}) },
    request: {
      id: row.id,
      state: row.state,
      createdAt: new Date(row.createdAt).toISOString(),
      expiresAt: iso(row.expiresAt),
    },
    source: row.source as Source,
    context: structuredClone(row.context),
    decisions: toView(row, decisions).decisions.map(({ step: _, ...d }) => d),
    reason,
  };
}

/** A row's view, its decisions read from the database. */
export async function readView(db: Executor, row: AccessRequest): Promise<RequestView> {
  return toView(row, await getDecisions(db, row.id));
}
