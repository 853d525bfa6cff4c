// Sealing temporary logins' passwords: only the right key, the right request and a full tag open them.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { parseKey, seal, unseal } from "./credentials.ts";

const login = { username: "jit_alice_0badc0de", password: "pD4tQ0yV9n3kXc2LwR7s", port: 5432 };

test("a key is 32 bytes as hex or strict base64, and nothing else", () => {
  const bytes = randomBytes(32);
  assert.deepEqual(parseKey(bytes.toString("base64")), bytes);
  assert.deepEqual(parseKey(` ${bytes.toString("hex")}\n`), bytes);
  for (const bad of [
    "",
    randomBytes(16).toString("base64"),
    randomBytes(33).toString("base64"),
    "hunter2hunter2hunter2hunter2hunter2hunter2h", // 43 characters of a passphrase
    bytes.toString("base64url"),
  ]) {
    assert.equal(parseKey(bad), undefined, bad);
  }
});

test("sealed credentials open with their key and request id only, and are never in the clear", () => {
  const key = randomBytes(32);
  const sealed = seal(key, "request-1", login);
  assert.ok(!sealed.includes(login.password));
  assert.notEqual(seal(key, "request-1", login), sealed, "a fresh IV each time");
  assert.deepEqual(unseal(key, "request-1", sealed), login);
  assert.throws(() => unseal(randomBytes(32), "request-1", sealed));
  assert.throws(() => unseal(key, "request-2", sealed), "bound to its request");
});

test("a shortened or altered tag, or a malformed value, is refused", () => {
  const key = randomBytes(32);
  const [version, iv, tag, body] = seal(key, "r", login).split(".") as [string, string, string, string];
  const short = Buffer.from(tag, "base64url").subarray(0, 4).toString("base64url");
  assert.throws(() => unseal(key, "r", [version, iv, short, body].join(".")), /malformed/);
  const flipped = Buffer.from(tag, "base64url");
  flipped[0] = (flipped[0] ?? 0) ^ 1;
  assert.throws(() => unseal(key, "r", [version, iv, flipped.toString("base64url"), body].join(".")));
  assert.throws(() => unseal(key, "r", "v2.x.y.z"), /malformed/);
  assert.throws(() => unseal(key, "r", "garbage"), /malformed/);
});
