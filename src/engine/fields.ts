// Checks a request's field values against the flow's fields (their schema, compiled at load); pure.

import { requiredIssue } from "../config/field-schema.ts";
import { type ErrorCode, JitflowError } from "../errors.ts";
import type { LoadedFlow } from "./load-config.ts";

export interface FieldProblem {
  field: string;
  code: ErrorCode;
  message: string;
}

/** The values to store (defaults applied, durations in seconds), or a JitflowError naming every problem. */
export function validateFields(flow: LoadedFlow, input: Record<string, unknown>): Record<string, unknown> {
  const parsed = flow.fieldsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const known = flow.config.fields.map((f) => f.name);
  const unknown: FieldProblem[] = [];
  const byField = new Map<string, FieldProblem>();
  for (const issue of parsed.error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const name of issue.keys) {
        unknown.push({
          field: name,
          code: "FIELD_UNKNOWN",
          message: `flow "${flow.config.name}" has no field "${name}"${known.length ? ` (fields: ${known.join(", ")})` : ""}`,
        });
      }
      continue;
    }
    const field = String(issue.path[0]);
    // One problem per field: the first that its schema found.
    if (byField.has(field)) continue;
    const required = issue.code === "custom" && issue.params?.code === requiredIssue;
    byField.set(field, {
      field,
      code: required ? "FIELD_REQUIRED" : "FIELD_INVALID",
      message: `field "${field}" ${issue.message}`,
    });
  }
  // Unknown fields first, then the flow's fields in the order the config declares them.
  const problems = [...unknown, ...known.flatMap((name) => byField.get(name) ?? [])];
  const first = problems[0] as FieldProblem;
  throw new JitflowError(first.code, problems.map((p) => p.message).join("; "), {
    details: { fields: problems },
  });
}
