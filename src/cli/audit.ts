// `jitflow audit verify`: walks the hash chain and reports any edited, deleted or reordered event.

import type { Command } from "commander";
import { databaseUrlFor } from "./database-url.ts";
import { printJson } from "./output.ts";

export function registerAudit(program: Command): void {
  const audit = program.command("audit").description("the tamper-evident audit log");
  audit
    .command("verify")
    .description("verify the audit log's hash chain")
    .option("--config <file>", "config module (for database.url)")
    .option("--database <url>", "database URL")
    .option("--json", "print JSON")
    .action(async (options: { config?: string; database?: string; json?: boolean }) => {
      const [{ verifyChain }, { openStore }] = await Promise.all([
        import("../store/audit-log.ts"),
        import("../store/database.ts"),
      ]);
      const store = openStore(await databaseUrlFor(options));
      try {
        const result = await verifyChain(store.db);
        if (options.json) printJson(result);
        else if (result.ok) process.stdout.write(`ok: ${result.events} event(s), chain intact\n`);
        else {
          for (const p of result.problems) process.stdout.write(`seq ${p.seq}: ${p.problem}\n`);
          process.stdout.write(`FAILED: ${result.problems.length} problem(s) in ${result.events} event(s)\n`);
        }
        if (!result.ok) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}
