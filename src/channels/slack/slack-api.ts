// The Web API as the outbox uses it: rate limits honoured per method and channel, and Slack's errors
// sorted into "retry later" and "can never work".

import { ErrorCode, type WebClient } from "@slack/web-api";
import type { Clock } from "../../engine/clock.ts";
import { PermanentDeliveryError } from "../../notify/outbox-worker.ts";

/** Slack answers that no retry can fix: the message is dropped and logged instead of blocking its channel. */
const permanentErrors = new Set([
  "channel_not_found",
  "not_in_channel",
  "is_archived",
  "invalid_blocks",
  "invalid_arguments",
  "msg_too_long",
  "no_text",
  "user_not_found",
  "users_not_found",
  "cannot_dm_bot",
  "message_not_found",
  "cant_update_message",
  "edit_window_closed",
  "too_many_users",
  "user_disabled",
]);
// Token and scope problems (invalid_auth, missing_scope …) are not here: they are fixed by an operator,
// and the messages wait for that instead of being lost.

/** Thrown to have the outbox try again later, no sooner than `retryAfterMs`. */
export class SlackRetryLater extends Error {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "SlackRetryLater";
    this.retryAfterMs = retryAfterMs;
  }
}

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
    if (until > now) throw new SlackRetryLater(`${method} to ${channel} is rate limited`, until - now);
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
      return new SlackRetryLater(`${method}: rate limited by Slack for ${ms / 1000} s`, ms, { cause: err });
    }
    if (e.code === ErrorCode.PlatformError && e.data?.error && permanentErrors.has(e.data.error)) {
      return new PermanentDeliveryError(`${method}: ${e.data.error}`, { cause: err });
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}
