// Readable one-request and many-request output for the client commands; every value is escaped for the terminal.

import type { RequestView } from "../engine/read/views.ts";
import { formatDuration } from "../lib/duration.ts";
import { printTable } from "./output.ts";
import { oneLine, safeLines } from "./terminal-text.ts";

export function printRequest(r: RequestView): void {
  const lines: [string, unknown][] = [
    ["id", r.id],
    ["flow", r.flow],
    ["target", r.target ?? "(approval only)"],
    ["requester", r.requester.email],
    ["state", r.state + (r.endedReason ? ` (${r.endedReason})` : "")],
    ["duration", r.duration ? formatDuration(r.duration) : "-"],
    ["created", r.createdAt],
    ["expires", r.expiresAt ?? "-"],
  ];
  for (const [k, v] of Object.entries(r.fields))
    lines.push([`field ${k}`, Array.isArray(v) ? v.join(", ") : v]);
  for (const d of r.decisions)
    lines.push([
      d.decision === "approve" ? "approved by" : "denied by",
      `${d.actor}${d.reason ? ` (${d.reason})` : ""}`,
    ]);
  if (r.error) lines.push(["error", r.error]);
  if (r.lastError) lines.push(["last error", `${r.lastError} (attempt ${r.attempts})`]);
  const keys = lines.map(([k]) => oneLine(k));
  const width = Math.max(...keys.map((k) => k.length));
  // A value of several lines (a reason) goes on under its column: no line of it can pass for a line of
  // jitflow's, such as a forged "approved by".
  const indent = " ".repeat(width + 2);
  for (const [i, [, v]] of lines.entries()) {
    const [first, ...rest] = safeLines(v);
    process.stdout.write(`${(keys[i] as string).padEnd(width)}  ${first}\n`);
    for (const line of rest) process.stdout.write(`${indent}${line}\n`);
  }
}

export function printRequests(items: RequestView[]): void {
  printTable(
    items.map((r) => ({
      id: r.id,
      flow: r.flow,
      target: r.target,
      requester: r.requester.email,
      state: r.state,
      expires: r.expiresAt,
    })),
    ["id", "flow", "target", "requester", "state", "expires"],
  );
}
