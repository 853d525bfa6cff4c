// Time-ordered ids: RFC 9562 version 7 UUIDs whose order follows the clock.

import assert from "node:assert/strict";
import { test } from "node:test";
import { uuidv7 } from "./ids.ts";

const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("a UUIDv7 carries the millisecond it was made in", () => {
  const at = Date.UTC(2026, 0, 1, 12, 30, 15, 123);
  const id = uuidv7(at);
  assert.match(id, v7);
  assert.equal(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16), at);
});

test("ids sort by time and do not repeat within a millisecond", () => {
  const start = Date.UTC(2026, 0, 1);
  const ids = Array.from({ length: 20_000 }, (_, i) => uuidv7(start + Math.floor(i / 1000)));
  assert.equal(new Set(ids).size, ids.length);
  for (let i = 1000; i < ids.length; i += 1000) {
    assert.ok((ids[i - 1] as string) < (ids[i] as string), "a later millisecond sorts after");
  }
  for (const id of ids) assert.match(id, v7);
});
