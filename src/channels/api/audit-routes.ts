// The audit log routes: a request's events, the filtered log page by page, its export, and its verification.

import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { EngineDeps } from "../../engine/deps.ts";
import { auditExportFor, auditFor, verifyAuditFor } from "../../engine/read/audit.ts";
import { requestEventsFor } from "../../engine/read/requests.ts";
import type { RequestState } from "../../model/types.ts";
import type { AuditFilter } from "../../store/audit-log.ts";
import { exportBody } from "./audit-export.ts";
import { type ApiEnv, actorOf } from "./auth.ts";
import { errors, json } from "./openapi-responses.ts";
import {
  AuditExportItem,
  AuditExportQuery,
  type AuditFilterQuery,
  AuditList,
  AuditQuery,
  AuditVerification,
  AuditVerifyQuery,
  IdParam,
  listOf,
  RequestEvents,
} from "./schemas.ts";

function filterOf(query: z.infer<typeof AuditFilterQuery>): AuditFilter {
  const instant = (v: string | undefined) => (v === undefined ? undefined : Date.parse(v));
  return {
    after: query.after,
    requestId: query.requestId,
    flow: query.flow,
    target: query.target,
    requester: query.requester,
    actor: query.actor,
    types: listOf(query.type),
    // StateList has checked that each is a state.
    states: listOf(query.state) as RequestState[] | undefined,
    from: instant(query.from),
    to: instant(query.to),
  };
}

const contentTypes = { csv: "text/csv; charset=utf-8", json: "application/json; charset=utf-8" } as const;

export function registerAuditRoutes(app: OpenAPIHono<ApiEnv>, deps: EngineDeps): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/requests/{id}/events",
      summary: "A request's audit events, in order",
      request: { params: IdParam },
      responses: { 200: { description: "The request's events", ...json(RequestEvents) }, ...errors },
    }),
    async (c) => c.json({ items: await requestEventsFor(deps, c.req.valid("param").id, actorOf(c)) }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/audit",
      summary: "Audit events in order, filtered (admins and bots)",
      request: { query: AuditQuery },
      responses: { 200: { description: "A page of events", ...json(AuditList) }, ...errors },
    }),
    async (c) => {
      const query = c.req.valid("query");
      const limit = query.limit ?? 100;
      const items = await auditFor(deps, actorOf(c), { ...filterOf(query), limit });
      const last = items.at(-1);
      return c.json({ items, nextCursor: items.length === limit && last ? String(last.seq) : null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/audit/export",
      summary: "The whole filtered audit log as a CSV or JSON download (admins and bots)",
      request: { query: AuditExportQuery },
      responses: {
        200: {
          description: "The events, as an attachment",
          content: {
            "text/csv": { schema: z.string() },
            "application/json": { schema: z.array(AuditExportItem) },
          },
        },
        ...errors,
      },
    }),
    (c) => {
      const query = c.req.valid("query");
      const format = query.format ?? "csv";
      // Checked here, before the answer starts: a refusal is a 403, not a broken download.
      const pages = auditExportFor(deps, actorOf(c), filterOf(query));
      const date = new Date(deps.clock.now()).toISOString().slice(0, 10);
      return c.body(exportBody(pages, format, deps.logger), 200, {
        "Content-Type": contentTypes[format],
        "Content-Disposition": `attachment; filename="jitflow-audit-${date}.${format}"`,
        "Cache-Control": "no-store",
      });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/audit/verify",
      summary: "Check the audit log's hash chain, its head and each request's stored row (admins and bots)",
      request: { query: AuditVerifyQuery },
      responses: { 200: { description: "What the check found", ...json(AuditVerification) }, ...errors },
    }),
    async (c) => c.json(await verifyAuditFor(deps, actorOf(c), c.req.valid("query")), 200),
  );
}
