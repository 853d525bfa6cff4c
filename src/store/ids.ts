// Time-ordered ids. Rows keyed by a random UUIDv4 land on a random page of every index on that key, so
// a transaction writing many rows dirties (and fsyncs, and checkpoints) a page per row; a UUIDv7 starts
// with the time, so new keys go to the right-hand edge of the index and share a few pages.

import { randomUUID } from "node:crypto";

let lastMs = -1;
let counter = 0;

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, the version, a 12-bit counter, then 62 random bits.
 * Ids made by this process sort in the order they were made (RFC 9562 §6.2, method 1), which the
 * outbox relies on to deliver a channel's messages in order.
 */
export function uuidv7(now: number): string {
  let ms = Math.max(0, Math.floor(now));
  // A clock far behind the last id is another clock (a test's fake one): start again from it.
  if (ms > lastMs || lastMs - ms > 10_000) {
    lastMs = ms;
    counter = 0;
  } else {
    counter += 1;
    if (counter > 0xfff) {
      lastMs += 1;
      counter = 0;
    }
    ms = lastMs;
  }
  const time = ms.toString(16).padStart(12, "0").slice(-12);
  const seq = counter.toString(16).padStart(3, "0");
  // A v4 UUID from randomUUID() keeps its variant nibble at character 19; keep everything from there on.
  return `${time.slice(0, 8)}-${time.slice(8)}-7${seq}${randomUUID().slice(18)}`;
}
