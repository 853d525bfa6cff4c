// The jitflow API routes: flows, requests and their actions, and the audit log. Each one calls the engine.

import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { cancel, extend, revoke } from "../../engine/actions.ts";
import { approve, deny } from "../../engine/decide.ts";
import type { EngineDeps } from "../../engine/engine.ts";
import { states } from "../../engine/lifecycle.ts";
import { auditFor, flowsFor, getRequestFor, listRequestsFor, prefetchOptions } from "../../engine/queries.ts";
import { submit } from "../../engine/submit.ts";
import { JitflowError } from "../../errors.ts";
import type { RequestState } from "../../sdk/types.ts";
import { type ApiEnv, actorOf } from "./auth.ts";
import {
  ActionBody,
  AuditList,
  AuditQuery,
  CreatedRequest,
  CreateRequestBody,
  ErrorBody,
  ExtendBody,
  FlowList,
  IdParam,
  ListQuery,
  OptionList,
  Request,
  RequestList,
} from "./schemas.ts";

const errors = {
  400: { description: "Invalid input", content: { "application/json": { schema: ErrorBody } } },
  401: {
    description: "Missing, unknown, revoked or expired token",
    content: { "application/json": { schema: ErrorBody } },
  },
  403: { description: "Not allowed", content: { "application/json": { schema: ErrorBody } } },
  404: { description: "Not found", content: { "application/json": { schema: ErrorBody } } },
  409: {
    description: "Not possible in the request's state",
    content: { "application/json": { schema: ErrorBody } },
  },
} as const;

const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });

export function registerRoutes(app: OpenAPIHono<ApiEnv>, deps: EngineDeps): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/flows",
      summary: "Flows the caller may request",
      responses: { 200: { description: "Flows", ...json(FlowList) }, ...errors },
    }),
    (c) => c.json({ items: flowsFor(deps, actorOf(c), "api") }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/flows/{flow}/fields/{field}/options",
      summary: "Prefetched options of a field",
      request: {
        params: z.object({ flow: z.string().max(200), field: z.string().max(200) }),
        query: z.object({ q: z.string().max(200).optional() }),
      },
      responses: { 200: { description: "Options", ...json(OptionList) }, ...errors },
    }),
    async (c) => {
      const { flow, field } = c.req.valid("param");
      const items = await prefetchOptions(deps, {
        flow,
        field,
        actor: actorOf(c),
        query: c.req.valid("query").q ?? "",
        source: "api",
      });
      return c.json({ items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/requests",
      summary: "Ask for access",
      request: { body: { required: true, ...json(CreateRequestBody) } },
      responses: { 201: { description: "The new request", ...json(CreatedRequest) }, ...errors },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const { request, overlaps } = await submit(deps, { ...body, actor: actorOf(c), source: "api" });
      return c.json({ ...request, overlaps }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/requests",
      summary: "Requests, newest first",
      request: { query: ListQuery },
      responses: { 200: { description: "A page of requests", ...json(RequestList) }, ...errors },
    }),
    async (c) => {
      const query = c.req.valid("query");
      const wanted = query.state
        ?.split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = wanted?.find((s) => !(states as readonly string[]).includes(s));
      if (unknown) {
        throw new JitflowError(
          "VALIDATION_FAILED",
          `unknown state "${unknown}" (states: ${states.join(", ")})`,
        );
      }
      const page = await listRequestsFor(deps, {
        actor: actorOf(c),
        state: wanted as RequestState[] | undefined,
        flow: query.flow,
        mine: query.mine === "true",
        cursor: query.cursor,
        limit: query.limit ?? 50,
      });
      return c.json(page, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/requests/{id}",
      summary: "One request",
      request: { params: IdParam },
      responses: { 200: { description: "The request", ...json(Request) }, ...errors },
    }),
    async (c) => c.json(await getRequestFor(deps, c.req.valid("param").id, actorOf(c)), 200),
  );

  const actions = [
    ["approve", "Approve a pending request", approve],
    ["deny", "Deny a pending request", deny],
    ["revoke", "Take access away now", revoke],
    ["cancel", "Withdraw your own pending request", cancel],
  ] as const;
  for (const [name, summary, command] of actions) {
    app.openapi(
      createRoute({
        method: "post",
        path: `/api/v1/requests/{id}/${name}`,
        summary,
        request: { params: IdParam, body: { required: false, ...json(ActionBody) } },
        responses: { 200: { description: "The request after the action", ...json(Request) }, ...errors },
      }),
      async (c) => {
        const body = c.req.valid("json");
        const view = await command(deps, {
          id: c.req.valid("param").id,
          actor: actorOf(c),
          reason: body?.reason,
        });
        return c.json(view, 200);
      },
    );
  }

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/requests/{id}/extend",
      summary: "Extend an active grant (capped by the flow's largest duration)",
      request: { params: IdParam, body: { required: true, ...json(ExtendBody) } },
      responses: { 200: { description: "The request with its new expiry", ...json(Request) }, ...errors },
    }),
    async (c) => {
      const { duration } = c.req.valid("json");
      return c.json(await extend(deps, { id: c.req.valid("param").id, actor: actorOf(c), duration }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/audit",
      summary: "Audit events in order (admins and bots)",
      request: { query: AuditQuery },
      responses: { 200: { description: "A page of events", ...json(AuditList) }, ...errors },
    }),
    async (c) => {
      const query = c.req.valid("query");
      const limit = query.limit ?? 100;
      const items = await auditFor(deps, actorOf(c), {
        after: query.after,
        limit,
        requestId: query.requestId,
      });
      const last = items.at(-1);
      return c.json({ items, nextCursor: items.length === limit && last ? String(last.seq) : null }, 200);
    },
  );
}
