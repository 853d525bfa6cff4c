// A flow's fields compiled into one schema: defaults, normalization, and the words of each problem.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkFieldValue, fieldsSchema, requiredIssue } from "./field-schema.ts";
import type { FieldConfig } from "./schema.ts";
import { configSchema } from "./schema.ts";

function fieldsOf(fields: unknown[]): FieldConfig[] {
  return configSchema.parse({ flows: [{ name: "f", fields }] }).flows[0]?.fields ?? [];
}

describe("fieldsSchema", () => {
  const fields = fieldsOf([
    { name: "reason", type: "text" },
    { name: "window", type: "duration", default: "1h" },
    { name: "owner", type: "user", required: false },
    { name: "systems", type: "str_list", allowedValues: ["crm", "billing"], required: false },
  ]);
  const schema = fieldsSchema(fields);

  test("defaults fill what is missing, null or empty; durations become seconds; emails lower case", () => {
    assert.deepEqual(schema.parse({ reason: "x", owner: "Bob@Example.com", window: "" }), {
      reason: "x",
      window: 3600,
      owner: "bob@example.com",
    });
    assert.deepEqual(schema.parse({ reason: "x", window: "30m", owner: null }), {
      reason: "x",
      window: 1800,
    });
  });

  test("each problem is one issue on its field, in the words the API answers with", () => {
    const issues =
      schema.safeParse({ owner: "nobody", systems: ["crm", "hr"], extra: 1 }).error?.issues ?? [];
    const by = (path: string) => issues.find((i) => i.path[0] === path);
    assert.equal(by("reason")?.message, "is required");
    assert.equal((by("reason") as { params?: { code?: string } }).params?.code, requiredIssue);
    assert.equal(by("owner")?.message, "must be an email address");
    assert.equal(by("systems")?.message, '"hr" is not allowed (allowed: "crm", "billing")');
    assert.deepEqual(
      issues.filter((i) => i.code === "unrecognized_keys").flatMap((i) => ("keys" in i ? i.keys : [])),
      ["extra"],
    );
  });
});

describe("checkFieldValue", () => {
  const [text, int, bool, duration, user, users, strs, ints, allowed] = fieldsOf([
    { name: "a", type: "text" },
    { name: "b", type: "int" },
    { name: "c", type: "bool" },
    { name: "d", type: "duration" },
    { name: "e", type: "user" },
    { name: "f", type: "user_list" },
    { name: "g", type: "str_list" },
    { name: "h", type: "int_list" },
    { name: "i", type: "string", allowedValues: ["x"] },
  ]) as FieldConfig[];

  test("a value of the wrong type, too long, or not allowed", () => {
    const cases: [FieldConfig | undefined, unknown, string | undefined][] = [
      [text, "ok", undefined],
      [text, 5, "must be a string"],
      [text, "x".repeat(3001), "is too long"],
      // Counted in UTF-16 units: 1,600 emoji are 3,200 of them.
      [text, "😀".repeat(1600), "is too long"],
      [int, 1.5, "must be an integer"],
      [bool, "yes", "must be true or false"],
      [duration, 0, "must be a duration"],
      [user, "no-at-sign", "must be an email address"],
      [users, ["a@b", "c"], "must be a list of email addresses"],
      [strs, [1], "must be a list of strings"],
      [ints, "1", "must be a list of integers"],
      [allowed, "y", '"y" is not allowed (allowed: "x")'],
      [allowed, "x", undefined],
    ];
    for (const [field, value, problem] of cases) {
      assert.ok(field);
      assert.equal(checkFieldValue(field, value), problem, `${field.type} ${JSON.stringify(value)}`);
    }
  });
});
