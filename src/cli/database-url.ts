// Which database a local command (migrate, tokens, audit) works on: --database, then $JITFLOW_DATABASE_URL, then the config.

export async function databaseUrlFor(options: { database?: string; config?: string }): Promise<string> {
  if (options.database) return options.database;
  if (process.env.JITFLOW_DATABASE_URL) return process.env.JITFLOW_DATABASE_URL;
  const [{ loadConfig }, { defaultDatabaseUrl }] = await Promise.all([
    import("../engine/load-config.ts"),
    import("../store/database.ts"),
  ]);
  const config = await loadConfig(options.config);
  return config.config.database.url ?? defaultDatabaseUrl;
}
