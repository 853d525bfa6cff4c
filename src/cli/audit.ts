// `jitflow audit verify`: checks the hash chain, its head, each request against its request.created event, and an expected head.

import type { Command } from "commander";
import { JitflowError, messageOf } from "../errors.ts";
import type { VerifyResult } from "../store/audit-verify.ts";
import { openExistingStore } from "./database-url.ts";
import { printJson } from "./output.ts";
import { oneLine } from "./terminal-text.ts";

interface VerifyOptions {
  config?: string;
  database?: string;
  json?: boolean;
  expectHead?: string;
}

/** Like diff: 0 the log is intact, 1 problems were found, 2 the check could not run. */
const exit = { problems: 1, cannotVerify: 2 } as const;

function printText(result: VerifyResult): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (result.ok) out(`ok: ${result.events} event(s), chain intact`);
  else {
    // A problem names request ids read from the database, which whoever tampered with it chose.
    for (const p of result.problems) out(oneLine(p.seq > 0 ? `seq ${p.seq}: ${p.problem}` : p.problem));
    out(`FAILED: ${result.problems.length} problem(s) in ${result.events} event(s)`);
  }
  const anchor = result.expectedHead?.seq;
  if (anchor !== undefined && anchor !== null) {
    out(`expected head: in the chain at seq ${anchor}, ${result.events - anchor} event(s) after it`);
  }
  if (result.requests.notCovered > 0) {
    out(
      `note: ${result.requests.notCovered} request(s) were stored before their submitted data was recorded in the chain; their rows are not checked`,
    );
  }
}

async function verify(options: VerifyOptions): Promise<void> {
  const expectHead = options.expectHead?.toLowerCase();
  if (expectHead !== undefined && !/^[0-9a-f]{64}$/.test(expectHead)) {
    throw new JitflowError(
      "VALIDATION_FAILED",
      `--expect-head must be a hash published by jitflow (64 hex digits), not "${options.expectHead}"`,
    );
  }
  // Never create the database it was asked to check: an empty new one would look like an empty log.
  const store = await openExistingStore(options);
  const { verifyAudit } = await import("../store/audit-verify.ts");
  try {
    const result = await verifyAudit(store.db, { expectHead });
    if (options.json) printJson(result);
    else printText(result);
    if (!result.ok) process.exitCode = exit.problems;
  } finally {
    await store.close();
  }
}

export function registerAudit(program: Command): void {
  const audit = program.command("audit").description("the tamper-evident audit log");
  audit
    .command("verify")
    .description(
      "verify the audit log: its hash chain and head, and each request against its request.created event",
    )
    .option("--config <file>", "config module (for database.url)")
    .option("--database <url>", "database URL")
    .option(
      "--expect-head <hash>",
      "a head hash published earlier: fail unless it is still the head or an earlier event of the chain",
    )
    .option("--json", "print JSON")
    // A usage error means the log was not checked: 2, like any other reason it could not be.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : exit.cannotVerify))
    .action(async (options: VerifyOptions) => {
      try {
        await verify(options);
      } catch (err) {
        const code = err instanceof JitflowError ? `${err.code}: ` : "";
        process.stderr.write(`error: ${code}${oneLine(messageOf(err))}\n`);
        process.exitCode = exit.cannotVerify;
      }
    });
}
