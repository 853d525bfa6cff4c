// The shapes the web app reads from jitflow's HTTP API. Those the API declares are derived from its zod
// schemas (src/channels/api/schemas.ts), type-only: a field the server drops or renames fails `npm run check`.

import type { z } from "zod";
import type { Preferences } from "../../src/channels/api/preference-routes.ts";
import type * as api from "../../src/channels/api/schemas.ts";

export type Role = Me["role"];
export type AuthMode = "dev" | "oidc" | "none";

export interface AuthConfig {
  mode: AuthMode;
  insecure: boolean;
}

export interface Session {
  email: string;
  name: string;
  role: Role;
  csrf: string;
  expiresAt: string;
  mode: AuthMode;
}

export type Me = z.output<typeof api.Me>;

/** How jitflow tells a person about requests. */
export type NotifyPreference = NotifySettings["notify"];

/** How jitflow tells the person, whether they chose, and which channels the server has. */
export type NotifySettings = z.output<typeof Preferences>;

export const requestStates = [
  "pending",
  "approved",
  "denied",
  "expired",
  "cancelled",
  "escalating",
  "active",
  "deescalating",
  "ended",
  "failed",
] as const satisfies readonly RequestState[];

/** Fails to compile when the server knows a state this list lacks. */
export const everyStateListed: [Exclude<RequestState, (typeof requestStates)[number]>] extends [never]
  ? true
  : never = true;

export type RequestState = z.output<typeof api.RequestState>;

export type FieldType =
  | "string"
  | "text"
  | "int"
  | "bool"
  | "duration"
  | "user"
  | "user_list"
  | "str_list"
  | "int_list";

export type FlowField = Flow["fields"][number];

export type Approvers = NonNullable<Flow["approvers"]>;

export type Flow = z.output<typeof api.Flow>;

export type AdminFlow = z.output<typeof api.AdminFlow>;

export type ConfigProblem = z.output<typeof api.AdminFlowList>["configProblems"][number];

export type Decision = AccessRequest["decisions"][number];

export type AccessRequest = z.output<typeof api.Request>;

export type AuditEvent = z.output<typeof api.AuditEvent>;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type Option = z.output<typeof api.OptionList>["items"][number];

export type ChainCheck = z.output<typeof api.AuditVerification>;

/** What the stream says when a request the person can see changes. */
export interface RequestChange {
  requestId: string;
  type: string;
  state: RequestState;
  at: string;
}
