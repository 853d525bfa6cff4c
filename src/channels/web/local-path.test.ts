// Where a sign-in may send someone afterwards: paths on this server stay, everything else becomes "/".

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { localPath } from "./local-path.ts";

const kept: [next: string, path: string][] = [
  ["/", "/"],
  ["/approvals", "/approvals"],
  ["/requests?tab=mine", "/requests?tab=mine"],
  ["/request/db.prod#fields", "/request/db.prod#fields"],
  ["/audit?q=100%25", "/audit?q=100%25"],
  ["/audit?q=a%2Fb", "/audit?q=a%2Fb"],
  ["/request/caf%C3%A9", "/request/caf%C3%A9"],
  ["/request/café", "/request/caf%C3%A9"],
  ["/a/../approvals", "/approvals"],
];

const refused: [why: string, next: string | null | undefined][] = [
  ["nothing", null],
  ["nothing", undefined],
  ["empty", ""],
  ["relative", "approvals"],
  ["another site", "https://evil.example/"],
  ["another scheme", "javascript:alert(1)"],
  ["protocol-relative", "//evil.example/x"],
  ["a backslash for a slash", "/\\evil.example"],
  ["a backslash anywhere", "/approvals\\..\\x"],
  ["a tab the browser drops", "/\t/evil.example"],
  ["a newline the browser drops", "/\n/evil.example"],
  ["a carriage return", "/approvals\r"],
  ["NUL", "/approvals\u0000"],
  ["another C0 control", "/\u001b[31m"],
  ["DEL", "/approvals\u007f"],
  ["a C1 control", "/approvals\u0085"],
  ["the last C1 control", "/approvals\u009f"],
  ["an encoded slash at the start", "/%2F%2Fevil.example"],
  ["an encoded slash, upper and lower case", "/%2f/evil.example"],
  ["an encoded backslash", "/%5Cevil.example"],
  ["an encoded tab", "/%09/evil.example"],
  ["an encoded NUL", "/approvals%00"],
  ["an encoded DEL", "/approvals%7F"],
  ["an encoded C1 control", "/approvals%C2%85"],
  ["encoded twice", "/%252F%252Fevil.example"],
  ["encoded twice, behind a malformed escape", "/%252F%E0%252Fevil.example"],
  ["a path that normalises to two slashes", "/.//evil.example"],
  ["a path that normalises to two slashes, further up", "/a/..//evil.example"],
  ["longer than 2000 characters", `/${"a".repeat(2000)}`],
];

describe("localPath", () => {
  for (const [next, path] of kept) {
    test(`${JSON.stringify(next)} → ${JSON.stringify(path)}`, () => {
      assert.equal(localPath(next), path);
    });
  }
  for (const [why, next] of refused) {
    test(`${why}: ${JSON.stringify(next)?.slice(0, 40)} → "/"`, () => {
      assert.equal(localPath(next), "/");
    });
  }
});
