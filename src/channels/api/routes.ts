// The jitflow API routes: the caller, flows, requests and their actions. Each one calls the engine.

import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { cancel, revoke } from "../../engine/commands/cancel.ts";
import { approve, deny } from "../../engine/commands/decide.ts";
import { extend } from "../../engine/commands/extend.ts";
import { submit } from "../../engine/commands/submit.ts";
import type { EngineDeps } from "../../engine/deps.ts";
import { states } from "../../engine/lifecycle.ts";
import { credentialsFor } from "../../engine/read/credentials.ts";
import { flowsFor, prefetchOptions } from "../../engine/read/flows.ts";
import { getRequestFor, listRequestsFor, meFor } from "../../engine/read/requests.ts";
import { versionOf } from "../../engine/read/version.ts";
import { JitflowError } from "../../errors.ts";
import type { RequestState } from "../../model/types.ts";
import { registerAdminRoutes } from "./admin-routes.ts";
import { registerAuditRoutes } from "./audit-routes.ts";
import { type ApiEnv, actorOf, sourceOf } from "./auth.ts";
import { errors, json } from "./openapi-responses.ts";
import {
  ActionBody,
  CreatedRequest,
  CreateRequestBody,
  Credentials,
  ExtendBody,
  FlowList,
  IdParam,
  ListQuery,
  listOf,
  Me,
  OptionList,
  Request,
  RequestList,
  Version,
} from "./schemas.ts";
import { eventStreamOf } from "./stream.ts";

export function registerRoutes(app: OpenAPIHono<ApiEnv>, deps: EngineDeps): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/version",
      summary: "This jitflow's version, and the database schema it expects and finds",
      responses: { 200: { description: "Versions", ...json(Version) }, ...errors },
    }),
    async (c) => c.json(await versionOf(deps), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/me",
      summary: "Who the caller is, and which flows name them as an approver",
      responses: { 200: { description: "The caller", ...json(Me) }, ...errors },
    }),
    (c) => c.json(meFor(deps, actorOf(c)), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/flows",
      summary: "Flows the caller may request",
      responses: { 200: { description: "Flows", ...json(FlowList) }, ...errors },
    }),
    (c) => c.json({ items: flowsFor(deps, actorOf(c), sourceOf(c)) }, 200),
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
        source: sourceOf(c),
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
      const { request, overlaps } = await submit(deps, { ...body, actor: actorOf(c), source: sourceOf(c) });
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
      const wanted = listOf(query.state);
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
        awaiting: query.awaiting === "me",
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

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/requests/{id}/credentials",
      summary: "The temporary login a grant created (createUser targets): its requester only, while active",
      request: { params: IdParam },
      responses: { 200: { description: "The login", ...json(Credentials) }, ...errors },
    }),
    async (c) => {
      const credentials = await credentialsFor(deps, c.req.valid("param").id, actorOf(c));
      c.header("Cache-Control", "no-store");
      return c.json(credentials, 200);
    },
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
      responses: {
        200: { description: "The request with its new expiry", ...json(Request) },
        202: {
          description:
            "The extension needs approval (the flow's extensions.approvalAbove): the new request that asks for it, whose `extends` is this grant",
          ...json(Request),
        },
        ...errors,
      },
    }),
    async (c) => {
      const { duration } = c.req.valid("json");
      const view = await extend(deps, { id: c.req.valid("param").id, actor: actorOf(c), duration });
      return view.extends !== null ? c.json(view, 202) : c.json(view, 200);
    },
  );

  registerAuditRoutes(app, deps);
  registerAdminRoutes(app, deps);
  app.get("/api/v1/stream", (c) => eventStreamOf(deps).handle(c));
}
