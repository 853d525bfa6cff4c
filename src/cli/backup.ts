// `jitflow backup FILE`: an online, consistent copy of a SQLite database while the server runs. PostgreSQL
// is backed up with its own tools (pg_dump, or the provider's snapshots).

import { closeSync, existsSync, openSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { JitflowError } from "../errors.ts";
import { sqlitePathOf } from "../store/database-url.ts";
import { jitflowSchemaOf, resolveDatabase } from "./database-url.ts";

export function registerBackup(program: Command): void {
  program
    .command("backup")
    .description("copy the SQLite database, consistently, while the server runs")
    .argument("<file>", "the copy to write (must not exist)")
    .option("--config <file>", "config module (for database.url)")
    .option("--database <url>", "database URL")
    .action(async (file: string, options: { config?: string; database?: string }) => {
      const { url, from } = await resolveDatabase(options);
      const source = sqlitePathOf(url);
      if (source === undefined) {
        throw new JitflowError(
          "VALIDATION_FAILED",
          "jitflow backup copies a SQLite database; back PostgreSQL up with pg_dump (docs/operations.md#backups)",
        );
      }
      const target = resolve(file);
      if (existsSync(target)) {
        throw new JitflowError("VALIDATION_FAILED", `${target} exists; nothing was written`);
      }
      // A jitflow database at any schema (an upgrade's backup is taken before the new version migrates).
      const schema = await jitflowSchemaOf(url, from);
      const { DatabaseSync } = await import("node:sqlite");
      const database = new DatabaseSync(source, { timeout: 5000 });
      try {
        // The copy holds token hashes and the audit log: readable by its owner only, from the start.
        closeSync(openSync(target, "wx", 0o600));
        // One read transaction: the copy is the database as of one instant, whatever the server writes.
        database.prepare("vacuum into ?").run(target);
      } finally {
        database.close();
      }
      const copy = new DatabaseSync(target, { readOnly: true });
      try {
        const check = copy.prepare("pragma integrity_check").all() as { integrity_check: string }[];
        if (check.length !== 1 || check[0]?.integrity_check !== "ok") {
          throw new Error(`the copy failed SQLite's integrity check: ${JSON.stringify(check)}`);
        }
        const count = (table: string) =>
          (copy.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
        process.stdout.write(
          `backed up to ${target}: schema ${schema}, ${count("requests")} request(s), ${count("audit_events")} audit event(s)\n`,
        );
      } finally {
        copy.close();
      }
    });
}
