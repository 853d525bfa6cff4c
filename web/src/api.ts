// The web app's only way to the server: JSON over fetch with the session cookie, the CSRF token on every
// change, and every failure turned into an ApiError.

import type {
  AccessRequest,
  AdminFlow,
  AuditEvent,
  AuthConfig,
  ChainCheck,
  ConfigProblem,
  Flow,
  Me,
  NotifyPreference,
  NotifySettings,
  Option,
  Page,
  RequestState,
  Session,
} from "./types.ts";

export interface FieldProblem {
  field: string;
  code: string;
  message: string;
}

/** An answer that was not a success: the API's `{ error: { code, message, details } }`, or what went wrong on the way. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The per-field problems of a rejected form (`details.fields`). */
  get fieldProblems(): FieldProblem[] {
    const fields = (this.details as { fields?: unknown } | null | undefined)?.fields;
    if (!Array.isArray(fields)) return [];
    return fields.filter(
      (f): f is FieldProblem =>
        typeof f === "object" && f !== null && typeof (f as FieldProblem).field === "string",
    );
  }
}

export const isApiError = (error: unknown): error is ApiError => error instanceof ApiError;

let csrfToken: string | null = null;
let sessionLost: (() => void) | null = null;
let renewCsrf: (() => Promise<string | null>) | null = null;

/** The session's CSRF token, sent as X-CSRF-Token on every call that changes something. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Who to tell when the API says the session is gone (expired, or signed out in another tab). */
export function onSessionLost(handler: (() => void) | null): void {
  sessionLost = handler;
}

/** How to fetch a fresh CSRF token when the server refuses the one we have (the session was replaced). */
export function onCsrfRefused(handler: (() => Promise<string | null>) | null): void {
  renewCsrf = handler;
}

type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function send(method: "GET" | "POST" | "PUT", path: string, body: unknown, signal?: AbortSignal) {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  }
  try {
    return await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
      signal,
    });
  } catch (cause) {
    if (signal?.aborted) throw cause;
    throw new ApiError(
      0,
      "NETWORK",
      "Could not reach the jitflow server. Check your connection and try again.",
    );
  }
}

async function call<T>(
  method: "GET" | "POST" | "PUT",
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  let response = await send(method, path, body, signal);
  if (response.status === 403 && method !== "GET" && renewCsrf) {
    const error = await errorOf(response.clone());
    if (error.code === "CSRF_INVALID" && (await renewCsrf()))
      response = await send(method, path, body, signal);
  }
  if (response.ok) return (response.status === 204 ? undefined : await response.json()) as T;
  const error = await errorOf(response);
  if (error.status === 401 && path.startsWith("/api/")) sessionLost?.();
  throw error;
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as {
      error?: { code?: string; message?: string; details?: unknown };
    };
    if (body.error?.code) {
      return new ApiError(
        response.status,
        body.error.code,
        body.error.message ?? body.error.code,
        body.error.details,
      );
    }
  } catch {
    // Not the API's JSON (a proxy's error page, say): described by its status below.
  }
  return new ApiError(
    response.status,
    `HTTP_${response.status}`,
    `The server answered ${response.status} ${response.statusText}`.trim(),
  );
}

export interface RequestQuery {
  state?: RequestState[];
  flow?: string;
  mine?: boolean;
  awaiting?: "me";
  limit?: number;
  cursor?: string | null;
}

export interface AuditFilters {
  flow?: string;
  target?: string;
  actor?: string;
  requester?: string;
  /** The state the event's request is in now. */
  state?: string;
  type?: string;
  /** ISO 8601 times. */
  from?: string;
  to?: string;
  requestId?: string;
}

export interface NewRequest {
  flow: string;
  target?: string;
  duration?: number;
  fields: Record<string, unknown>;
}

export type RequestAction = "approve" | "deny" | "revoke" | "cancel";

export const api = {
  authConfig: (signal?: AbortSignal) => call<AuthConfig>("GET", "/auth/config", undefined, signal),
  session: (signal?: AbortSignal) => call<Session>("GET", "/auth/session", undefined, signal),
  devSignIn: (email: string) => call<Session>("POST", "/auth/dev", { email }),
  signOut: () => call<void>("POST", "/auth/logout"),

  me: (signal?: AbortSignal) => call<Me>("GET", "/api/v1/me", undefined, signal),
  preferences: (signal?: AbortSignal) =>
    call<NotifySettings>("GET", "/api/v1/me/preferences", undefined, signal),
  savePreferences: (notify: NotifyPreference) =>
    call<NotifySettings>("PUT", "/api/v1/me/preferences", { notify }),
  flows: async (signal?: AbortSignal) =>
    (await call<{ items: Flow[] }>("GET", "/api/v1/flows", undefined, signal)).items,
  options: async (flow: string, field: string, q: string, signal?: AbortSignal) =>
    (
      await call<{ items: Option[] }>(
        "GET",
        withQuery(`/api/v1/flows/${encodeURIComponent(flow)}/fields/${encodeURIComponent(field)}/options`, {
          q,
        }),
        undefined,
        signal,
      )
    ).items,

  createRequest: (body: NewRequest) => call<AccessRequest>("POST", "/api/v1/requests", body),
  requests: (query: RequestQuery, signal?: AbortSignal) =>
    call<Page<AccessRequest>>(
      "GET",
      withQuery("/api/v1/requests", {
        ...query,
        state: query.state?.join(","),
        mine: query.mine || undefined,
      }),
      undefined,
      signal,
    ),
  events: async (id: string, signal?: AbortSignal) =>
    (
      await call<{ items: AuditEvent[] }>(
        "GET",
        `/api/v1/requests/${encodeURIComponent(id)}/events`,
        undefined,
        signal,
      )
    ).items,
  act: (id: string, action: RequestAction, reason?: string) =>
    call<AccessRequest>(
      "POST",
      `/api/v1/requests/${encodeURIComponent(id)}/${action}`,
      reason ? { reason } : {},
    ),
  extend: (id: string, duration: number) =>
    call<AccessRequest>("POST", `/api/v1/requests/${encodeURIComponent(id)}/extend`, { duration }),

  audit: (filters: AuditFilters, after: string | null, limit: number, signal?: AbortSignal) =>
    call<Page<AuditEvent>>(
      "GET",
      withQuery("/api/v1/audit", { ...filters, after, limit }),
      undefined,
      signal,
    ),
  auditExportUrl: (filters: AuditFilters, format: "csv" | "json") =>
    withQuery("/api/v1/audit/export", { format, ...filters }),
  verifyAudit: (signal?: AbortSignal) => call<ChainCheck>("GET", "/api/v1/audit/verify", undefined, signal),
  adminFlows: (signal?: AbortSignal) =>
    call<{ items: AdminFlow[]; configProblems: ConfigProblem[] }>(
      "GET",
      "/api/v1/admin/flows",
      undefined,
      signal,
    ),
};

/** One sentence for a failed action; a 403 says plainly that the person may not do it. */
export function describeError(error: unknown, action?: string): string {
  if (!isApiError(error)) return error instanceof Error ? error.message : String(error);
  if (error.status === 403 && action) return `You are not allowed to ${action}: ${error.message}`;
  if (error.code === "NETWORK" || !action) return error.message;
  return `Could not ${action}: ${error.message}`;
}
