// Read-side operations: requests and what awaits a person, flows, prefetched options, the audit log.

import { statSync } from "node:fs";
import { Worker } from "node:worker_threads";
import type { ConfigProblem } from "../../config/loader.ts";
import { JitflowError, messageOf } from "../../errors.ts";
import type { Person, PrefetchOption, RequestState, Role, Source } from "../../model/types.ts";
import {
  type AuditEntry,
  type AuditEvent,
  type AuditFilter,
  eventsOfRequest,
  findEvents,
  lastSeq,
} from "../../store/audit-log.ts";
import { type VerifyOptions, type VerifyResult, verifyAudit } from "../../store/audit-verify.ts";
import {
  countByFlowAndState,
  type DecisionRow,
  getDecisions,
  getDecisionsOf,
  listRequests,
  type RequestRow,
} from "../../store/requests.ts";
import { assertGuestMayAct, assertMayRequest, isDecider, requestableFlows } from "../access/policy.ts";
import type { EngineDeps } from "../deps.ts";
import { decidersOf, flowOf, loadVisibleRequest, mustGetFlow } from "../engine.ts";
import { withTimeLimit } from "../hooks.ts";
import { states } from "../lifecycle.ts";
import type { LoadedFlow } from "../load-config.ts";
import { type RequestView, toView } from "./views.ts";

const privileged = (actor: Person) => actor.role === "admin" || actor.role === "bot";

/** Flows whose `approvers.users` name this person. */
function approverFlowsOf(deps: EngineDeps, email: string): string[] {
  return [...deps.config.flows.values()]
    .filter((f) => f.config.approvers?.users.includes(email))
    .map((f) => f.config.name);
}

export interface Me {
  email: string;
  name: string;
  role: Role;
  approverOf: string[];
}

export function meFor(deps: EngineDeps, actor: Person): Me {
  return {
    email: actor.email,
    name: actor.name,
    role: actor.role,
    approverOf: approverFlowsOf(deps, actor.email),
  };
}

/** One request, for whoever may see it (engine.ts findVisibleRequest); 404 REQUEST_NOT_FOUND otherwise. */
export async function getRequestFor(deps: EngineDeps, id: string, actor: Person): Promise<RequestView> {
  const { row, decisions } = await loadVisibleRequest(deps, id, actor);
  return toView(row, decisions);
}

export interface ListInput {
  actor: Person;
  state?: RequestState[] | undefined;
  flow?: string | undefined;
  mine?: boolean | undefined;
  /** Only pending requests this person may decide, did not make and has not decided yet. */
  awaiting?: boolean | undefined;
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
  if (input.awaiting) return awaitingFor(deps, input);
  const seesAll = privileged(input.actor);
  const rows = await listRequests(deps.store.db, {
    state: input.state,
    flow: input.flow,
    requester: input.mine ? input.actor.email : undefined,
    visibleTo:
      seesAll || input.mine
        ? undefined
        : { email: input.actor.email, flows: approverFlowsOf(deps, input.actor.email) },
    before: input.cursor ? decodeCursor(input.cursor) : undefined,
    limit: input.limit + 1,
  });
  const page = rows.slice(0, input.limit);
  const items = await Promise.all(page.map(async (r) => toView(r, await getDecisions(deps.store.db, r.id))));
  const last = page.at(-1);
  return { items, nextCursor: rows.length > input.limit && last ? encodeCursor(last) : null };
}

/** At most this many pending requests are looked at per call of `awaiting=me` (each may run reducers). */
const awaitingScanLimit = 500;
const awaitingScanPage = 100;
const reducersAtOnce = 8;

/**
 * Pending requests this person may decide by the same rules as approving (admins, approvers, reducers,
 * guests only where allowed), newest first. Each call looks at no more than `awaitingScanLimit` pending
 * rows: a page can be short, or empty, with a `nextCursor` to go on from.
 */
