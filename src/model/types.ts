// The types flow modules and configs are written against: events, decisions, hooks and reducers.

export type Role = "admin" | "member" | "guest" | "bot";
export type Source = "slack" | "web" | "api";
export type RequestState =
  | "pending"
  | "approved"
  | "denied"
  | "expired"
  | "cancelled"
  | "escalating"
  | "active"
  | "deescalating"
  | "ended"
  | "failed";

/** A person as hooks see them: identified by email. */
export interface Person {
  email: string;
  name: string;
  role: Role;
}

export interface TargetInfo {
  name: string;
  type: string;
  label: string;
  /** The target's settings from the config, with secrets left out. */
  settings: Record<string, unknown>;
}

export interface RequestInfo {
  id: string;
  state: RequestState;
  createdAt: string;
  expiresAt: string | null;
}

export interface DecisionRecord {
  actor: string;
  decision: "approve" | "deny";
  reason: string | null;
  at: string;
}

export type HookName =
  | "onPrompt"
  | "afterPrompt"
  | "onRequest"
  | "afterRequest"
  | "onApprove"
  | "afterApprove"
  | "onDeny"
  | "afterDeny"
  | "onEscalate"
  | "afterEscalate"
  | "onDeescalate"
  | "afterDeescalate";

/** The requester as hooks see them: a person, and a count of their past events. */
export interface Requester extends Person {
  /**
   * How many audit events of `type` the requester's requests had since `since` (a Date, an ISO time,
   * or a duration back from now such as "30d"), optionally of one flow or target. Sym's get_event_count.
   */
  countEvents(query: { type: string; since: Date | string; flow?: string; target?: string }): Promise<number>;
}

/** What every hook, reducer and target function receives. */
export interface FlowEvent<Fields extends Record<string, unknown> = Record<string, unknown>> {
  /** The hook or function being run, e.g. "onRequest" or "escalate". */
  name: string;
  requester: Requester;
  /** Who caused this step: the requester, an approver, or the jitflow system for scheduled work. */
  actor: Person;
  fields: Fields;
  /** The target, or null for approval-only flows. */
  target: TargetInfo | null;
  /** Requested duration in seconds. */
  duration: number;
  flow: { name: string; label: string; vars: Record<string, unknown> };
  request: RequestInfo;
  source: Source;
  /** Free-form context attached by API callers (CI job, ticket, …). */
  context: Record<string, unknown>;
  decisions: DecisionRecord[];
  /** The reason given with the current action (approve/deny/revoke note), if any. */
  reason: string | null;
}

export interface ApproveResult {
  readonly kind: "approve";
  readonly reason?: string;
}
export interface DenyResult {
  readonly kind: "deny";
  readonly reason?: string;
}
export interface IgnoreResult {
  readonly kind: "ignore";
  readonly message: string;
}
export type HookResult = ApproveResult | DenyResult | IgnoreResult;

/** An `on*` hook: may decide (approve/deny), block the action (ignore), or return nothing. */
export type OnHook<Fields extends Record<string, unknown> = Record<string, unknown>> = (
  evt: FlowEvent<Fields>,
) => Promise<OnHookReturn>;

// biome-ignore lint/suspicious/noConfusingVoidType: a hook that decides nothing may simply not return.
export type OnHookReturn = HookResult | undefined | void;

/** An `after*` hook: runs after the step and cannot change it. */
export type AfterHook<Fields extends Record<string, unknown> = Record<string, unknown>> = (
  evt: FlowEvent<Fields>,
) => Promise<void>;

export type PermissionLevel = "admin" | "member" | "all";

export interface Permissions {
  /** Who may approve and deny: a level or a list of emails. Admins always may. */
  approveDeny?: PermissionLevel | string[];
  allowSelfApproval?: boolean;
}

export interface PrefetchOption {
  value: string | number;
  label: string;
}

export interface PrefetchEvent {
  name: string;
  actor: Person;
  flow: { name: string; label: string; vars: Record<string, unknown> };
  field: string;
  /** What the person has typed so far. */
  query: string;
}

export interface TargetCallOptions {
  /** Fires when jitflow stops waiting (scheduler.targetTimeoutMs); pass it to fetch and SDK calls. */
  signal: AbortSignal;
}

/** Everything a flow implementation module may export. */
export interface FlowModule<Fields extends Record<string, unknown> = Record<string, unknown>> {
  onPrompt?: OnHook<Fields>;
  afterPrompt?: AfterHook<Fields>;
  onRequest?: OnHook<Fields>;
  afterRequest?: AfterHook<Fields>;
  onApprove?: OnHook<Fields>;
  afterApprove?: AfterHook<Fields>;
  onDeny?: OnHook<Fields>;
  afterDeny?: AfterHook<Fields>;
  onEscalate?: OnHook<Fields>;
  afterEscalate?: AfterHook<Fields>;
  onDeescalate?: OnHook<Fields>;
  afterDeescalate?: AfterHook<Fields>;
  /** Emails of the people who may decide this request (admins always may). */
  getApprovers?: (evt: FlowEvent<Fields>) => Promise<string[]>;
  getPermissions?: (evt: FlowEvent<Fields>) => Promise<Permissions>;
  /**
   * The requester's identity in `evt.target` (a database user, a GitHub login, a DN), when it is not
   * derived from their email. Return undefined to fall back to the target's `identities` mapping,
   * then to the connector's default.
   */
  getIdentity?: (evt: FlowEvent<Fields>) => Promise<string | undefined>;
  prefetch?: Record<string, (evt: PrefetchEvent) => Promise<PrefetchOption[]>>;
  /** For `custom` targets: grant access. Must be idempotent. */
  escalate?: (evt: FlowEvent<Fields>, options: TargetCallOptions) => Promise<unknown>;
  /** For `custom` targets: remove access. Must be idempotent. */
  deescalate?: (evt: FlowEvent<Fields>, options: TargetCallOptions) => Promise<unknown>;
  /** For `custom` targets: who holds the target now (emails), for drift detection. */
  list?: (target: TargetInfo) => Promise<string[]>;
}

/** Credentials created for one grant only (a temporary login), delivered to the requester privately. */
export interface GrantCredentials {
  username: string;
  password: string;
  /** Where to connect, for the requester's convenience (no secrets). */
  host?: string;
  port?: number;
  database?: string;
}
