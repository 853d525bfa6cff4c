// The jitflow command line: server commands, local administration, and a client of the HTTP API.

import { Command } from "commander";
import { jitflowVersion } from "../lib/version.ts";
import { schemaVersion } from "../store/schema-version.ts";
import { registerAudit } from "./audit.ts";
import { registerBackup } from "./backup.ts";
import { registerCheck } from "./check.ts";
import { registerClientCommands } from "./client-commands.ts";
import { registerMigrate } from "./migrate.ts";
import { fail } from "./output.ts";
import { registerServe } from "./serve.ts";
import { registerTargetCommands } from "./target-commands.ts";
import { registerTokens } from "./tokens.ts";

const program = new Command()
  .name("jitflow")
  .description("just-in-time access: request, approve, grant, and take away again")
  .version(
    `jitflow ${jitflowVersion} (database schema ${schemaVersion})`,
    "-V, --version",
    "print the version",
  )
  .showHelpAfterError();

registerServe(program);
registerCheck(program);
registerMigrate(program);
registerTokens(program);
registerAudit(program);
registerBackup(program);
registerClientCommands(program);
registerTargetCommands(program);

program.parseAsync(process.argv).catch(fail);
