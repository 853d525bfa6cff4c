// The API's request and response schemas: they validate input and generate /api/v1/openapi.json.

import { z } from "@hono/zod-openapi";
import { states } from "../../engine/lifecycle.ts";
import type { RequestState as RequestStateName } from "../../model/types.ts";

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "FLOW_NOT_FOUND" }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

export const Duration = z
  .union([z.string().max(32), z.number().int().positive()])
  .openapi({ description: 'A duration: "30s", "90m", "1h", "1d" or a number of seconds', example: "1h" });

const Json = z.record(z.string(), z.unknown());

export const CreateRequestBody = z
  .object({
    flow: z.string().min(1).max(200),
    target: z.string().min(1).max(200).optional(),
    duration: Duration.optional(),
    fields: Json.optional(),
    requester: z
      .email()
      .optional()
      .openapi({ description: "Request for someone else (bot and admin tokens only)" }),
    context: Json.optional(),
    startAt: z.iso.datetime({ offset: true }).optional().openapi({
      description:
        "Approve now, start later: when the grant should start (ISO 8601, within the flow's maxStartDelay)",
    }),
    breakGlass: z.string().max(2000).optional().openapi({
      description:
        "Break-glass: the emergency's reason; approves the request at once (flows with allowBreakGlass)",
    }),
  })
  .openapi("CreateRequest");

export const ActionBody = z.object({ reason: z.string().max(2000).optional() }).openapi("ActionBody");

export const ExtendBody = z.object({ duration: Duration }).openapi("ExtendBody");

export const RequestState = z.enum(states as [RequestStateName, ...RequestStateName[]]);

export const Request = z
  .object({
    id: z.string(),
    flow: z.string(),
    target: z.string().nullable(),
    requester: z.object({ email: z.string(), name: z.string() }),
    state: RequestState,
    duration: z.number().openapi({ description: "seconds" }),
    fields: Json,
    context: Json,
    source: z.enum(["slack", "web", "api"]),
    createdAt: z.string(),
    updatedAt: z.string(),
    decidedAt: z.string().nullable(),
    activatedAt: z.string().nullable(),
    expiresAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    endedReason: z.enum(["scheduled", "revoked", "failed"]).nullable(),
    error: z.string().nullable(),
    attempts: z.number().openapi({ description: "Failed target calls so far (each retried with backoff)" }),
    lastError: z.string().nullable(),
    decisions: z.array(
      z.object({
        actor: z.string(),
        decision: z.enum(["approve", "deny"]),
        reason: z.string().nullable(),
        at: z.string(),
        step: z.number().openapi({ description: "The approval step this decision counted towards" }),
      }),
    ),
    step: z
      .number()
      .openapi({ description: "The approval step the request is at (index into the flow's steps)" }),
    steps: z.array(z.number()).openapi({ description: "The flow's steps that apply to this request" }),
    startAt: z
      .string()
      .nullable()
      .openapi({ description: "Approve now, start later: when the grant starts" }),
    breakGlass: z.string().nullable().openapi({ description: "A break-glass request's reason" }),
    reviewedBy: z.string().nullable(),
    reviewedAt: z.string().nullable(),
    extends: z
      .string()
      .nullable()
      .openapi({ description: "An extension awaiting approval: the request it extends" }),
    extensions: z.number().openapi({ description: "Extensions applied to this grant" }),
  })
  .openapi("Request");

export const CreatedRequest = Request.extend({
  overlaps: z
    .array(z.string())
    .openapi({ description: "Other live grants of the same target to the same person" }),
}).openapi("CreatedRequest");

export const BreakGlassQuery = z.object({
  reviewed: z
    .enum(["true", "false"])
    .optional()
    .openapi({ description: "false: only those not reviewed yet" }),
});

export const BreakGlassList = z.object({ items: z.array(Request) }).openapi("BreakGlassList");

export const RequestList = z
  .object({ items: z.array(Request), nextCursor: z.string().nullable() })
  .openapi("RequestList");

export const ListQuery = z.object({
  state: z.string().optional().openapi({ description: "One state or several separated by commas" }),
  flow: z.string().optional(),
  mine: z.enum(["true", "false"]).optional(),
  awaiting: z.enum(["me"]).optional().openapi({
    description:
      "me: pending requests the caller may decide, did not make and has not decided (looks at 500 pending requests per call)",
  }),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});

