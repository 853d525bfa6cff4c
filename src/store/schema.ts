// The tables as Kysely sees them. Times are epoch milliseconds; JSON is stored as text.

import type { Generated, Selectable } from "kysely";
import type { RequestState } from "../model/types.ts";

export interface RequestsTable {
  id: string;
  flow: string;
  target: string | null;
  requester: string;
  requester_name: string;
  requester_role: string;
  state: RequestState;
  duration: number;
  fields: string;
  context: string;
  source: string;
  created_at: number;
  updated_at: number;
  decided_at: number | null;
  activated_at: number | null;
  expires_at: number | null;
  ended_at: number | null;
  ended_reason: string | null;
  error: string | null;
  /** When the request's own work (its approval clock, its start) is next due; its grant's is on the grant. */
  due_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  version: number;
  /** The flow's steps that apply to this request (JSON list of indices; their conditions held at submission). */
  steps: string | null;
  /** The policy step being decided (an index into the flow's steps), and when it began. */
  step: number;
  step_started_at: number | null;
  /** The backup destination the approval message is at, and when it was forwarded there. */
  destination: number;
  destination_at: number | null;
  /** Reminders sent for the current step, and when the next one is due. */
  reminders: number;
  remind_at: number | null;
  /** When a pending request expires if no one decides. */
  deadline_at: number | null;
  /** Approve now, start later: when the grant should start. */
  start_at: number | null;
  /** Break-glass: the emergency's reason; null for normal requests. */
  break_glass: string | null;
  reviewed_by: string | null;
  reviewed_at: number | null;
  /** An extension that needs approval: the request whose grant it extends. */
  extends_id: string | null;
  /** Extensions applied to this grant: how many, and the seconds they added. */
  extensions: number;
  extended_seconds: number;
}

/** One target granted by a request (today exactly one per request that names a target). */
export interface GrantsTable {
  /** The request's id, "/", the target's name. */
  id: string;
  request_id: string;
  target: string;
  /** The request's requester (it never changes): overlapping grants are found by it and the key. */
  requester: string;
  /** The target plus its bound field values (or the request, for a login per request): same key, same access. */
  grant_key: string;
  /** Who the target granted it to, in the connector's canonical form; set when escalate returns. */
  identity: string | null;
  /** JSON of GrantedWith (store/grants.ts), written when escalate is first called; null for grants made before 006. */
  granted_with: string | null;
  created_at: number;
  /** When the grant's work (escalate, expire, deescalate) is next due; leased by the scheduler. */
  due_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  /** Failed target calls in a row, and the last one's error. */
  attempts: number;
  last_error: string | null;
}

export interface DecisionsTable {
  request_id: string;
  actor: string;
  decision: string;
  reason: string | null;
  at: number;
  /** The policy step this decision counted towards. */
  step: number;
}

export interface AuditEventsTable {
  seq: number;
  id: string;
  request_id: string | null;
  type: string;
  actor: string;
  at: number;
  data: string;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface OutboxTable {
  id: string;
  kind: string;
  payload: string;
  request_id: string | null;
  created_at: number;
  due_at: number;
  attempts: Generated<number>;
  last_error: string | null;
  lease_owner: string | null;
  lease_until: number | null;
  delivered_at: number | null;
  order_key: Generated<string | null>;
  dedupe_key: Generated<string | null>;
}

export interface SlackMessagesTable {
  request_id: string;
  /** Where it was meant to go: "#channel", "dm:email" or "group:email,email". */
  destination: string;
  /** The conversation id Slack answered with. */
  channel: string;
  ts: string;
  created_at: number;
}

export interface SessionsTable {
  id_hash: string;
  email: string;
  name: string;
  csrf: string;
  created_at: number;
  expires_at: number;
}

export interface LoginAttemptsTable {
  state: string;
  code_verifier: string;
  nonce: string;
  next: string;
  created_at: number;
}

export interface SlackSeenTable {
  signature: string;
  seen_at: number;
}

export interface TokensTable {
  id: string;
  name: string;
  user_email: string;
  role: string;
  hash: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface ApiEventsTable {
  id: string;
  request_id: string;
  name: string;
  created_at: number;
}

export type OutboxRow = Selectable<OutboxTable>;

export interface GrantCredentialsTable {
  request_id: string;
  sealed: string;
  created_at: number;
}

export interface DriftFindingsTable {
  target: string;
  identity: string;
  /** "missing" (granted, not in the target), "unmanaged" (in the target, not granted), "outlived" (kept past its end). */
  kind: string;
  request_id: string | null;
  first_seen: number;
  last_seen: number;
}

export interface DriftRunsTable {
  target: string;
  last_run_at: number;
  lease_owner: string | null;
  lease_until: number | null;
}

export interface DriftScopesTable {
  target: string;
  /** SHA-256 (base64url) of the effective settings listed. */
  scope: string;
  first_listed: number;
}

export interface RequestApproversTable {
  request_id: string;
  step: number;
  email: string;
  /** Where the person came from: "users", "admins", "slack:#chan", "okta:GROUP", "pagerduty:SCHED", "getApprovers", "destination". */
  source: string;
  added_at: number;
}

export interface PreferencesTable {
  email: string;
  /** "slack", "email" or "both". */
  notify: string;
  updated_at: number;
}

export interface Database {
  requests: RequestsTable;
  grants: GrantsTable;
  decisions: DecisionsTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  outbox: OutboxTable;
  tokens: TokensTable;
  api_events: ApiEventsTable;
  slack_messages: SlackMessagesTable;
  slack_seen: SlackSeenTable;
  sessions: SessionsTable;
  login_attempts: LoginAttemptsTable;
  grant_credentials: GrantCredentialsTable;
  drift_findings: DriftFindingsTable;
  drift_runs: DriftRunsTable;
  drift_scopes: DriftScopesTable;
  request_approvers: RequestApproversTable;
  preferences: PreferencesTable;
}
