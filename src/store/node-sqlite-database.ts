// Adapts node:sqlite's DatabaseSync to the interface Kysely's SqliteDialect drives.

import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { SqliteDatabase, SqliteStatement } from "kysely";

type Param = null | number | bigint | string | NodeJS.ArrayBufferView;

function toParams(parameters: ReadonlyArray<unknown>): Param[] {
  return parameters.map((p) =>
    typeof p === "boolean" ? (p ? 1 : 0) : p === undefined ? null : (p as Param),
  );
}

class Statement implements SqliteStatement {
  readonly reader: boolean;
  readonly #statement: StatementSync;

  constructor(statement: StatementSync) {
    this.#statement = statement;
    this.reader = statement.columns().length > 0;
  }

  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return this.#statement.all(...toParams(parameters));
  }

  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return this.#statement.run(...toParams(parameters));
  }

  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    return this.#statement.iterate(...toParams(parameters));
  }
}

/** Wraps a DatabaseSync, caching prepared statements by SQL text. */
export function nodeSqliteDatabase(database: DatabaseSync): SqliteDatabase {
  const cache = new Map<string, Statement>();
  return {
    close: () => database.close(),
    prepare(text: string): SqliteStatement {
      // Kysely opens transactions with a deferred "begin". Taking the write lock up front lets
      // busy_timeout wait for another process (a CLI command) instead of failing with SQLITE_BUSY.
      const sql = text === "begin" ? "begin immediate" : text;
      let statement = cache.get(sql);
      if (!statement) {
        statement = new Statement(database.prepare(sql));
        if (cache.size >= 500) cache.delete(cache.keys().next().value as string);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}
