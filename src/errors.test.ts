// The retry family: how long a failure asked to wait counts only when it is a real wait.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DeliveryDeferred,
  PermanentDeliveryError,
  PermanentError,
  RetryLaterError,
  retryAfterOf,
} from "./errors.ts";

test("retryAfterOf reads retryAfterMs from any error, when it is a finite wait of zero or more", () => {
  assert.equal(retryAfterOf(new RetryLaterError("slow down", 1500)), 1500);
  assert.equal(retryAfterOf(Object.assign(new Error("custom"), { retryAfterMs: 0 })), 0);
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -1, "5000"]) {
    assert.equal(
      retryAfterOf(Object.assign(new Error("custom"), { retryAfterMs: bad })),
      undefined,
      String(bad),
    );
  }
  assert.equal(retryAfterOf(new Error("plain")), undefined);
  assert.equal(retryAfterOf(null), undefined);
});

test("one family: a deferral is a retry-later, a dropped delivery is permanent", () => {
  assert.ok(new DeliveryDeferred("429", 1000) instanceof RetryLaterError);
  assert.ok(new PermanentDeliveryError("no such channel") instanceof PermanentError);
});