export const Flow = z
  .object({
    name: z.string(),
    label: z.string(),
    description: z.string().nullable(),
    targets: z.array(z.object({ name: z.string(), label: z.string(), type: z.string() })),
    durations: z.array(z.number()),
    maxDuration: z.number(),
    fields: z.array(
      z.object({
        name: z.string(),
        label: z.string(),
        type: z.string(),
        required: z.boolean(),
        default: z.unknown(),
        allowedValues: z.array(z.union([z.string(), z.number()])).nullable(),
        prefetch: z.boolean(),
        visible: z.boolean(),
        description: z.string().nullable(),
      }),
    ),
    approvers: z
      .object({ users: z.array(z.string()), minApprovals: z.number(), allowSelfApproval: z.boolean() })
      .nullable(),
    allowRevoke: z.boolean(),
    allowedSources: z.array(z.string()),
  })
  .openapi("Flow");

export const FlowList = z.object({ items: z.array(Flow) }).openapi("FlowList");

export const OptionList = z
  .object({ items: z.array(z.object({ value: z.union([z.string(), z.number()]), label: z.string() })) })
  .openapi("OptionList");

export const AuditEvent = z
  .object({
    id: z.string(),
    seq: z.number(),
    requestId: z.string().nullable(),
    type: z.string(),
    actor: z.string(),
    at: z.string(),
    data: Json,
    prevHash: z.string(),
    hash: z.string(),
  })
  .openapi("AuditEvent");

/** A comma-separated list, with blanks dropped. */
export const listOf = (value: string | undefined): string[] | undefined =>
  value
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);

const StateList = z
  .string()
  .max(500)
  .refine((v) => (listOf(v) ?? []).every((s) => (states as readonly string[]).includes(s)), {
    message: `unknown state (states: ${states.join(", ")})`,
  });

const Instant = z.iso.datetime({ offset: true }).openapi({ example: "2026-11-24T06:35:58.784Z" });

export const AuditFilterQuery = z.object({
  after: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .openapi({ description: "Return events with seq greater than this" }),
  requestId: z.string().max(100).optional(),
  flow: z.string().max(200).optional().openapi({ description: "The request's flow" }),
  target: z.string().max(200).optional().openapi({ description: "The request's target" }),
  requester: z.string().max(320).optional().openapi({ description: "The request's requester (email)" }),
  actor: z
    .string()
    .max(320)
    .optional()
    .openapi({ description: "Who did it: an email, hook:<name> or jitflow" }),
  type: z.string().max(1000).optional().openapi({ description: "Event types, separated by commas" }),
  state: StateList.optional().openapi({ description: "The request's current state(s), separated by commas" }),
  from: Instant.optional().openapi({ description: "Events at or after this instant" }),
  to: Instant.optional().openapi({ description: "Events before this instant" }),
});

