// The audit log as a download: CSV (RFC 4180, safe to open in a spreadsheet) or a JSON array, written page by page.

import type { Logger } from "pino";
import type { AuditEntry } from "../../store/audit-log.ts";

export const csvColumns = [
  "seq",
  "id",
  "at",
  "type",
  "actor",
  "requestId",
  "flow",
  "target",
  "requester",
  "data",
] as const;

/**
 * One CSV cell: quoted when it holds a quote, comma or line break (RFC 4180), and with a `'` before
 * anything a spreadsheet would run as a formula (a cell starting with =, +, -, @, tab or CR).
 */
export function csvCell(value: string | number | null): string {
  let text = value === null ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvLine(entry: AuditEntry): string {
  const { event, request } = entry;
  const cells = [
    event.seq,
    event.id,
    event.at,
    event.type,
    event.actor,
    event.requestId,
    request?.flow ?? null,
    request?.target ?? null,
    request?.requester ?? null,
    JSON.stringify(event.data),
  ];
  return `${cells.map(csvCell).join(",")}\r\n`;
}

/** An event as the JSON export shows it: the audit event plus its request's flow, target and requester. */
export function exportItem(entry: AuditEntry) {
  return {
    ...entry.event,
    flow: entry.request?.flow ?? null,
    target: entry.request?.target ?? null,
    requester: entry.request?.requester ?? null,
  };
}

async function* csvChunks(pages: AsyncIterable<AuditEntry[]>): AsyncGenerator<string> {
  yield `${csvColumns.join(",")}\r\n`;
  for await (const page of pages) yield page.map(csvLine).join("");
}

async function* jsonChunks(pages: AsyncIterable<AuditEntry[]>): AsyncGenerator<string> {
  let first = true;
  yield "[";
  for await (const page of pages) {
    let chunk = "";
    for (const entry of page) {
      chunk += `${first ? "\n" : ",\n"}${JSON.stringify(exportItem(entry))}`;
      first = false;
    }
    yield chunk;
  }
  yield "\n]\n";
}

/**
 * The body of an export. Pages are read only as the client takes them; a client that goes away stops
 * the reading. A failure half-way is logged and cuts the connection, so a truncated file never looks whole.
 */
export function exportBody(
  pages: AsyncIterable<AuditEntry[]>,
  format: "csv" | "json",
  logger: Logger,
): ReadableStream<Uint8Array> {
  const chunks = format === "csv" ? csvChunks(pages) : jsonChunks(pages);
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      } catch (err) {
        logger.error({ err }, "audit export failed");
        controller.error(err);
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}
