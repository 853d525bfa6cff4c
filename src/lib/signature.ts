// Signs and verifies outgoing HTTP calls: v1=HMAC-SHA256(secret, timestamp + "." + rawBody).

import { createHmac, timingSafeEqual } from "node:crypto";

export function signBody(secret: string, timestamp: number, rawBody: string): string {
  return `v1=${createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest("hex")}`;
}

/** The headers of a signed call made now. */
export function signedHeaders(secret: string, rawBody: string, nowMs: number): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    "content-type": "application/json",
    "x-jitflow-timestamp": String(timestamp),
    "x-jitflow-signature": signBody(secret, timestamp, rawBody),
  };
}

/** For receivers (and tests): checks a signature in constant time and the timestamp's age. */
export function verifySignature(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  rawBody: string,
  nowMs: number,
  toleranceSeconds = 300,
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isSafeInteger(timestamp) || !headers.signature) return false;
  if (Math.abs(nowMs / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signBody(secret, timestamp, rawBody));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
