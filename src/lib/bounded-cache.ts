// A cache that cannot grow without end: at most `maxEntries` entries, each forgotten `ttlMs` after it was set.

import type { Clock } from "./clock.ts";

export interface BoundedCacheOptions {
  maxEntries: number;
  ttlMs: number;
  clock: Clock;
}

/**
 * Entries are kept in the order they were set (setting a key again moves it to the end) and all live
 * equally long, so the first entry is always the first to expire. set() drops the expired ones from the
 * front, and the oldest one when the cache is full: it holds no more than what was set within `ttlMs`,
 * and never more than `maxEntries`. Expired entries are not kept until something pushes them out.
 *
 * @example
 * const cache = new BoundedCache<string, number>({ maxEntries: 2, ttlMs: 1000, clock: systemClock });
 * cache.set("a", 1);
 * cache.get("a"); // 1, for a second
 */
export class BoundedCache<K, V> {
  readonly #entries = new Map<K, { value: V; until: number }>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #clock: Clock;

  constructor(options: BoundedCacheOptions) {
    this.#maxEntries = Math.max(1, options.maxEntries);
    this.#ttlMs = options.ttlMs;
    this.#clock = options.clock;
  }

  /** The value set for `key` within the last `ttlMs`, or undefined. */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.until > this.#clock.now()) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  set(key: K, value: V): void {
    const now = this.#clock.now();
    this.#entries.delete(key);
    for (const [oldest, entry] of this.#entries) {
      if (entry.until > now && this.#entries.size < this.#maxEntries) break;
      this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, until: now + this.#ttlMs });
  }

  /** Entries held now, expired ones not yet dropped included. */
  get size(): number {
    return this.#entries.size;
  }
}
