// Checks that a request really comes from Slack: a v0 HMAC signature over timestamp and raw body, made
// within five minutes (either way) of now, compared in constant time. Bolt's verifySlackRequest would
// do most of this, but it accepts timestamps from the future, which would let a captured request be
// replayed later than Slack's window allows.

import { createHmac, timingSafeEqual } from "node:crypto";
import { JitflowError } from "../../errors.ts";

/** Slack's window; a request signed further from now than this, in the past or the future, is refused. */
export const maxSkewSeconds = 300;

export function verifySlackRequest(input: {
  signingSecret: string;
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
  nowMs: number;
}): void {
  const ts = Number(input.timestamp);
  if (!input.timestamp || !/^\d{1,12}$/.test(input.timestamp) || !Number.isSafeInteger(ts)) {
    throw new JitflowError("SLACK_TIMESTAMP_INVALID", "X-Slack-Request-Timestamp is missing or not a number");
  }
  if (Math.abs(input.nowMs / 1000 - ts) > maxSkewSeconds) {
    throw new JitflowError(
      "SLACK_TIMESTAMP_INVALID",
      `X-Slack-Request-Timestamp is more than ${maxSkewSeconds} seconds from now`,
    );
  }
  const expected = Buffer.from(
    `v0=${createHmac("sha256", input.signingSecret).update(`v0:${input.timestamp}:${input.body}`).digest("hex")}`,
  );
  const given = Buffer.from(input.signature ?? "");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new JitflowError("SLACK_SIGNATURE_INVALID", "X-Slack-Signature does not match the request");
  }
}
