// Which database a local command (migrate, tokens, audit) works on: --database, then $JITFLOW_DATABASE_URL, then the config.

import { loadConfig } from "../config/loader.ts";
import { defaultDatabaseUrl } from "../store/database.ts";

export async function databaseUrlFor(options: { database?: string; config?: string }): Promise<string> {
  if (options.database) return options.database;
  if (process.env.JITFLOW_DATABASE_URL) return process.env.JITFLOW_DATABASE_URL;
  const config = await loadConfig(options.config);
  return config.config.database.url ?? defaultDatabaseUrl;
}
