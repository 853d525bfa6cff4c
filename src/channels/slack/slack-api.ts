// The Web API as the outbox uses it: rate limits honoured per method and channel, and Slack's errors
// sorted into "later", "retry" and "can never work".

import { ErrorCode, type WebClient } from "@slack/web-api";
import { DeliveryDeferred, PermanentDeliveryError } from "../../errors.ts";
import type { Clock } from "../../lib/clock.ts";

/**
 * Slack answers worth retrying: Slack's own trouble, and token or scope problems an operator fixes (the
 * messages wait for the fix instead of being lost). Any other `ok: false` answer (channel_not_found,
 * not_in_channel, invalid_blocks, user_disabled …) can never work and would hold up every message
 * queued behind it for the same channel, so it is dropped and logged.
 */
const retryable = new Set([
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
  "ratelimited",
  "invalid_auth",
  "not_authed",
  "account_inactive",
  "token_revoked",
  "token_expired",
  "missing_scope",
  "no_permission",
  "team_access_not_granted",
  "ekm_access_denied",
]);

/** After this many failed tries a message that keeps failing is given up, so its channel moves on. */
export const maxAttempts = 20;

export class SlackApi {
  readonly client: WebClient;
  readonly #clock: Clock;
  /** `${method}:${channel}` → instant before which Slack asked us not to call again. */
  readonly #gates = new Map<string, number>();

  constructor(client: WebClient, clock: Clock) {
    this.client = client;
    this.#clock = clock;
  }

  /** Runs one Web API call for a channel, respecting and recording Slack's Retry-After for that pair. */
  async call<T>(method: string, channel: string, fn: (client: WebClient) => Promise<T>): Promise<T> {
    const gate = `${method}:${channel}`;
    const until = this.#gates.get(gate) ?? 0;
    const now = this.#clock.now();
    if (until > now) throw new DeliveryDeferred(`${method} to ${channel} is rate limited`, until - now);
    if (until) this.#gates.delete(gate);
    try {
      return await fn(this.client);
    } catch (err) {
      throw this.#translate(err, method, gate);
    }
  }

  #translate(err: unknown, method: string, gate: string): Error {
    const e = err as { code?: string; retryAfter?: number; data?: { error?: string } };
    if (e.code === ErrorCode.RateLimitedError) {
      const ms = Math.max(1, e.retryAfter ?? 1) * 1000;
      this.#gates.set(gate, this.#clock.now() + ms);
      return new DeliveryDeferred(`${method}: rate limited by Slack for ${ms / 1000} s`, ms, { cause: err });
    }
    if (e.code === ErrorCode.PlatformError && e.data?.error && !retryable.has(e.data.error)) {
      return new PermanentDeliveryError(`${method}: ${e.data.error}`, { cause: err });
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** Slack's answer code in an error from the Web API client, if it has one. */
export function slackErrorOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 3 && e; i++) {
    const code = (e as { data?: { error?: unknown } }).data?.error;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
