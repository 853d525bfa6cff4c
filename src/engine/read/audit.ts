// The audit log as a caller may read it: pages, exports and verification of the chain, for admins and bots.

import { JitflowError } from "../../errors.ts";
import type { Person } from "../../model/types.ts";
import { type AuditEntry, type AuditEvent, type AuditFilter, findEvents } from "../../store/audit-log.ts";
import { type VerifyOptions, type VerifyResult, verifyAudit } from "../../store/audit-verify.ts";
import { privileged } from "../access/policy.ts";
import type { EngineDeps } from "../deps.ts";

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
