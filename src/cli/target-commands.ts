// `jitflow drift` (differences between targets and jitflow's grants) and `jitflow credentials` (a temporary login).

import type { Command } from "commander";
import type { DriftReport } from "../engine/drift.ts";
import { createClient } from "./client.ts";
import { printJson, printTable } from "./output.ts";
import { oneLine } from "./terminal-text.ts";

const scopeText = (scope: Record<string, unknown> | undefined) =>
  scope
    ? Object.entries(scope)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(",")
    : undefined;

export function registerTargetCommands(program: Command): void {
  program
    .command("drift")
    .description(
      "show differences between what targets report and jitflow's grants (admins; changes nothing)",
    )
    .option("--target <name>", "only this target")
    .option("--exit-code", "exit 2 when there are differences or a target could not be listed")
    .option("--json", "print JSON")
    .action(async (options: { target?: string; exitCode?: boolean; json?: boolean }) => {
      const query = options.target ? `?${new URLSearchParams({ target: options.target })}` : "";
      const { items } = await createClient().get<{ items: DriftReport[] }>(`/api/v1/admin/drift${query}`);
      if (options.json) printJson({ items });
      else {
        const rows: Record<string, unknown>[] = [];
        for (const r of items) {
          if (r.skipped || r.error) {
            rows.push({
              target: r.target,
              kind: r.error ? "error" : "skipped",
              identity: "-",
              detail: r.error ?? r.skipped,
            });
            continue;
          }
          for (const kind of ["missing", "unmanaged", "outlived"] as const) {
            for (const e of r[kind]) {
              const detail = [
                scopeText(e.scope),
                e.requestId ? `request ${e.requestId}` : undefined,
                e.requester,
                e.stillActive ? "still active in jitflow" : undefined,
              ]
                .filter(Boolean)
                .join("; ");
              rows.push({ target: r.target, kind, identity: e.identity, detail: detail || undefined });
            }
          }
        }
        if (rows.length === 0)
          process.stdout.write(`No drift: ${items.length} target(s) match jitflow's grants.\n`);
        else printTable(rows, ["target", "kind", "identity", "detail"]);
      }
      const differs = items.some(
        (r) => r.error || r.missing.length > 0 || r.unmanaged.length > 0 || r.outlived.length > 0,
      );
      if (options.exitCode && differs) process.exitCode = 2;
    });

  program
    .command("credentials")
    .description("show the temporary login an active grant created for you (createUser targets)")
    .argument("<id>", "request id")
    .option("--json", "print JSON")
    .action(async (id: string, options: { json?: boolean }) => {
      const c = await createClient().get<Record<string, unknown>>(
        `/api/v1/requests/${encodeURIComponent(id)}/credentials`,
      );
      if (options.json) printJson(c);
      else {
        for (const key of ["username", "password", "host", "port", "database", "expiresAt"]) {
          if (c[key] !== undefined && c[key] !== null)
            process.stdout.write(`${key.padEnd(10)} ${oneLine(c[key])}\n`);
        }
      }
    });
}
