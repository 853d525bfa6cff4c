// Readable one-request and many-request output for the client commands.

import { formatDuration } from "../duration.ts";
import type { RequestView } from "../engine/views.ts";
import { printTable } from "./output.ts";

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
  const width = Math.max(...lines.map(([k]) => k.length));
  for (const [k, v] of lines) process.stdout.write(`${k.padEnd(width)}  ${String(v)}\n`);
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
