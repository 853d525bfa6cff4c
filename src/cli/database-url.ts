// Which database a local command (migrate, tokens, audit) works on: --database, then $JITFLOW_DATABASE_URL,
// then the config, then the default, as `jitflow serve` resolves it. Only serve and migrate create one, and
// only they change its schema.

import { existsSync } from "node:fs";
import { JitflowError } from "../errors.ts";
import type { Store } from "../store/database.ts";
import { chooseDatabase, describeDatabase, sqlitePathOf } from "../store/database-url.ts";
import { oneLine } from "./terminal-text.ts";

/** The database's URL, and where that URL came from (for messages); `loaded` spares loading the config again. */
export async function resolveDatabase(
  options: { database?: string; config?: string },
  loaded?: { file: string; config: { database: { url?: string | undefined } } },
): Promise<{ url: string; from: string }> {
  // The config is loaded only when nothing before it names the database.
  if (options.database || process.env.JITFLOW_DATABASE_URL) {
    return chooseDatabase(options.database, { file: "", config: { database: {} } });
  }
  const { loadConfig } = await import("../engine/load-config.ts");
  return chooseDatabase(undefined, loaded ?? (await loadConfig(options.config)));
}

/**
 * Opens the database of a command that must not create or change its schema (tokens, audit verify): it
 * must exist and be at the schema this jitflow expects. A SQLite file that does not exist is refused: opening
 * it would make a new, empty database the server never reads, and a token stored there would be refused by
 * it. Which database was opened is said on stderr.
 */
export async function openExistingStore(options: { database?: string; config?: string }): Promise<Store> {
  const { url, from } = await resolveDatabase(options);
  refuseMissingSqlite(url, from);
  const [{ appliedSchemaVersion, openStore, refuseNewerSchema }, { schemaVersion }] = await Promise.all([
    import("../store/database.ts"),
    import("../store/schema-version.ts"),
  ]);
  const store = openStore(url);
  try {
    const applied = await appliedSchemaVersion(store);
    if (applied === null) throw notMigrated(url, from);
    await refuseNewerSchema(store, describeDatabase(url));
    if (applied !== schemaVersion) {
      throw new JitflowError(
        "SCHEMA_MISMATCH",
        `the database ${describeDatabase(url)} is at schema ${applied}; this jitflow expects ${schemaVersion}: upgrade it with this version's jitflow migrate`,
      );
    }
  } catch (err) {
    await store.close();
    throw err;
  }
  usingDatabase(url, from);
  return store;
}

/**
 * The schema of an existing jitflow database, whichever version migrated it (a backup before an upgrade):
 * DATABASE_NOT_FOUND for a SQLite file that does not exist, DATABASE_NOT_MIGRATED for one without jitflow's
 * tables. Says on stderr which database it is.
 */
export async function jitflowSchemaOf(url: string, from: string): Promise<string> {
  refuseMissingSqlite(url, from);
  const { openStore, schemaMigrations } = await import("../store/database.ts");
  const store = openStore(url);
  try {
    const applied = (await schemaMigrations(store)).at(-1);
    if (applied === undefined) throw notMigrated(url, from);
    usingDatabase(url, from);
    return applied;
  } finally {
    await store.close();
  }
}

function refuseMissingSqlite(url: string, from: string): void {
  const missing = missingSqliteFile(url);
  if (missing !== undefined) {
    throw new JitflowError(
      "DATABASE_NOT_FOUND",
      `there is no database at ${missing} (${from}); nothing was created. Name the server's database with --database or JITFLOW_DATABASE_URL, run this where the server runs, or create it with jitflow migrate`,
    );
  }
}

function notMigrated(url: string, from: string): JitflowError {
  return new JitflowError(
    "DATABASE_NOT_MIGRATED",
    `the database ${describeDatabase(url)} (${from}) has no jitflow tables; create them with jitflow migrate, or start jitflow serve on it`,
  );
}

/** Says on stderr which database a local command works on (stdout stays its output, JSON included). */
export function usingDatabase(url: string, from: string): void {
  process.stderr.write(`database: ${oneLine(describeDatabase(url))} (${oneLine(from)})\n`);
}

/** The absolute path of a SQLite database URL whose file does not exist (opening it would create one). */
export function missingSqliteFile(url: string): string | undefined {
  const path = sqlitePathOf(url);
  return path === undefined || existsSync(path) ? undefined : path;
}
