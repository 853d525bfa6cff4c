// The error catalogue: every user-facing failure has a stable code, an HTTP status and a message; and the one
// family of errors that says whether work done outside (a target call, a delivery) should be tried again.

export const errorCatalogue = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNAUTHENTICATED: 401,
  TOKEN_INVALID: 401,
  TOKEN_REVOKED: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  GUEST_NOT_ALLOWED: 403,
  SOURCE_NOT_ALLOWED: 403,
  NOT_AN_APPROVER: 403,
  SELF_APPROVAL: 403,
  REVOKE_NOT_ALLOWED: 403,
  CANCEL_NOT_ALLOWED: 403,
  EXTEND_NOT_ALLOWED: 403,
  ACT_AS_NOT_ALLOWED: 403,
  ROUTE_NOT_FOUND: 404,
  FLOW_NOT_FOUND: 404,
  FIELD_NOT_FOUND: 404,
  REQUEST_NOT_FOUND: 404,
  EVENT_NOT_FOUND: 404,
  TOKEN_NOT_FOUND: 404,
  DATABASE_NOT_FOUND: 404,
  DATABASE_NOT_MIGRATED: 409,
  SCHEMA_MISMATCH: 409,
  SERVER_ALREADY_RUNNING: 409,
  CREDENTIALS_NOT_FOUND: 404,
  TARGET_NOT_FOUND: 400,
  TARGET_REQUIRED: 400,
  FIELD_UNKNOWN: 400,
  FIELD_REQUIRED: 400,
  FIELD_INVALID: 400,
  DURATION_INVALID: 400,
  DURATION_NOT_ALLOWED: 400,
  EXTEND_TOO_LONG: 400,
  EXTEND_LIMIT: 400,
  START_INVALID: 400,
  REASON_REQUIRED: 400,
  BREAK_GLASS_NOT_ALLOWED: 403,
  CURSOR_INVALID: 400,
  CHANNEL_NOT_CONFIGURED: 400,
  ALREADY_APPROVED: 409,
  INVALID_TRANSITION: 409,
  HOOK_IGNORED: 409,
  HOOK_FAILED: 422,
  PREFETCH_NOT_AVAILABLE: 404,
  CONFIG_INVALID: 400,
  SLACK_NOT_CONFIGURED: 404,
  SLACK_SIGNATURE_INVALID: 401,
  SLACK_TIMESTAMP_INVALID: 401,
  SLACK_REPLAYED: 401,
  SLACK_BODY_INVALID: 400,
  SLACK_USER_UNKNOWN: 403,
  SESSION_INVALID: 401,
  CSRF_INVALID: 403,
  AUTH_MODE_UNAVAILABLE: 404,
  SIGN_IN_FAILED: 400,
  TARGET_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

/** The one error type every layer throws for something a user did or asked for. */
export class JitflowError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { details?: unknown; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "JitflowError";
    this.code = code;
    this.status = errorCatalogue[code];
    this.details = options.details;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

/** A message safe to show for any thrown value. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Trying again will not help (a group that does not exist, a channel that is gone): give up, and say why. */
export class PermanentError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PermanentError";
  }
}

/** A transient failure that asked to be retried no sooner than this (throttling with Retry-After). */
export class RetryLaterError extends Error {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "RetryLaterError";
    this.retryAfterMs = retryAfterMs;
  }
}

/** Not now, and not a failure: try again at `retryAfterMs` without counting an attempt (Slack's 429). */
export class DeliveryDeferred extends RetryLaterError {
  constructor(message: string, retryAfterMs: number, options?: ErrorOptions) {
    super(message, retryAfterMs, options);
    this.name = "DeliveryDeferred";
  }
}

/** A message that can never be delivered (a channel that does not exist): dropped and reported, not retried. */
export class PermanentDeliveryError extends PermanentError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PermanentDeliveryError";
  }
}

/** How long a failure asked to wait before the next try, in milliseconds, if it said (any error with `retryAfterMs`). */
export function retryAfterOf(err: unknown): number | undefined {
  const asked = (err as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  // A custom target's error can carry anything: only a real wait counts (NaN would leave a grant never retried).
  return typeof asked === "number" && Number.isFinite(asked) && asked >= 0 ? asked : undefined;
}