export const AuditQuery = AuditFilterQuery.extend({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export const AuditExportQuery = AuditFilterQuery.extend({
  format: z.enum(["csv", "json"]).optional().openapi({ description: "csv (the default) or json" }),
});

export const AuditList = z
  .object({ items: z.array(AuditEvent), nextCursor: z.string().nullable() })
  .openapi("AuditList");

export const AuditExportItem = AuditEvent.extend({
  flow: z.string().nullable(),
  target: z.string().nullable(),
  requester: z.string().nullable(),
}).openapi("AuditExportItem");

export const RequestEvents = z.object({ items: z.array(AuditEvent) }).openapi("RequestEvents");

export const AuditVerifyQuery = z.object({
  expectHead: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "a head hash published by jitflow: 64 lower-case hex digits")
    .optional()
    .openapi({
      description:
        "A head hash published earlier: a problem unless it is the head or an earlier event of the chain",
    }),
});

export const AuditVerification = z
  .object({
    ok: z.boolean(),
    events: z.number(),
    problems: z.array(
      z.object({
        seq: z.number().openapi({ description: "The event concerned; 0 for the log as a whole" }),
        problem: z.string(),
        requestId: z
          .string()
          .optional()
          .openapi({ description: "The request whose stored row is concerned" }),
      }),
    ),
    head: z
      .object({ seq: z.number(), hash: z.string() })
      .nullable()
      .openapi({ description: "The head as stored (the last seq and hash); null when its row is missing" }),
    requests: z.object({
      covered: z.number().openapi({ description: "Requests checked against their request.created event" }),
      notCovered: z
        .number()
        .openapi({ description: "Requests stored before their submitted data was recorded" }),
    }),
    expectedHead: z.object({ hash: z.string(), seq: z.number().nullable() }).optional().openapi({
      description: "With expectHead: the seq of the event with that hash, null when it is not in the chain",
    }),
  })
  .openapi("AuditVerification");

export const Version = z
  .object({
    version: z.string().openapi({ description: "This jitflow's version (semver)" }),
    schema: z.object({
      expected: z
        .string()
        .openapi({ description: "The database schema this version expects: its last migration" }),
      applied: z
        .string()
        .nullable()
        .openapi({ description: "The last migration applied to the database it runs on" }),
    }),
  })
  .openapi("Version");

export const Me = z
  .object({
    email: z.string(),
    name: z.string(),
    role: z.enum(["admin", "member", "bot", "guest"]),
    approverOf: z.array(z.string()).openapi({ description: "Flows whose approvers.users name the caller" }),
  })
  .openapi("Me");

export const AdminFlow = Flow.extend({
  approvers: z
    .object({
      users: z.array(z.string()),
      channel: z.string().nullable(),
      minApprovals: z.number(),
      allowSelfApproval: z.boolean(),
    })
    .nullable(),
  counts: z
    .object(Object.fromEntries(states.map((s) => [s, z.number()])) as Record<RequestStateName, z.ZodNumber>)
    .openapi({ description: "Requests of this flow in each state" }),
}).openapi("AdminFlow");

export const AdminFlowList = z
  .object({
    items: z.array(AdminFlow),
    configProblems: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .openapi({ description: "What is wrong with the config file as it is on disk now" }),
  })
  .openapi("AdminFlowList");

export const IdParam = z.object({ id: z.string().min(1).max(100) });

export const SymRequestBody = z
  .object({
    flow_srn: z.string().min(1).max(300),
    flow_inputs: Json.optional(),
    context: Json.optional(),
    user_email: z.email().optional(),
  })
  .openapi("SymRequestEvent");

export const SymDeescalateBody = z
  .object({ run_id: z.string().min(1).max(100) })
  .openapi("SymDeescalateEvent");

export const SymEventAccepted = z
  .object({ run_id: z.string(), event_id: z.string() })
  .openapi("SymEventAccepted");

export const SymRun = z
  .object({
    run_id: z.string(),
    status: z.enum(["requested", "approved", "denied", "escalated", "deescalated", "expired", "errored"]),
  })
  .openapi("SymRun");

export const SymEvent = z
  .object({
    event_id: z.string(),
    run_id: z.string(),
    name: z.string(),
    timestamp: z.string(),
    status: z.enum(["processing", "success", "error"]),
    error: z.string().optional(),
  })
  .openapi("SymEvent");

const DriftEntry = z
  .object({
    identity: z
      .string()
      .openapi({ description: "The person as the target lists them (a login, a DN, a user name)" }),
    scope: Json.optional().openapi({ description: "The bound field values of this part of the target" }),
    requestId: z.string().optional(),
    requester: z.string().optional(),
    stillActive: z.boolean().optional(),
  })
  .openapi("DriftEntry");

export const DriftReport = z
  .object({
    target: z.string(),
    type: z.string(),
    checkedAt: z.string(),
    skipped: z.string().optional().openapi({ description: "Why the target was not compared" }),
    error: z.string().optional().openapi({ description: "Why the target could not be listed" }),
    missing: z.array(DriftEntry).openapi({ description: "Granted by jitflow, not in the target" }),
    unmanaged: z
      .array(DriftEntry)
      .openapi({ description: "In the target, not granted by jitflow, not standing" }),
    outlived: z.array(DriftEntry).openapi({ description: "Still there after the grant ended" }),
    standing: z.array(z.string()).openapi({ description: "Standing members present (drift.standing)" }),
  })
  .openapi("DriftReport");

export const DriftReportList = z.object({ items: z.array(DriftReport) }).openapi("DriftReportList");

export const DriftQuery = z.object({
  target: z.string().min(1).max(200).optional().openapi({ description: "Only this target" }),
});

export const Credentials = z
  .object({
    username: z.string(),
    password: z.string(),
    host: z.string().optional(),
    port: z.number().int().optional(),
    database: z.string().optional(),
    expiresAt: z.string().nullable(),
  })
  .openapi("Credentials");
