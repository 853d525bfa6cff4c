// The bounded cache: never more than its cap whatever is put in, expired entries dropped as new ones come.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BoundedCache } from "./bounded-cache.ts";
import { FakeClock } from "./clock.ts";

const make = (maxEntries: number, ttlMs: number) => {
  const clock = new FakeClock();
  return { clock, cache: new BoundedCache<string, number>({ maxEntries, ttlMs, clock }) };
};

describe("BoundedCache", () => {
  test("holds at most maxEntries after many more inserts, keeping the newest", () => {
    const { cache } = make(100, 60_000);
    for (let i = 0; i < 1100; i++) cache.set(`k${i}`, i);
    assert.equal(cache.size, 100);
    assert.equal(cache.get("k999"), undefined);
    assert.equal(cache.get("k1000"), 1000);
    assert.equal(cache.get("k1099"), 1099);
  });

  test("answers for ttlMs after a set, then not", () => {
    const { clock, cache } = make(10, 1000);
    cache.set("a", 1);
    clock.advance(999);
    assert.equal(cache.get("a"), 1);
    clock.advance(1);
    assert.equal(cache.get("a"), undefined);
    assert.equal(cache.size, 0, "an expired entry read is dropped");
  });

  test("drops expired entries when new ones arrive, long before it is full", () => {
    const { clock, cache } = make(1000, 1000);
    for (let i = 0; i < 500; i++) cache.set(`old${i}`, i);
    clock.advance(1000);
    cache.set("new", 1);
    assert.equal(cache.size, 1);
    assert.equal(cache.get("new"), 1);
  });

  test("a key set again lives on from then, and is the last one pushed out", () => {
    const { clock, cache } = make(3, 1000);
    cache.set("a", 1);
    cache.set("b", 2);
    clock.advance(600);
    cache.set("a", 3);
    clock.advance(600);
    cache.set("c", 4);
    assert.equal(cache.get("b"), undefined, "b expired");
    assert.equal(cache.get("a"), 3, "a was set again 600 ms ago");
    cache.set("d", 5);
    cache.set("e", 6);
    assert.equal(cache.size, 3);
    assert.equal(cache.get("a"), undefined, "the oldest set goes first when full");
    assert.deepEqual(
      ["c", "d", "e"].map((k) => cache.get(k)),
      [4, 5, 6],
    );
  });

  test("a cap below one still holds the latest entry", () => {
    const { cache } = make(0, 1000);
    cache.set("a", 1);
    cache.set("b", 2);
    assert.equal(cache.size, 1);
    assert.equal(cache.get("b"), 2);
  });
});
