// Admin routes: every flow with its approvers and request counts, and the config file's problems.

import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { EngineDeps } from "../../engine/engine.ts";
import { adminFlowsFor } from "../../engine/queries.ts";
import { type ApiEnv, actorOf } from "./auth.ts";
import { errors, json } from "./openapi-responses.ts";
import { AdminFlowList } from "./schemas.ts";

export function registerAdminRoutes(app: OpenAPIHono<ApiEnv>, deps: EngineDeps): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/admin/flows",
      summary: "Every flow, its approvers and request counts, and the config file's problems (admins)",
      responses: { 200: { description: "Flows and config problems", ...json(AdminFlowList) }, ...errors },
    }),
    async (c) => c.json(await adminFlowsFor(deps, actorOf(c)), 200),
  );
}
