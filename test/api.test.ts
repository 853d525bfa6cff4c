// The HTTP API end to end against a running server: the lifecycle, policies, and every kind of bad input.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { schemaVersion } from "../src/store/schema-version.ts";
import { dialects, type TestDatabase } from "./support/databases.ts";
import { importJitflow, startTestServer, type TestServer, waitForState } from "./support/harness.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

const config = `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  targets: {
    gate: { type: "webhook", label: "Deploy gate", url: process.env.TEST_HOOK_URL!, secret: env("TEST_HOOK_SECRET") },
    other: { type: "webhook", url: process.env.TEST_HOOK_URL!, secret: env("TEST_HOOK_SECRET") },
  },
  flows: [
    {
      name: "deploy",
      targets: ["gate", "other"],
      durations: ["15m", "1h"],
      fields: [
        { name: "reason", type: "text" },
        { name: "urgency", type: "string", allowedValues: ["Normal", "Emergency"], default: "Normal" },
        { name: "count", type: "int", required: false },
        { name: "watchers", type: "user_list", required: false },
      ],
      approvers: { users: ["bob@example.com", "carol@example.com"], minApprovals: 2 },
    },
    { name: "signoff", label: "Sign-off only", fields: [{ name: "reason", type: "text" }] },
    { name: "webonly", targets: ["gate"], durations: ["1h"], allowedSources: ["web"] },
    { name: "norevoke", targets: ["gate"], durations: ["1h"], allowRevoke: false, approvers: { users: ["bob@example.com"] } },
  ],
});
`;

