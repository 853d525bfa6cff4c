// What a database URL names, without loading a database driver (the CLI reads it before it opens anything).

import { resolve } from "node:path";

/** Where a server with no database named keeps its SQLite file: under the directory it runs in. */
export const defaultDatabaseUrl = "sqlite:./.jitflow/jitflow.db";

/**
 * Which database jitflow works on, and where that came from (for messages): the one named explicitly
 * (`--database`), then $JITFLOW_DATABASE_URL (empty is unset), then the config's database.url, then the
 * default. `jitflow serve` and every local command choose the same way.
 */
export function chooseDatabase(
  explicit: string | undefined,
  config: { file: string; config: { database: { url?: string | undefined } } },
): { url: string; from: string } {
  if (explicit) return { url: explicit, from: "--database" };
  const fromEnvironment = process.env.JITFLOW_DATABASE_URL;
  if (fromEnvironment) return { url: fromEnvironment, from: "JITFLOW_DATABASE_URL" };
  const configured = config.config.database.url;
  if (configured) return { url: configured, from: `database.url in ${config.file}` };
  return { url: defaultDatabaseUrl, from: `the default, under ${process.cwd()}` };
}

/** The absolute path of the file a `sqlite:PATH` URL names; undefined for `sqlite::memory:` and PostgreSQL. */
export function sqlitePathOf(url: string): string | undefined {
  if (!url.startsWith("sqlite:")) return undefined;
  const path = url.slice("sqlite:".length);
  return path === ":memory:" ? undefined : resolve(path);
}

/** The URL to show people and logs: a SQLite file's absolute path, a PostgreSQL URL without its password. */
export function describeDatabase(url: string): string {
  const path = sqlitePathOf(url);
  if (path !== undefined) return `sqlite:${path}`;
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      const parsed = new URL(url);
      if (parsed.password) parsed.password = "***";
      parsed.search = "";
      return parsed.href;
    } catch {
      return url.replace(/\/\/.*@/, "//***@");
    }
  }
  return url.replace(/\/\/.*@/, "//***@");
}
