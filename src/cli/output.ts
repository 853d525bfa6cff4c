// How CLI commands print: readable tables and lines by default, JSON with --json, errors on stderr.

import { JitflowError } from "../errors.ts";
import { oneLine } from "./terminal-text.ts";

/** The value as JSON, exactly: a script reading it gets every character as the server sent it. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One row per line; each cell one line with its control characters escaped (terminal-text.ts). */
export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  if (rows.length === 0) {
    process.stdout.write("(none)\n");
    return;
  }
  const cell = (v: unknown) => (v === null || v === undefined ? "-" : oneLine(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] as number))
      .join("  ")
      .trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const row of rows) process.stdout.write(`${line(columns.map((c) => cell(row[c])))}\n`);
}

/** Exit code 1 with `error: CODE: message` for anything a command throws, on one line. */
export function fail(err: unknown): never {
  if (err instanceof JitflowError || (err instanceof Error && "code" in err)) {
    process.stderr.write(`error: ${oneLine((err as { code: unknown }).code)}: ${oneLine(err.message)}\n`);
  } else {
    process.stderr.write(`error: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
  }
  process.exit(1);
}