async function awaitingFor(
  deps: EngineDeps,
  input: ListInput,
): Promise<{ items: RequestView[]; nextCursor: string | null }> {
  const { actor } = input;
  if (input.mine || input.state?.some((s) => s !== "pending")) {
    throw new JitflowError(
      "VALIDATION_FAILED",
      "awaiting=me lists pending requests of others: it cannot be combined with mine or another state",
    );
  }
  // Bots never decide (policy.isDecider): nothing can await them.
  if (actor.role === "bot") return { items: [], nextCursor: null };
  const found: { row: RequestRow; view: RequestView }[] = [];
  let before = input.cursor ? decodeCursor(input.cursor) : undefined;
  let scanned = 0;
  let lastScanned: RequestRow | undefined;
  let reachedEnd = false;
  while (found.length <= input.limit && scanned < awaitingScanLimit) {
    const take = Math.min(awaitingScanPage, awaitingScanLimit - scanned);
    const rows = await listRequests(deps.store.db, {
      state: ["pending"],
      flow: input.flow,
      notRequester: actor.email,
      notDecidedBy: actor.email,
      before,
      limit: take,
    });
    scanned += rows.length;
    const decisions = groupDecisions(
      await getDecisionsOf(
        deps.store.db,
        rows.map((r) => r.id),
      ),
    );
    // Reducers (getApprovers, getPermissions) may call other systems: a few at a time, not a page at once.
    const decides: boolean[] = [];
    for (let i = 0; i < rows.length; i += reducersAtOnce) {
      const slice = rows.slice(i, i + reducersAtOnce);
      decides.push(
        ...(await Promise.all(slice.map((row) => mayDecide(deps, actor, row, decisions.get(row.id) ?? [])))),
      );
    }
    for (const [i, row] of rows.entries()) {
      if (found.length > input.limit) break;
      lastScanned = row;
      if (decides[i]) found.push({ row, view: toView(row, decisions.get(row.id) ?? []) });
    }
    const tail = rows.at(-1);
    if (rows.length < take || !tail) {
      reachedEnd = true;
      break;
    }
    before = { createdAt: tail.created_at, id: tail.id };
  }
  const page = found.slice(0, input.limit);
  const last = page.at(-1);
  // More matches than fit: go on after the last one shown. Stopped by the scan limit: after the last row looked at.
  if (found.length > input.limit && last) {
    return { items: page.map((f) => f.view), nextCursor: encodeCursor(last.row) };
  }
  return {
    items: page.map((f) => f.view),
    nextCursor: !reachedEnd && lastScanned ? encodeCursor(lastScanned) : null,
  };
}

function groupDecisions(rows: DecisionRow[]): Map<string, DecisionRow[]> {
  const byRequest = new Map<string, DecisionRow[]>();
  for (const d of rows) byRequest.set(d.request_id, [...(byRequest.get(d.request_id) ?? []), d]);
  return byRequest;
}

/** Would approving this request pass the approver checks of decide.ts for this person? */
async function mayDecide(
  deps: EngineDeps,
  actor: Person,
  row: RequestRow,
  decisions: DecisionRow[],
): Promise<boolean> {
  if (!isDecider(actor, (await decidersOf(deps, row, decisions, actor)).rules)) return false;
  try {
    assertGuestMayAct(actor, flowOf(deps, row.flow));
    return true;
  } catch {
    return false;
  }
}

/** A request's audit events, for whoever may see the request (404 REQUEST_NOT_FOUND otherwise). */
export async function requestEventsFor(deps: EngineDeps, id: string, actor: Person): Promise<AuditEvent[]> {
  await getRequestFor(deps, id, actor);
  return eventsOfRequest(deps.store.db, id);
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

const loaderUrl = new URL("../load-config.ts", import.meta.url).href;
// A worker has its own module cache: importing the config again in this thread would return the module
// loaded at start, not the file as it is now. The flow modules it names are loaded (and run) again too.
const checkConfigSource = `
const { parentPort, workerData } = require("node:worker_threads");
import(workerData.loaderUrl)
  .then((m) => m.loadConfig(workerData.file).then(
    () => [],
    (err) => err instanceof m.ConfigError ? err.problems : [{ path: "", message: String(err?.message ?? err) }],
  ))
  .catch((err) => [{ path: "", message: String(err?.message ?? err) }])
  .then((problems) => parentPort.postMessage(problems));
`;

/** How long one check of the config file answers every caller (the Flows page re-asks on each change). */
const configCheckReuseMs = 5000;
const configChecks = new Map<
  string,
  { mtimeMs: number; settledAt: number | undefined; problems: Promise<ConfigProblem[]> }
>();

/**
 * One check at a time per file, reused for a few seconds while the file is unchanged: each check loads
 * (and runs) the flow modules again, and the Flows page asks on every change.
 */
function sharedConfigCheck(file: string): Promise<ConfigProblem[]> {
  let mtimeMs = -1;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    // Gone: the check itself says so.
  }
  const recent = configChecks.get(file);
  const fresh = recent?.settledAt === undefined || performance.now() - recent.settledAt < configCheckReuseMs;
  if (recent && recent.mtimeMs === mtimeMs && fresh) return recent.problems;
  const entry = { mtimeMs, settledAt: undefined as number | undefined, problems: configProblemsOf(file) };
  configChecks.set(file, entry);
  void entry.problems.then(() => {
    entry.settledAt = performance.now();
  });
  return entry.problems;
}

