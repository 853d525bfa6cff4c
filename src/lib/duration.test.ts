// Duration parsing and formatting: every accepted form, every refused one, what a refusal says, and the
// round trip.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { durationProblem, formatDuration, parseDuration } from "./duration.ts";

const accepted: [unknown, number][] = [
  ["30s", 30],
  ["90m", 5400],
  ["1h", 3600],
  ["1d", 86400],
  ["2w", 1_209_600],
  // Upper case reads the same where it cannot mean anything else.
  ["1H", 3600],
  ["30S", 30],
  ["1D", 86400],
  ["2W", 1_209_600],
  [" 15m ", 900],
  ["1 h", 3600],
  ["01h", 3600],
  ["3600", 3600],
  [3600, 3600],
  [1, 1],
  ["999999999999", 999_999_999_999],
  [999_999_999_999, 999_999_999_999],
  ["999999999999s", 999_999_999_999],
  ["1653439w", 1_653_439 * 604_800],
];

const refused: unknown[] = [
  0,
  "0",
  "0s",
  "0h",
  -1,
  "-1",
  "-5m",
  "1x",
  "h",
  "",
  "   ",
  null,
  undefined,
  true,
  [],
  {},
  ["1h"],
  1.5,
  "1.5",
  "1.5h",
  "+5",
  "1e3",
  "1h30m",
  // "M" is months to many people: refused, not read as minutes.
  "1M",
  "30M",
  " 1 M ",
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.MAX_SAFE_INTEGER + 1,
  // Beyond the bound: now + the duration would not be a valid date.
  "99999999999999",
  99_999_999_999_999,
  1_000_000_000_000,
  "1000000000000",
  "999999999w",
  "999999999999w",
  "1653440w",
  "9999999999h",
];

describe("parseDuration", () => {
  for (const [input, seconds] of accepted) {
    test(`${JSON.stringify(input)} → ${seconds}`, () => {
      assert.equal(parseDuration(input), seconds);
    });
  }
  for (const input of refused) {
    test(`${typeof input === "number" ? String(input) : JSON.stringify(input)} is refused`, () => {
      assert.equal(parseDuration(input), undefined);
    });
  }
  test("the longest accepted duration still gives a valid expiry date", () => {
    const longest = Math.max(...accepted.map(([, s]) => s));
    assert.equal(typeof new Date(Date.now() + longest * 1000).toISOString(), "string");
  });
});

describe("durationProblem", () => {
  const cases: [input: unknown, message: string][] = [
    ["soon", '"soon" is not a duration; use "30s", "90m", "1h", "1d" or a number of seconds'],
    [1.5, '1.5 is not a duration; use "30s", "90m", "1h", "1d" or a number of seconds'],
    [
      "1M",
      '"1M" is not a duration: "M" could mean months or minutes; write "1m" for minutes or "30d" for a month',
    ],
    [
      " 30 M",
      '" 30 M" is not a duration: "M" could mean months or minutes; write "30m" for minutes or "30d" for a month',
    ],
  ];
  for (const [input, message] of cases) {
    test(`${JSON.stringify(input)}: ${message}`, () => {
      assert.equal(durationProblem(input), message);
    });
  }
});

describe("formatDuration", () => {
  const cases: [number, string][] = [
    [1, "1s"],
    [59, "59s"],
    [60, "1m"],
    [61, "61s"],
    [5400, "90m"],
    [3600, "1h"],
    [129_600, "36h"],
    [86400, "1d"],
    [691_200, "8d"],
    [604_800, "1w"],
    [1_209_600, "2w"],
  ];
  for (const [seconds, text] of cases) {
    test(`${seconds} → ${text}`, () => {
      assert.equal(formatDuration(seconds), text);
    });
  }
  test("parseDuration reads back what formatDuration writes", () => {
    for (const seconds of [1, 59, 61, 900, 5400, 3601, 86_399, 86_400, 90_000, 604_800, 999_999_999_999]) {
      assert.equal(parseDuration(formatDuration(seconds)), seconds, formatDuration(seconds));
    }
  });
});
