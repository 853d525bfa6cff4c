// `jitflow check`: validates the config and its flow modules; non-zero exit with every problem and its
// path. With a database at hand, it also warns about live grants whose target changed under them.

import type { Command } from "commander";
import { messageOf } from "../errors.ts";
import { missingSqliteFile, resolveDatabase } from "./database-url.ts";
import { oneLine } from "./terminal-text.ts";

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description("validate the configuration and flow modules, and compare live grants with their targets")
    .option("--config <file>", "config module")
    .option("--database <url>", "database whose live grants to compare (default: as serve would open)")
    .action(async (options: { config?: string; database?: string }) => {
      const { ConfigError, loadConfig } = await import("../engine/load-config.ts");
      try {
        const loaded = await loadConfig(options.config);
        process.stdout.write(
          `ok: ${oneLine(loaded.file)}: ${loaded.flows.size} flow(s), ${loaded.targets.size} target(s), ${Object.keys(loaded.config.integrations).length} integration(s)\n`,
        );
        await warnAboutLiveGrants(loaded, options.database);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const p of err.problems) {
          process.stderr.write(
            `${oneLine(err.file)}: ${p.path ? `${oneLine(p.path)}: ` : ""}${oneLine(p.message)}\n`,
          );
        }
        process.stderr.write(`${err.problems.length} problem(s) found\n`);
        process.exit(1);
      }
    });
}

/** Live grants whose target was removed or changed: warnings (the exit status stays 0). */
async function warnAboutLiveGrants(
  loaded: Awaited<ReturnType<typeof import("../engine/load-config.ts").loadConfig>>,
  explicit: string | undefined,
): Promise<void> {
  const [{ openStore }, { changedTargetWarnings }] = await Promise.all([
    import("../store/database.ts"),
    import("../engine/granted-targets.ts"),
  ]);
  const { url } = await resolveDatabase({ database: explicit }, loaded);
  // A database that does not exist yet holds no grants: never create one to look.
  if (url === "sqlite::memory:" || missingSqliteFile(url) !== undefined) return;
  const store = openStore(url, { poolSize: 1 });
  try {
    for (const warning of await changedTargetWarnings(store.db, loaded)) {
      process.stderr.write(`warning: ${oneLine(warning)}\n`);
    }
  } catch (err) {
    process.stderr.write(`note: live grants were not compared with the config: ${oneLine(messageOf(err))}\n`);
  } finally {
    await store.close();
  }
}