for (const db of await dialects()) {
  describe(`HTTP API on ${db.dialect}`, { skip: db.skip }, () => {
    let t: TestServer;
    let hook: WebhookReceiver;
    let database: TestDatabase;

    before(async () => {
      hook = await startWebhookReceiver("s3cret");
      database = await db.create();
      t = await startTestServer({
        config,
        database,
        env: { TEST_HOOK_URL: hook.url, TEST_HOOK_SECRET: "s3cret" },
      });
    });
    after(async () => {
      await t?.close();
      await database?.drop();
      await hook?.close();
    });

    const submit = (email: string, body: Record<string, unknown>) =>
      t.as(email).post("/api/v1/requests", body);

    test("GET /api/v1/version: the package's version, and the schema expected and applied; a token is needed", async () => {
      const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
        version: string;
      };
      const res = await t.as("bob@example.com").get("/api/v1/version");
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, {
        version: pkg.version,
        schema: { expected: schemaVersion, applied: schemaVersion },
      });
      const anonymous = await fetch(`${t.url}/api/v1/version`);
      assert.equal(anonymous.status, 401);
    });

    test("request → two approvals → active → revoke → ended, with the webhook called signed", async () => {
      const created = await submit("alice@example.com", {
        flow: "deploy",
        target: "gate",
        duration: "15m",
        fields: { reason: "hotfix", watchers: ["Bob@example.com"] },
      });
      assert.equal(created.status, 201);
      assert.equal(created.body.state, "pending");
      assert.equal(created.body.fields.urgency, "Normal", "default applied");
      assert.equal(created.body.duration, 900);
      const id = created.body.id;

      const first = await t.as("bob@example.com").post(`/api/v1/requests/${id}/approve`, { reason: "ok" });
      assert.equal(first.status, 200);
      assert.equal(first.body.state, "pending", "one of two approvals");
      const twice = await t.as("bob@example.com").post(`/api/v1/requests/${id}/approve`);
      assert.equal(twice.status, 409);
      assert.equal(twice.body.error.code, "ALREADY_APPROVED");

      const approving = Date.now();
      const second = await t.as("carol@example.com").post(`/api/v1/requests/${id}/approve`);
      assert.equal(second.status, 200);
      assert.ok(["escalating", "active"].includes(second.body.state));
      assert.deepEqual(
        second.body.decisions.map((d: { actor: string }) => d.actor),
        ["bob@example.com", "carol@example.com"],
      );
      const active = await waitForState(t.as("alice@example.com"), id, ["active"]);
      const told = hook.calls.find((c) => c.action === "escalate" && c.requestId === id);
      assert.equal(told?.expiresAt, active.expiresAt, "the target is told the expiry jitflow enforces");
      // 15 minutes from when the target was called: after the approval, not after the activation.
      const from = Date.parse(active.expiresAt) - 900_000;
      assert.ok(
        from >= approving && from <= Date.parse(active.activatedAt),
        `15 minutes from ${new Date(from).toISOString()}, approved after ${new Date(approving).toISOString()}`,
      );
      assert.ok(hook.grants.has("gate:alice@example.com"));
      assert.equal(hook.rejected, 0);

      const revoked = await t
        .as("alice@example.com")
        .post(`/api/v1/requests/${id}/revoke`, { reason: "done" });
      assert.equal(revoked.status, 200);
      const ended = await waitForState(t.as("alice@example.com"), id, ["ended"]);
      assert.equal(ended.endedReason, "revoked");
      assert.ok(!hook.grants.has("gate:alice@example.com"));
      const again = await t.as("alice@example.com").post(`/api/v1/requests/${id}/revoke`);
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, "INVALID_TRANSITION");
    });

    test("deny, then approving after the deny is refused and changes nothing", async () => {
      const { body } = await submit("alice@example.com", {
        flow: "deploy",
        target: "gate",
        fields: { reason: "x" },
      });
      const denied = await t.as("bob@example.com").post(`/api/v1/requests/${body.id}/deny`, { reason: "no" });
      assert.equal(denied.body.state, "denied");
      const late = await t.as("carol@example.com").post(`/api/v1/requests/${body.id}/approve`);
      assert.equal(late.status, 409);
      assert.equal(late.body.error.code, "INVALID_TRANSITION");
      const after = await t.as("alice@example.com").get(`/api/v1/requests/${body.id}`);
      assert.equal(after.body.state, "denied");
      assert.equal(after.body.decisions.length, 1);
    });

    test("self-approval, non-approvers and guests are refused", async () => {
      const { body } = await submit("bob@example.com", {
        flow: "deploy",
        target: "gate",
        fields: { reason: "x" },
      });
      const self = await t.as("bob@example.com").post(`/api/v1/requests/${body.id}/approve`);
      assert.equal(self.status, 403);
      assert.equal(self.body.error.code, "SELF_APPROVAL");
      // Dave has no part in the request: approving it is answered as if it did not exist.
      const stranger = await t.as("dave@example.com").post(`/api/v1/requests/${body.id}/approve`);
      assert.equal(stranger.status, 404);
      assert.equal(stranger.body.error.code, "REQUEST_NOT_FOUND");
      const hidden = await t.as("dave@example.com").get(`/api/v1/requests/${body.id}`);
      assert.equal(hidden.status, 404, "people with no part in a request cannot read it");
      const guest = await submit("eve@outside.org", {
        flow: "deploy",
        target: "gate",
        fields: { reason: "x" },
      });
      assert.equal(guest.status, 403);
      assert.equal(guest.body.error.code, "GUEST_NOT_ALLOWED");
      const state = await t.as("admin@example.com").get(`/api/v1/requests/${body.id}`);
      assert.equal(state.body.state, "pending");
      assert.equal(state.body.decisions.length, 0);
    });

    test("bad input gets a stable 4xx code and creates nothing", async () => {
      const before = await t.as("admin@example.com").get("/api/v1/requests?limit=200");
      const cases: [Record<string, unknown> | string, number, string][] = [
        [{ flow: "nope" }, 404, "FLOW_NOT_FOUND"],
        [{ flow: "deploy", target: "nope", fields: { reason: "x" } }, 400, "TARGET_NOT_FOUND"],
        [{ flow: "deploy", fields: { reason: "x" } }, 400, "TARGET_REQUIRED"],
        [{ flow: "deploy", target: "gate", fields: { reason: "x", color: "red" } }, 400, "FIELD_UNKNOWN"],
        [{ flow: "deploy", target: "gate", fields: {} }, 400, "FIELD_REQUIRED"],
        [{ flow: "deploy", target: "gate", fields: { reason: "x", count: "three" } }, 400, "FIELD_INVALID"],
        [
          { flow: "deploy", target: "gate", fields: { reason: "x", urgency: "Whenever" } },
          400,
          "FIELD_INVALID",
        ],
        [{ flow: "deploy", target: "gate", fields: { reason: 7 } }, 400, "FIELD_INVALID"],
        [
          { flow: "deploy", target: "gate", duration: "2h", fields: { reason: "x" } },
          400,
          "DURATION_NOT_ALLOWED",
        ],
        [
          { flow: "deploy", target: "gate", duration: "soon", fields: { reason: "x" } },
          400,
          "DURATION_INVALID",
        ],
        [{ flow: "signoff", target: "gate", fields: { reason: "x" } }, 400, "TARGET_NOT_FOUND"],
        [{ flow: "webonly" }, 403, "SOURCE_NOT_ALLOWED"],
        [
          { flow: "deploy", target: "gate", fields: { reason: "x" }, requester: "bob@example.com" },
          403,
          "ACT_AS_NOT_ALLOWED",
        ],
        [{ target: "gate" }, 400, "VALIDATION_FAILED"],
        [{ flow: 42 }, 400, "VALIDATION_FAILED"],
        ["{not json", 400, "INVALID_JSON"],
        [{ flow: "deploy", target: "gate", fields: { reason: "a\u0000b" } }, 400, "VALIDATION_FAILED"],
        [JSON.stringify({ flow: "deploy", fields: { reason: "x".repeat(70_000) } }), 413, "BODY_TOO_LARGE"],
      ];
      for (const [body, status, code] of cases) {
        const res = await t.as("alice@example.com").raw("/api/v1/requests", {
          method: "POST",
          headers: {
            authorization: `Bearer ${t.as("alice@example.com").token}`,
            "content-type": "application/json",
          },
          body: typeof body === "string" ? body : JSON.stringify(body),
        });
        assert.equal(
          res.status,
          status,
          `${JSON.stringify(body).slice(0, 80)} → ${JSON.stringify(res.body)}`,
        );
        assert.equal(res.body.error.code, code);
        assert.equal(typeof res.body.error.message, "string");
      }
      const after = await t.as("admin@example.com").get("/api/v1/requests?limit=200");
      assert.equal(after.body.items.length, before.body.items.length, "no request was created");
    });

    test("one person's decisions racing each other: one counts, the rest are refused, none fails", async () => {
      const { body } = await submit("alice@example.com", {
        flow: "deploy",
        target: "gate",
        fields: { reason: "x" },
      });
      const bob = t.as("bob@example.com");
      const results = await Promise.all([
        ...Array.from({ length: 4 }, () => bob.post(`/api/v1/requests/${body.id}/approve`)),
        bob.post(`/api/v1/requests/${body.id}/deny`),
      ]);
      assert.equal(results.filter((r) => r.status === 200).length, 1, "exactly one decision counts");
      assert.deepEqual(
        results.filter((r) => r.status !== 200).map((r) => [r.status, r.body.error.code]),
        [1, 2, 3, 4].map(() => [409, "ALREADY_APPROVED"]),
      );
      const after = await t.as("alice@example.com").get(`/api/v1/requests/${body.id}`);
      assert.equal(after.body.decisions.length, 1);
    });

    test("input nested too deeply is refused", async () => {
      const deep = `${"[".repeat(6000)}${"]".repeat(6000)}`;
      const res = await t.as("alice@example.com").raw("/api/v1/requests", {
        method: "POST",
        headers: {
          authorization: `Bearer ${t.as("alice@example.com").token}`,
          "content-type": "application/json",
        },
        body: `{"flow":"signoff","fields":{"reason":"x"},"context":{"deep":${deep}}}`,
      });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, "VALIDATION_FAILED");
    });

    test("tokens: missing, unknown, and wrong routes", async () => {
      const none = await fetch(`${t.url}/api/v1/flows`);
      assert.equal(none.status, 401);
      assert.equal(((await none.json()) as any).error.code, "UNAUTHENTICATED");
      const bad = await fetch(`${t.url}/api/v1/flows`, { headers: { authorization: "Bearer jft_nope" } });
      assert.equal(((await bad.json()) as any).error.code, "TOKEN_INVALID");
      const missing = await t.as("alice@example.com").get("/api/v1/nothing-here");
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, "ROUTE_NOT_FOUND");
      const unknown = await t.as("alice@example.com").get("/api/v1/requests/does-not-exist");
      assert.equal(unknown.body.error.code, "REQUEST_NOT_FOUND");
      const webOnly = await t.as("alice@example.com").get("/api/v1/flows/webonly/fields/reason/options");
      assert.equal(
        webOnly.body.error.code,
        "SOURCE_NOT_ALLOWED",
        "prefetch runs flow code only where the flow may be requested",
      );
      const nul = await t.as("alice@example.com").get("/api/v1/requests/a%00b");
      assert.equal(nul.body.error.code, "VALIDATION_FAILED");
    });

    test("approval-only flows end at approved; revoke is refused", async () => {
      const { body } = await submit("alice@example.com", {
        flow: "signoff",
        fields: { reason: "release 1.2" },
      });
      assert.equal(body.target, null);
      const approved = await t.as("admin@example.com").post(`/api/v1/requests/${body.id}/approve`);
      assert.equal(approved.body.state, "approved");
      const revoke = await t.as("admin@example.com").post(`/api/v1/requests/${body.id}/revoke`);
      assert.equal(revoke.body.error.code, "INVALID_TRANSITION");
    });

    test("allowRevoke: false leaves revoking to admins", async () => {
      const { body } = await submit("alice@example.com", { flow: "norevoke" });
      await t.as("bob@example.com").post(`/api/v1/requests/${body.id}/approve`);
      await waitForState(t.as("alice@example.com"), body.id, ["active"]);
      const mine = await t.as("alice@example.com").post(`/api/v1/requests/${body.id}/revoke`);
      assert.equal(mine.body.error.code, "REVOKE_NOT_ALLOWED");
      const admin = await t.as("admin@example.com").post(`/api/v1/requests/${body.id}/revoke`);
      assert.equal(admin.status, 200);
      await waitForState(t.as("alice@example.com"), body.id, ["ended"]);
    });

    test("cancel by the requester only; bots request for others", async () => {
      const { body } = await submit("bot@example.com", {
        flow: "deploy",
        target: "other",
        requester: "alice@example.com",
        fields: { reason: "ci" },
        context: { job: "build-7" },
      });
      assert.equal(body.requester.email, "alice@example.com");
      assert.deepEqual(body.context, { job: "build-7" });
      const notYours = await t.as("bob@example.com").post(`/api/v1/requests/${body.id}/cancel`);
      assert.equal(notYours.body.error.code, "CANCEL_NOT_ALLOWED");
      const cancelled = await t.as("alice@example.com").post(`/api/v1/requests/${body.id}/cancel`);
      assert.equal(cancelled.body.state, "cancelled");
    });

    test("lists are newest first and cursor-paginated; flows list what I may request", async () => {
      for (let i = 0; i < 5; i += 1)
        await submit("carol@example.com", { flow: "signoff", fields: { reason: `r${i}` } });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await t
          .as("carol@example.com")
          .get(`/api/v1/requests?mine=true&flow=signoff&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
        assert.equal(page.status, 200);
        seen.push(...page.body.items.map((r: { fields: { reason: string } }) => r.fields.reason));
        cursor = page.body.nextCursor;
      } while (cursor);
      assert.deepEqual(seen, ["r4", "r3", "r2", "r1", "r0"]);
      const badCursor = await t.as("carol@example.com").get("/api/v1/requests?cursor=zzz");
      assert.equal(badCursor.body.error.code, "CURSOR_INVALID");
      const badState = await t.as("carol@example.com").get("/api/v1/requests?state=sleeping");
      assert.equal(badState.body.error.code, "VALIDATION_FAILED");

      const flows = await t.as("alice@example.com").get("/api/v1/flows");
      assert.deepEqual(
        flows.body.items.map((f: { name: string }) => f.name),
        ["deploy", "signoff", "norevoke"],
        "webonly is not requestable from the API",
      );
    });

    test("the audit log pages in order, for admins only", async () => {
      const denied = await t.as("alice@example.com").get("/api/v1/audit");
      assert.equal(denied.status, 403);
      const first = await t.as("admin@example.com").get("/api/v1/audit?limit=3");
      assert.equal(first.body.items.length, 3);
      assert.deepEqual(
        first.body.items.map((e: { seq: number }) => e.seq),
        [1, 2, 3],
      );
      const next = await t
        .as("admin@example.com")
        .get(`/api/v1/audit?after=${first.body.nextCursor}&limit=2`);
      assert.equal(next.body.items[0].seq, 4);
      assert.equal(next.body.items[0].prevHash, first.body.items[2].hash);
    });

    test("metrics count what happened, for admin tokens only (bots too may not)", async () => {
      const bearer = (email: string) => ({ authorization: `Bearer ${t.token(email)}` });
      const anonymous = await fetch(`${t.url}/metrics`);
      assert.equal(anonymous.status, 401);
      assert.equal(((await anonymous.json()) as any).error.code, "UNAUTHENTICATED");
      const member = await fetch(`${t.url}/metrics`, { headers: bearer("alice@example.com") });
      assert.equal(member.status, 403);
      assert.equal(((await member.json()) as any).error.code, "FORBIDDEN");
      const bot = await fetch(`${t.url}/metrics`, { headers: bearer("bot@example.com") });
      assert.equal(bot.status, 403);
      await bot.body?.cancel();
      const res = await fetch(`${t.url}/metrics`, { headers: bearer("admin@example.com") });
      assert.equal(res.status, 200);
      const text = await res.text();
      const created = /jitflow_events_total\{type="request.created"\} (\d+)/.exec(text);
      assert.ok(created && Number(created[1]) > 0, "request.created is counted");
      assert.match(text, /jitflow_revocation_lateness_seconds_bucket/);
    });

    test("the OpenAPI document describes the routes", async () => {
      const res = await fetch(`${t.url}/api/v1/openapi.json`);
      const doc = (await res.json()) as any;
      assert.equal(doc.openapi, "3.1.0");
      for (const path of [
        "/api/v1/requests",
        "/api/v1/requests/{id}/approve",
        "/api/v1/events/request",
        "/api/v1/audit",
      ]) {
        assert.ok(doc.paths[path], `${path} is documented`);
      }
      assert.ok(doc.components.schemas.CreateRequest.properties.flow);
    });
  });
}
