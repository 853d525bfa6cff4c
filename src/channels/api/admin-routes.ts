// Admin routes: every flow with its approvers and request counts, the config file's problems, and drift.

import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { breakGlassRequests, review } from "../../engine/commands/break-glass.ts";
import type { EngineDeps } from "../../engine/deps.ts";
import { compareTarget } from "../../engine/drift.ts";
import { adminFlowsFor } from "../../engine/read/flows.ts";
import { JitflowError } from "../../errors.ts";
import { type ApiEnv, actorOf } from "./auth.ts";
import { errors, json } from "./openapi-responses.ts";
import {
  ActionBody,
  AdminFlowList,
  BreakGlassList,
  BreakGlassQuery,
  DriftQuery,
  DriftReportList,
  IdParam,
  Request,
} from "./schemas.ts";

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

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/admin/drift",
      summary:
        "Differences between what each target reports and jitflow's grants, now (admins; changes nothing)",
      request: { query: DriftQuery },
      responses: { 200: { description: "One report per target", ...json(DriftReportList) }, ...errors },
    }),
    async (c) => {
      if (actorOf(c).role !== "admin") throw new JitflowError("FORBIDDEN", "only admins may look for drift");
      const wanted = c.req.valid("query").target;
      if (wanted !== undefined && !deps.config.targets.has(wanted)) {
        throw new JitflowError(
          "TARGET_NOT_FOUND",
          `no target "${wanted}" (targets: ${[...deps.config.targets.keys()].join(", ") || "none"})`,
        );
      }
      const names = wanted === undefined ? [...deps.config.targets.keys()] : [wanted];
      const items = [];
      for (const name of names) items.push(await compareTarget(deps, name));
      return c.json({ items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/admin/break-glass",
      summary: "Break-glass requests, newest first, for review (admins)",
      request: { query: BreakGlassQuery },
      responses: { 200: { description: "Break-glass requests", ...json(BreakGlassList) }, ...errors },
    }),
    async (c) => {
      const { reviewed } = c.req.valid("query");
      const flag = reviewed === undefined ? undefined : reviewed === "true";
      return c.json({ items: await breakGlassRequests(deps, actorOf(c), flag) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/requests/{id}/review",
      summary: "Mark a break-glass request reviewed, with a note (admins; request.reviewed in the audit log)",
      request: { params: IdParam, body: { required: false, ...json(ActionBody) } },
      responses: { 200: { description: "The request, reviewed", ...json(Request) }, ...errors },
    }),
    async (c) => {
      const body = c.req.valid("json") as { reason?: string } | undefined;
      return c.json(
        await review(deps, { id: c.req.valid("param").id, actor: actorOf(c), reason: body?.reason }),
        200,
      );
    },
  );
}
