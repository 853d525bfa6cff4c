// Time-ordered ids. Rows keyed by a random UUIDv4 land on a random page of every index on that key, so
// a transaction writing many rows dirties (and fsyncs, and checkpoints) a page per row; a UUIDv7 starts
// with the time, so new keys go to the right-hand edge of the index and share a few pages.

import { randomUUID } from "node:crypto";

/** A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, the version, then 74 random bits. */
export function uuidv7(now: number): string {
  const time = Math.max(0, Math.floor(now)).toString(16).padStart(12, "0").slice(-12);
  // A v4 UUID from randomUUID() keeps its variant nibble at character 19; keep everything from character 15 on.
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomUUID().slice(15)}`;
}
