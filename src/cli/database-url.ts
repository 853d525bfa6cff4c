// Which database a local command (migrate, tokens, audit) works on: --database, then $JITFLOW_DATABASE_URL,
// then the config, then the default, as `jitflow serve` resolves it. Only serve and migrate create one.

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { JitflowError } from "../errors.ts";

export async function databaseUrlFor(options: { database?: string; config?: string }): Promise<string> {
  return (await resolveDatabase(options)).url;
}

/** The database's URL, and where that URL came from (for messages); `loaded` spares loading the config again. */
export async function resolveDatabase(
  options: { database?: string; config?: string },
  loaded?: { file: string; config: { database: { url?: string | undefined } } },
): Promise<{ url: string; from: string }> {
  if (options.database) return { url: options.database, from: "--database" };
  if (process.env.JITFLOW_DATABASE_URL) {
    return { url: process.env.JITFLOW_DATABASE_URL, from: "JITFLOW_DATABASE_URL" };
  }
  const [{ loadConfig }, { defaultDatabaseUrl }] = await Promise.all([
    import("../engine/load-config.ts"),
    import("../store/database.ts"),
  ]);
  const config = loaded ?? (await loadConfig(options.config));
  const configured = config.config.database.url;
  return configured
    ? { url: configured, from: `database.url in ${config.file}` }
    : { url: defaultDatabaseUrl, from: `the default, under ${process.cwd()}` };
}

/**
 * The database a command that must not create one works on (tokens, audit verify). A SQLite file that
 * does not exist is refused: opening it would make a new, empty database the server never reads, and a
 * token stored there would be refused by it.
 */
export async function existingDatabaseUrl(options: { database?: string; config?: string }): Promise<string> {
  const { url, from } = await resolveDatabase(options);
  const missing = missingSqliteFile(url);
  if (missing !== undefined) {
    throw new JitflowError(
      "DATABASE_NOT_FOUND",
      `there is no database at ${missing} (${from}); nothing was created. Name the server's database with --database or JITFLOW_DATABASE_URL, run this where the server runs, or create it with jitflow migrate`,
    );
  }
  return url;
}

/** The absolute path of a SQLite database URL whose file does not exist (opening it would create one). */
export function missingSqliteFile(url: string): string | undefined {
  const path = url.startsWith("sqlite:") ? url.slice("sqlite:".length) : undefined;
  if (path === undefined || path === ":memory:" || existsSync(path)) return undefined;
  return resolve(path);
}
