// Group commit for the embedded database: callers that arrive while a transaction runs share the next one.

import { type Kysely, sql, type Transaction } from "kysely";
import type { Database } from "./schema.ts";

type Work = {
  fn: (trx: Transaction<Database>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
};

/**
 * SQLite commits one transaction at a time and each durable commit costs an fsync. Work that queues
 * up meanwhile runs in one transaction, each piece in its own savepoint: a piece that throws is rolled
 * back alone and its caller gets the error; everyone else is answered only after the shared commit,
 * so an answer still means "on disk". Pieces run one after another, exactly as if serial.
 */
export class GroupCommit {
  readonly #db: Kysely<Database>;
  readonly #maxBatch: number;
  #queue: Work[] = [];
  #draining = false;

  constructor(db: Kysely<Database>, maxBatch = 64) {
    this.#db = db;
    this.#maxBatch = maxBatch;
  }

  run<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#draining) {
        // node:sqlite is synchronous: a transaction would otherwise finish within the event-loop turn
        // that started it, and nothing could join it. Starting on the next turn lets work that arrives
        // in this one (other HTTP requests, other due rows) share the commit.
        this.#draining = true;
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#runBatch();
    } finally {
      this.#draining = false;
    }
  }

  async #runBatch(): Promise<void> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    let trx: Awaited<ReturnType<ReturnType<Kysely<Database>["startTransaction"]>["execute"]>> | undefined;
    let batch: Work[] = [];
    try {
      trx = await this.#db.startTransaction().execute();
      // Taken only once the connection is ours: everything that queued while we waited for it joins.
      batch = this.#queue.splice(0, this.#maxBatch);
      for (const work of batch) {
        await sql`savepoint work`.execute(trx);
        try {
          const value = await work.fn(trx);
          await sql`release savepoint work`.execute(trx);
          outcomes.push({ ok: true, value });
        } catch (error) {
          await sql`rollback to savepoint work`.execute(trx);
          await sql`release savepoint work`.execute(trx);
          outcomes.push({ ok: false, error });
        }
      }
      await trx.commit().execute();
    } catch (error) {
      // The shared transaction itself failed (it could not start, or commit): nobody's work is on disk.
      if (batch.length === 0) batch = this.#queue.splice(0, this.#queue.length);
      await trx
        ?.rollback()
        .execute()
        .catch(() => {});
      for (const work of batch) work.reject(error);
      return;
    }
    batch.forEach((work, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) work.resolve(outcome.value);
      else work.reject(outcome?.error);
    });
  }
}