/** What loading the config file now reports: [] when it is valid. Gives up after `timeoutMs`. */
export function configProblemsOf(file: string, timeoutMs = 10_000): Promise<ConfigProblem[]> {
  return new Promise((resolve) => {
    const worker = new Worker(checkConfigSource, {
      eval: true,
      workerData: { loaderUrl, file },
      resourceLimits: { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 32 },
    });
    const done = (problems: ConfigProblem[]) => {
      clearTimeout(timer);
      resolve(problems);
      void worker.terminate();
    };
    const timer = setTimeout(
      () => done([{ path: "", message: `loading it did not finish within ${timeoutMs} ms` }]),
      timeoutMs,
    );
    worker.once("message", (problems: ConfigProblem[]) => done(problems));
    worker.once("error", (err) => done([{ path: "", message: messageOf(err) }]));
    worker.once("exit", (code) => done([{ path: "", message: `loading it stopped (exit code ${code})` }]));
  });
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

function assertMayReadAudit(actor: Person): void {
  if (!privileged(actor)) throw new JitflowError("FORBIDDEN", "only admins and bots may read the audit log");
}

/** Emails are stored in lower case; actors such as `hook:onRequest` are matched as given. */
function normalised(filter: AuditFilter): AuditFilter {
  const lower = (v: string | undefined) => (v?.includes("@") ? v.toLowerCase() : v);
  return { ...filter, requester: lower(filter.requester), actor: lower(filter.actor) };
}

/** A page of the audit log, in order, with filters: for admins and bots only. */
export async function auditFor(
  deps: EngineDeps,
  actor: Person,
  filter: AuditFilter & { limit: number },
): Promise<AuditEvent[]> {
  assertMayReadAudit(actor);
  return (await findEvents(deps.store.db, normalised(filter), filter.limit)).map((e) => e.event);
}

/**
 * The whole filtered audit log, page by page, for admins and bots only. The check is made at the call,
 * before anything is read; the pages are read as they are consumed.
 */
export function auditExportFor(
  deps: EngineDeps,
  actor: Person,
  filter: AuditFilter,
  pageSize = 1000,
): AsyncGenerator<AuditEntry[]> {
  assertMayReadAudit(actor);
  const wanted = normalised(filter);
  return (async function* () {
    let after = wanted.after ?? 0;
    for (;;) {
      const page = await findEvents(deps.store.db, { ...wanted, after }, pageSize);
      if (page.length) yield page;
      const last = page.at(-1);
      if (page.length < pageSize || !last) return;
      after = last.event.seq;
    }
  })();
}

/** Walks the audit log's hash chain and checks each request's row against it: for admins and bots only. */
export async function verifyAuditFor(
  deps: EngineDeps,
  actor: Person,
  options: Pick<VerifyOptions, "expectHead"> = {},
): Promise<VerifyResult> {
  assertMayReadAudit(actor);
  return verifyAudit(deps.store.db, options);
}

/** What the live stream knows about a change, to decide who is told. */
export interface WatchedChange {
  requester: string;
  flow: string;
  /** Who has approved or denied the request. */
  deciders: readonly string[];
}

/** A change to a request, as the live stream tells it. */
export interface RequestChange {
  seq: number;
  requestId: string;
  type: string;
  /** The request's state now (it may have moved on since this event). */
  state: string;
  at: string;
  watched: WatchedChange;
}

/** The seq the live stream starts after: the newest event's. */
export function lastChangeSeq(deps: EngineDeps): Promise<number> {
  return lastSeq(deps.store.db);
}

/** Audit events of requests after this seq, in order, at most `limit` events read. */
export async function requestChangesAfter(
  deps: EngineDeps,
  after: number,
  limit: number,
): Promise<{ changes: RequestChange[]; lastSeq: number; full: boolean }> {
  const entries = await findEvents(deps.store.db, { after }, limit);
  const ids = [
    ...new Set(entries.flatMap((e) => (e.request && e.event.requestId ? [e.event.requestId] : []))),
  ];
  const deciders = new Map<string, string[]>();
  for (const d of await getDecisionsOf(deps.store.db, ids)) {
    deciders.set(d.request_id, [...(deciders.get(d.request_id) ?? []), d.actor]);
  }
  const changes: RequestChange[] = [];
  for (const { event, request } of entries) {
    if (!request || !event.requestId) continue;
    changes.push({
      seq: event.seq,
      requestId: event.requestId,
      type: event.type,
      state: request.state,
      at: event.at,
      watched: {
        requester: request.requester,
        flow: request.flow,
        deciders: deciders.get(event.requestId) ?? [],
      },
    });
  }
  return { changes, lastSeq: entries.at(-1)?.event.seq ?? after, full: entries.length === limit };
}

/**
 * Who hears of a change on the live stream. Cheaper than getRequestFor (no reducers run per event): admins
 * and bots hear of every request; others of their own, those of flows whose approvers.users name them,
 * and those they decided.
 */
export function streamAudienceOf(deps: EngineDeps, actor: Person): (change: WatchedChange) => boolean {
  if (privileged(actor)) return () => true;
  const flows = new Set(approverFlowsOf(deps, actor.email));
  return (change) =>
    change.requester === actor.email || flows.has(change.flow) || change.deciders.includes(actor.email);
}
