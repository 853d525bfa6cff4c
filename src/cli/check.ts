// `jitflow check`: validates the config and its flow modules; non-zero exit with every problem and its path.

import type { Command } from "commander";
import { oneLine } from "./terminal-text.ts";

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description("validate the configuration and flow modules")
    .option("--config <file>", "config module")
    .action(async (options: { config?: string }) => {
      const { ConfigError, loadConfig } = await import("../engine/load-config.ts");
      try {
        const loaded = await loadConfig(options.config);
        process.stdout.write(
          `ok: ${oneLine(loaded.file)}: ${loaded.flows.size} flow(s), ${loaded.targets.size} target(s), ${Object.keys(loaded.config.integrations).length} integration(s)\n`,
        );
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
