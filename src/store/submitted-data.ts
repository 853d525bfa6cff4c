// What a request was submitted with, as digests its request.created event carries into the audit hash chain.

import { hash } from "node:crypto";
import { canonicalJson } from "./canonical-json.ts";
import type { RequestsTable } from "./schema.ts";

/**
 * The columns written once, when a request is stored, and never changed by jitflow afterwards: what
 * was asked for, by whom, and which approval steps apply. Keyed by the name the event records. A
 * migration that rewrote one of them would be reported by `jitflow audit verify` as a change.
 */
export const submittedColumns = {
  flow: "flow",
  target: "target",
  requester: "requester",
  requesterName: "requester_name",
  requesterRole: "requester_role",
  duration: "duration",
  fields: "fields",
  context: "context",
  source: "source",
  createdAt: "created_at",
  startAt: "start_at",
  breakGlass: "break_glass",
  extends: "extends_id",
  steps: "steps",
} as const satisfies Record<string, keyof RequestsTable>;

export type SubmittedName = keyof typeof submittedColumns;
export type SubmittedRow = Pick<RequestsTable, "id" | (typeof submittedColumns)[SubmittedName]>;

const jsonColumns = new Set<string>(["fields", "context", "steps"]);

/** A column's value as hashed: JSON text by what it says (not its spacing), numbers as numbers. */
function hashedValue(row: SubmittedRow, name: SubmittedName): unknown {
  const value = row[submittedColumns[name]];
  if (value === null) return null;
  if (jsonColumns.has(name)) {
    try {
      return { json: JSON.parse(value as string) as unknown };
    } catch {
      return { text: value };
    }
  }
  return typeof value === "string" ? value : Number(value);
}

/**
 * One digest per submitted column, each over the request's id, the column's name and its value, so a
 * digest names what it covers and cannot be moved to another request or column. Per column, so that
 * verification can say which one changed without ever showing a value. Each is the first 132 bits of a
 * SHA-256 (22 base64url characters): far beyond any forgery, at half the size in every event copy
 * (webhooks, log lines).
 */
export function submittedDigests(row: SubmittedRow): Record<SubmittedName, string> {
  const digests = {} as Record<SubmittedName, string>;
  for (const name of Object.keys(submittedColumns) as SubmittedName[]) {
    // canonicalJson({ column, request, value }), written out: verification hashes every row.
    const body = `{"column":${JSON.stringify(name)},"request":${JSON.stringify(row.id)},"value":${canonicalJson(hashedValue(row, name))}}`;
    digests[name] = hash("sha256", body, "base64url").slice(0, 22);
  }
  return digests;
}

/**
 * The columns whose stored value no longer matches the digests recorded at submission: a recorded
 * column missing from the row, or a digest that differs. Columns the event did not record are not
 * checked (events written before a column was covered).
 */
export function changedColumns(row: SubmittedRow, recorded: Record<string, unknown>): string[] {
  const now = submittedDigests(row);
  return Object.keys(recorded)
    .filter((name) => !(name in now) || now[name as SubmittedName] !== recorded[name])
    .sort();
}
