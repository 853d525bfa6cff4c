// CSV cells of the audit export: quoting and formula defusing, case by case.

import assert from "node:assert/strict";
import { test } from "node:test";
import { csvCell } from "./audit-export.ts";

test("csvCell quotes by RFC 4180 and defuses what a spreadsheet would run as a formula", () => {
  const cases: [string | number | null, string][] = [
    ["plain", "plain"],
    [42, "42"],
    [null, ""],
    ["", ""],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["two\nlines", '"two\nlines"'],
    ["=1+2", "'=1+2"],
    ["+31 6", "'+31 6"],
    ["-2", "'-2"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\tcmd", "'\tcmd"],
    ["\rcmd", '"\'\rcmd"'],
    ['=HYPERLINK("x","y")', '"\'=HYPERLINK(""x"",""y"")"'],
    ["a=b", "a=b"],
    ["x@example.com", "x@example.com"],
  ];
  for (const [value, cell] of cases) assert.equal(csvCell(value), cell, JSON.stringify(value));
});
