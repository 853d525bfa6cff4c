// Slack request verification at its edges: the five-minute window both ways, and what a forgery looks like.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { JitflowError } from "../../errors.ts";
import { verifySlackRequest } from "./verify.ts";

const secret = "s3cret";
const body = "token=x&command=%2Fjitflow";
const nowMs = 1_800_000_000_000;
const sign = (ts: string, b = body, s = secret) =>
  `v0=${createHmac("sha256", s).update(`v0:${ts}:${b}`).digest("hex")}`;
const check = (timestamp: string | undefined, signature: string | undefined) => {
  try {
    verifySlackRequest({ signingSecret: secret, body, timestamp, signature, nowMs });
    return "ok";
  } catch (err) {
    assert.ok(err instanceof JitflowError);
    return err.code;
  }
};

test("the timestamp window is 300 seconds either way", () => {
  const now = 1_800_000_000;
  const cases: [number, string][] = [
    [now, "ok"],
    [now - 300, "ok"],
    [now + 300, "ok"],
    [now - 301, "SLACK_TIMESTAMP_INVALID"],
    [now + 301, "SLACK_TIMESTAMP_INVALID"],
    [now + 86_400, "SLACK_TIMESTAMP_INVALID"],
  ];
  for (const [ts, expected] of cases) assert.equal(check(String(ts), sign(String(ts))), expected, String(ts));
});

test("missing, odd or forged headers are refused", () => {
  const ts = "1800000000";
  const cases: [string | undefined, string | undefined, string][] = [
    [undefined, sign(ts), "SLACK_TIMESTAMP_INVALID"],
    ["", sign(ts), "SLACK_TIMESTAMP_INVALID"],
    ["1e9", sign("1e9"), "SLACK_TIMESTAMP_INVALID"],
    [" 1800000000", sign(" 1800000000"), "SLACK_TIMESTAMP_INVALID"],
    [ts, undefined, "SLACK_SIGNATURE_INVALID"],
    [ts, "", "SLACK_SIGNATURE_INVALID"],
    [ts, sign(ts).toUpperCase(), "SLACK_SIGNATURE_INVALID"],
    [ts, sign(ts).replace("v0=", "v1="), "SLACK_SIGNATURE_INVALID"],
    [ts, sign(ts, `${body}&x=1`), "SLACK_SIGNATURE_INVALID"],
    [ts, sign(ts, body, "other"), "SLACK_SIGNATURE_INVALID"],
    [ts, `${sign(ts)}0`, "SLACK_SIGNATURE_INVALID"],
    [ts, sign(ts), "ok"],
  ];
  for (const [timestamp, signature, expected] of cases) {
    assert.equal(check(timestamp, signature), expected, `${timestamp} ${signature}`);
  }
});
