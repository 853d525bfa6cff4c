// Opens the store (node:sqlite or PostgreSQL) behind one Kysely type and applies the numbered migrations.

import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  Kysely,
  type Migration,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  sql,
  type Transaction,
} from "kysely";
import pg from "pg";
import { JitflowError } from "../errors.ts";
import { defaultDatabaseUrl, describeDatabase } from "./database-url.ts";
import { GroupCommit } from "./group-commit.ts";
import * as m001 from "./migrations/001-initial.ts";
import * as m002 from "./migrations/002-slack.ts";
import * as m003 from "./migrations/003-web.ts";
import * as m004 from "./migrations/004-targets.ts";
import * as m005 from "./migrations/005-policies.ts";
import * as m006 from "./migrations/006-grants.ts";
import { nodeSqliteDatabase } from "./node-sqlite-database.ts";
import type { Database } from "./schema.ts";
import { schemaVersion } from "./schema-version.ts";

export type Dialect = "sqlite" | "postgres";

/** The database, or a transaction on it: what queries run on. */
export type Executor = Kysely<Database> | Transaction<Database>;

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Runs fn in a transaction; on SQLite, concurrent callers share one commit (see group-commit.ts). */
  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const migrations: Record<string, Migration> = {
  "001-initial": m001,
  "002-slack": m002,
  "003-web": m003,
  "004-targets": m004,
  "005-policies": m005,
  "006-grants": m006,
};

if (Object.keys(migrations).at(-1) !== schemaVersion) {
  throw new Error(
    `store/schema-version.ts says ${schemaVersion}; the last migration is ${Object.keys(migrations).at(-1)}`,
  );
}

/** The last migration applied to this database, or null when none is. */
export async function appliedSchemaVersion(store: Store): Promise<string | null> {
  const migrator = new Migrator({ db: store.db, provider: { getMigrations: async () => migrations } });
  const applied = (await migrator.getMigrations()).filter((m) => m.executedAt !== undefined);
  return applied.at(-1)?.name ?? null;
}

/** Every migration applied to this database, known to this version or not, in order (none: not jitflow's). */
export async function schemaMigrations(store: Store): Promise<string[]> {
  const tables = await store.db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === "kysely_migration")) return [];
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
    store.db,
  );
  return rows.map((r) => r.name);
}

/**
 * Migrations applied to this database that this version does not know: a newer jitflow migrated it. This
 * version must not run on it (it would not know the schema), and cannot migrate it back.
 */
export async function newerMigrations(store: Store): Promise<string[]> {
  return (await schemaMigrations(store)).filter((name) => !(name in migrations));
}

/** Refuses a database a newer jitflow migrated (SCHEMA_MISMATCH), naming what it found. */
export async function refuseNewerSchema(store: Store, described: string): Promise<void> {
  const newer = await newerMigrations(store);
  if (newer.length === 0) return;
  throw new JitflowError(
    "SCHEMA_MISMATCH",
    `the database ${described} was migrated by a newer jitflow (${newer.join(", ")}); this version knows the schema up to ${schemaVersion}. Run the newer version, or restore a backup taken before it (docs/operations.md#upgrades)`,
  );
}

// bigint columns hold epoch milliseconds, well inside Number's exact range.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** Opens the database named by a URL: `sqlite:PATH`, `sqlite::memory:` or `postgres://…`. */
export function openStore(url: string = defaultDatabaseUrl, options: { poolSize?: number } = {}): Store {
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    // A server that cannot be reached fails a connection in 10 s instead of waiting for the operating system.
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 10_000,
    });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    pool.on("error", () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      dialect: "postgres",
      transaction: (fn) => db.transaction().execute(fn),
      close: () => db.destroy(),
    };
  }
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length);
    if (path !== ":memory:") mkdirSync(dirname(resolve(path)), { recursive: true });
    const database = new DatabaseSync(path);
    database.exec("pragma journal_mode = wal; pragma synchronous = full; pragma busy_timeout = 5000;");
    database.exec("pragma foreign_keys = on;");
    const db = new Kysely<Database>({
      dialect: new SqliteDialect({ database: nodeSqliteDatabase(database) }),
    });
    const group = new GroupCommit(db);
    return { db, dialect: "sqlite", transaction: (fn) => group.run(fn), close: () => db.destroy() };
  }
  throw new Error(`unsupported database URL (use sqlite:PATH or postgres://…): ${describeDatabase(url)}`);
}

/**
 * Applies every migration not yet applied (or those up to and including `to`, for tests that build a
 * database as an older release left it); returns the names applied now.
 */
export async function migrate(
  store: Store,
  options: { to?: string; described?: string } = {},
): Promise<string[]> {
  await refuseNewerSchema(store, options.described ?? `(${store.dialect})`);
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results } =
    options.to === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(options.to);
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
