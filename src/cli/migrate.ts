// `jitflow migrate`: applies pending database migrations (the server also does this at start).

import type { Command } from "commander";
import { describeDatabase } from "../store/database-url.ts";
import { resolveDatabase, usingDatabase } from "./database-url.ts";

export function registerMigrate(program: Command): void {
  program
    .command("migrate")
    .description("apply pending database migrations")
    .option("--config <file>", "config module (for database.url)")
    .option("--database <url>", "database URL (default $JITFLOW_DATABASE_URL, then the config)")
    .action(async (options: { config?: string; database?: string }) => {
      const { migrate, openStore } = await import("../store/database.ts");
      const { url, from } = await resolveDatabase(options);
      const store = openStore(url);
      usingDatabase(url, from);
      try {
        const applied = await migrate(store, { described: describeDatabase(url) });
        process.stdout.write(applied.length ? `applied: ${applied.join(", ")}\n` : "up to date\n");
      } finally {
        await store.close();
      }
    });
}
