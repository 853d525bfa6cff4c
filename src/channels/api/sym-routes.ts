// The Sym-compatible Events API, so Sym API clients and CI jobs can switch by changing the base URL.

import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { revoke } from "../../engine/commands/cancel.ts";
import { submit } from "../../engine/commands/submit.ts";
import type { EngineDeps } from "../../engine/deps.ts";
import { findVisibleRequest } from "../../engine/engine.ts";
import { getRequestFor } from "../../engine/read/requests.ts";
import { type RequestView, toView } from "../../engine/read/views.ts";
import { JitflowError } from "../../errors.ts";
import type { RequestState } from "../../model/types.ts";
import { getApiEvent, recordApiEvent } from "../../store/api-events.ts";
import { type ApiEnv, actorOf } from "./auth.ts";
import {
  ErrorBody,
  SymDeescalateBody,
  SymEvent,
  SymEventAccepted,
  SymRequestBody,
  SymRun,
} from "./schemas.ts";

const errors = {
  400: { description: "Invalid input", content: { "application/json": { schema: ErrorBody } } },
  401: { description: "Unauthenticated", content: { "application/json": { schema: ErrorBody } } },
  403: { description: "Not allowed", content: { "application/json": { schema: ErrorBody } } },
  404: { description: "Not found", content: { "application/json": { schema: ErrorBody } } },
  409: { description: "Not possible now", content: { "application/json": { schema: ErrorBody } } },
} as const;

const runStatus: Record<RequestState, z.infer<typeof SymRun>["status"]> = {
  pending: "requested",
  approved: "approved",
  escalating: "approved",
  active: "escalated",
  deescalating: "escalated",
  ended: "deescalated",
  denied: "denied",
  cancelled: "denied",
  expired: "expired",
  failed: "errored",
};

/** `org:flow:NAME:latest` or a plain flow name → the flow name. */
export function flowNameFromSrn(srn: string): string {
  const parts = srn.split(":");
  if (parts.length >= 3 && parts[1] === "flow") return parts[2] as string;
  return srn;
}

function eventStatus(
  name: string,
  view: RequestView,
): { status: "processing" | "success" | "error"; error?: string } {
  if (name === "request") return view.error ? { status: "error", error: view.error } : { status: "success" };
  if (view.state === "ended") return { status: "success" };
  if (view.state === "failed") return { status: "error", error: view.error ?? "failed" };
  return view.lastError ? { status: "processing", error: view.lastError } : { status: "processing" };
}

export function registerSymRoutes(app: OpenAPIHono<ApiEnv>, deps: EngineDeps): void {
  const record = (requestId: string, name: string) =>
    recordApiEvent(deps.store.db, requestId, name, deps.clock.now());

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/events/request",
      summary: "Sym-compatible: start a run (a request)",
      request: { body: { required: true, content: { "application/json": { schema: SymRequestBody } } } },
      responses: {
        200: { description: "Accepted", content: { "application/json": { schema: SymEventAccepted } } },
        ...errors,
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const { target_id, duration, ...fields } = body.flow_inputs ?? {};
      if (target_id !== undefined && typeof target_id !== "string") {
        throw new JitflowError("VALIDATION_FAILED", "flow_inputs.target_id must be the target's name");
      }
      if (duration !== undefined && typeof duration !== "number" && typeof duration !== "string") {
        throw new JitflowError("DURATION_INVALID", "flow_inputs.duration must be a number of seconds");
      }
      const { request } = await submit(deps, {
        actor: actorOf(c),
        flow: flowNameFromSrn(body.flow_srn),
        target: target_id,
        duration,
        fields,
        requester: body.user_email,
        context: body.context,
        source: "api",
      });
      return c.json({ run_id: request.id, event_id: await record(request.id, "request") }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/runs/{run_id}",
      summary: "Sym-compatible: a run's status",
      request: { params: z.object({ run_id: z.string().min(1).max(100) }) },
      responses: {
        200: { description: "The run", content: { "application/json": { schema: SymRun } } },
        ...errors,
      },
    }),
    async (c) => {
      const view = await getRequestFor(deps, c.req.valid("param").run_id, actorOf(c));
      return c.json({ run_id: view.id, status: runStatus[view.state] }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/events/deescalate",
      summary: "Sym-compatible: take a run's access away",
      request: { body: { required: true, content: { "application/json": { schema: SymDeescalateBody } } } },
      responses: {
        200: { description: "Accepted", content: { "application/json": { schema: SymEventAccepted } } },
        ...errors,
      },
    }),
    async (c) => {
      const { run_id } = c.req.valid("json");
      const view = await revoke(deps, { id: run_id, actor: actorOf(c) });
      return c.json({ run_id: view.id, event_id: await record(view.id, "deescalate") }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/events/{event_id}",
      summary: "Sym-compatible: an event's processing status",
      request: { params: z.object({ event_id: z.string().min(1).max(100) }) },
      responses: {
        200: { description: "The event", content: { "application/json": { schema: SymEvent } } },
        ...errors,
      },
    }),
    async (c) => {
      const eventId = c.req.valid("param").event_id;
      const event = await getApiEvent(deps.store.db, eventId);
      // An event of a run the caller may not see is answered as one that does not exist.
      const visible = event ? await findVisibleRequest(deps, event.request_id, actorOf(c)) : undefined;
      if (!event || !visible) throw new JitflowError("EVENT_NOT_FOUND", `there is no event ${eventId}`);
      const view = toView(visible.row, visible.decisions);
      return c.json(
        {
          event_id: event.id,
          run_id: event.request_id,
          name: event.name,
          timestamp: new Date(event.created_at).toISOString(),
          ...eventStatus(event.name, view),
        },
        200,
      );
    },
  );
}
