// The database matrix for store tests: SQLite always, PostgreSQL when reachable (required when CI=true).

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export const postgresAdminUrl =
  process.env.JITFLOW_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  dialect: "sqlite" | "postgres";
  url: string;
  drop(): Promise<void>;
}

let postgresReachable: Promise<boolean> | undefined;

export function isPostgresReachable(): Promise<boolean> {
  postgresReachable ??= (async () => {
    const client = new pg.Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query("select 1");
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return postgresReachable;
}

/**
 * Why Postgres tests cannot run, or undefined when they can. With CI=true a missing server
 * throws instead, so CI never passes by skipping.
 */
export async function postgresSkipReason(): Promise<string | undefined> {
  if (await isPostgresReachable()) return undefined;
  const message = `PostgreSQL is not reachable at ${postgresAdminUrl}; start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`;
  if (process.env.CI === "true") throw new Error(message);
  return message;
}

export async function createSqliteDatabase(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "jitflow-db-"));
  return {
    dialect: "sqlite",
    url: `sqlite:${join(dir, "jitflow.db")}`,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = `jitflow_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: postgresAdminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    dialect: "postgres",
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: postgresAdminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

export interface DialectCase {
  dialect: "sqlite" | "postgres";
  /** Set when this dialect cannot run here (only outside CI). */
  skip: string | undefined;
  create(): Promise<TestDatabase>;
}

/** Both dialects, for `for (const db of await dialects()) describe(db.dialect, { skip: db.skip }, …)`. */
export async function dialects(): Promise<DialectCase[]> {
  return [
    { dialect: "sqlite", skip: undefined, create: createSqliteDatabase },
    { dialect: "postgres", skip: await postgresSkipReason(), create: createPostgresDatabase },
  ];
}
