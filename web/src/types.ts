// The shapes the web app reads from jitflow's HTTP API (docs/api.md; src/channels/api/schemas.ts is the truth).

export type Role = "admin" | "member" | "guest" | "bot";
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

export interface Me {
  email: string;
  name: string;
  role: Role;
  approverOf: string[];
}

/** How jitflow tells a person about requests. */
export type NotifyPreference = "slack" | "email" | "both";

export interface NotifySettings {
  notify: NotifyPreference;
  /** True while the person has not chosen: `notify` is the server's default. */
  default: boolean;
  /** Which channels the server has configured. */
  channels: { slack: boolean; email: boolean };
}

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
] as const;

export type RequestState = (typeof requestStates)[number];

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

export interface FlowField {
  name: string;
  label: string;
  /** One of FieldType; a newer server may know more. */
  type: string;
  required: boolean;
  default: unknown;
  allowedValues: (string | number)[] | null;
  prefetch: boolean;
  visible: boolean;
  description: string | null;
}

export interface Approvers {
  users: string[];
  channel?: string | null;
  minApprovals: number;
  allowSelfApproval: boolean;
}

export interface Flow {
  name: string;
  label: string;
  description: string | null;
  targets: { name: string; label: string; type: string }[];
  /** Seconds. */
  durations: number[];
  maxDuration: number;
  fields: FlowField[];
  approvers: Approvers | null;
  allowRevoke: boolean;
  allowedSources: string[];
}

export interface AdminFlow extends Flow {
  counts: Partial<Record<RequestState, number>>;
}

export interface ConfigProblem {
  path: string;
  message: string;
}

export interface Decision {
  actor: string;
  decision: "approve" | "deny";
  reason: string | null;
  at: string;
}

export interface AccessRequest {
  id: string;
  flow: string;
  target: string | null;
  requester: { email: string; name: string };
  state: RequestState;
  /** Seconds (0 for approval-only flows). */
  duration: number;
  fields: Record<string, unknown>;
  source: "slack" | "web" | "api";
  createdAt: string;
  updatedAt: string;
  decidedAt: string | null;
  activatedAt: string | null;
  expiresAt: string | null;
  endedAt: string | null;
  endedReason: "scheduled" | "revoked" | "failed" | null;
  error: string | null;
  attempts: number;
  lastError: string | null;
  decisions: Decision[];
}

export interface AuditEvent {
  id: string;
  seq: number;
  requestId: string | null;
  type: string;
  actor: string;
  at: string;
  data: Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Option {
  value: string | number;
  label: string;
}

export interface ChainCheck {
  ok: boolean;
  events: number;
  problems: { seq: number; problem: string }[];
}

/** What the stream says when a request the person can see changes. */
export interface RequestChange {
  requestId: string;
  type: string;
  state: RequestState;
  at: string;
}
