// A flow's fields compiled into one zod schema, once, when the config is loaded: what a submission's
// fields must be (by type, length and allowed values), with defaults applied, durations in seconds and
// user emails in lower case. Every channel's submissions are checked by it (engine/fields.ts).

import { z } from "zod";
import { parseDuration } from "../lib/duration.ts";
import type { FieldConfig } from "./schema.ts";

/** At most `max` UTF-16 units, as everything that stores and shows the value counts them (zod's max counts code points). */
const atMost = (max: number) => (s: string) => s.length <= max;

const isEmail = (v: unknown) => typeof v === "string" && /^[^@\s]+@[^@\s]+$/.test(v);

const emails = "must be a list of email addresses";
const strings = "must be a list of strings";
const integers = "must be a list of integers";

/** A list whose every problem, of the list or of an element, is told with the one message. */
function listOf(element: z.ZodType, message: string): z.ZodType {
  return z.array(element, { error: message });
}

/** The schema of one value of the field's type (no default, no allowed values). */
function typeSchema(field: FieldConfig): z.ZodType {
  switch (field.type) {
    case "string":
      return z.string({ error: "must be a string" }).refine(atMost(500), "is too long");
    case "text":
      return z.string({ error: "must be a string" }).refine(atMost(3000), "is too long");
    case "int":
      return z.int({ error: "must be an integer" });
    case "bool":
      return z.boolean({ error: "must be true or false" });
    case "duration":
      return z.int({ error: "must be a duration" }).positive("must be a duration");
    case "user":
      return z.string({ error: "must be an email address" }).refine(isEmail, "must be an email address");
    case "user_list":
      return listOf(z.string({ error: emails }).refine(isEmail, emails), emails);
    case "str_list":
      return listOf(z.string({ error: strings }), strings);
    case "int_list":
      return listOf(z.int({ error: integers }), integers);
  }
}

/** The field's value schema: its type, then its allowed values. */
export function valueSchema(field: FieldConfig): z.ZodType {
  const base = typeSchema(field);
  const allowed = field.allowedValues;
  if (!allowed) return base;
  return base.superRefine((value, ctx) => {
    const bad = (Array.isArray(value) ? value : [value]).find((v) => !allowed.includes(v));
    if (bad !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: `${JSON.stringify(bad)} is not allowed (allowed: ${allowed.map((v) => JSON.stringify(v)).join(", ")})`,
      });
    }
  });
}

/** What a value is before it is checked: empty means the default; durations in seconds; emails in lower case. */
function normalized(field: FieldConfig, input: unknown): unknown {
  let value: unknown = input === null || input === "" ? undefined : input;
  value ??= field.default;
  if (field.type === "duration" && (typeof value === "string" || typeof value === "number")) {
    value = parseDuration(value) ?? value;
  }
  if (field.type === "user" && typeof value === "string") value = value.toLowerCase();
  return value;
}

/** The problem with a value for a field, or undefined: the default values of the config are checked with it. */
export function checkFieldValue(field: FieldConfig, value: unknown): string | undefined {
  return valueSchema(field).safeParse(value).error?.issues[0]?.message;
}

/** The code a missing required field's issue carries in its params, so the caller can tell it apart. */
export const requiredIssue = "FIELD_REQUIRED";

/** The schema of a flow's fields: an object with exactly these keys, normalized, then each value checked. */
export function fieldsSchema(fields: readonly FieldConfig[]): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const field of fields) {
    const value = valueSchema(field);
    const present = z
      .unknown()
      .refine((v): boolean => v !== undefined, { message: "is required", params: { code: requiredIssue } });
    shape[field.name] = field.required ? present.pipe(value) : value.optional();
  }
  return z.preprocess((input) => {
    if (typeof input !== "object" || input === null || Array.isArray(input)) return input;
    const out: Record<string, unknown> = { ...input };
    for (const field of fields) {
      const value = normalized(field, out[field.name]);
      if (value === undefined) delete out[field.name];
      else out[field.name] = value;
    }
    return out;
  }, z.strictObject(shape)) as z.ZodType<Record<string, unknown>>;
}
