// Checks a request's field values against the flow's field definitions; pure.

import { checkFieldValue } from "../config/loader.ts";
import { type ErrorCode, JitflowError } from "../errors.ts";
import { parseDuration } from "../lib/duration.ts";
import type { LoadedFlow } from "./load-config.ts";

export interface FieldProblem {
  field: string;
  code: ErrorCode;
  message: string;
}

/** The values to store (defaults applied, durations in seconds), or a JitflowError naming every problem. */
export function validateFields(flow: LoadedFlow, input: Record<string, unknown>): Record<string, unknown> {
  const problems: FieldProblem[] = [];
  const out: Record<string, unknown> = {};
  const known = new Set(flow.config.fields.map((f) => f.name));
  for (const name of Object.keys(input)) {
    if (!known.has(name)) {
      problems.push({
        field: name,
        code: "FIELD_UNKNOWN",
        message: `flow "${flow.config.name}" has no field "${name}"${known.size ? ` (fields: ${[...known].join(", ")})` : ""}`,
      });
    }
  }
  for (const field of flow.config.fields) {
    let value = input[field.name];
    if (value === undefined || value === null || value === "") value = field.default;
    if (value === undefined) {
      if (field.required) {
        problems.push({
          field: field.name,
          code: "FIELD_REQUIRED",
          message: `field "${field.name}" is required`,
        });
      }
      continue;
    }
    if (field.type === "duration" && (typeof value === "string" || typeof value === "number")) {
      value = parseDuration(value) ?? value;
    }
    if (field.type === "user") value = typeof value === "string" ? value.toLowerCase() : value;
    const problem = checkFieldValue(field, value);
    if (problem) {
      problems.push({
        field: field.name,
        code: "FIELD_INVALID",
        message: `field "${field.name}" ${problem}`,
      });
      continue;
    }
    out[field.name] = value;
  }
  const first = problems[0];
  if (first) {
    throw new JitflowError(first.code, problems.map((p) => p.message).join("; "), {
      details: { fields: problems },
    });
  }
  return out;
}
