// Flow modules through a running server: every hook's effect, reducers, prefetch, throwing and slow hooks.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import {
  eventually,
  importJitflow,
  startTestServer,
  type TestServer,
  waitForState,
} from "./support/harness.ts";

const config = `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  hooks: { timeoutMs: 300 },
  scheduler: { targetTimeoutMs: 400, leaseMs: 1000, retryBaseMs: 200, retryMaxMs: 400 },
  targets: {
    sandbox: { type: "custom", label: "Sandbox", region: "eu-west-1" },
    hooked: { type: "webhook", url: "http://127.0.0.1:9/never", secret: env("HOOKS_TEST_SECRET") },
  },
  flows: [
    {
      name: "rules",
      targets: ["sandbox"],
      durations: ["15m", "1h"],
      fields: [
        { name: "reason", type: "text" },
        { name: "urgency", type: "string", allowedValues: ["Normal", "Emergency", "Blocked", "Denied", "Throw", "Slow"] },
        { name: "repo", type: "string", prefetch: true, required: false },
      ],
      implementation: "./flows/rules.ts",
      vars: { team: "platform" },
    },
    { name: "gated", targets: ["sandbox"], durations: ["1h"], implementation: "./flows/gated.ts" },
    { name: "members", durations: ["1h"], implementation: "./flows/members.ts" },
    { name: "typo", durations: ["1h"], implementation: "./flows/typo.ts" },
    { name: "after", targets: ["sandbox"], durations: ["1h"], implementation: "./flows/after.ts" },
    { name: "stuck", targets: ["sandbox"], durations: ["1h"], implementation: "./flows/stuck.ts" },
    { name: "quick", targets: ["sandbox"], durations: ["1s", "1h"], implementation: "./flows/quick.ts" },
  ],
});
`;

const files = {
  "flows/rules.ts": `import { approve, deny, ignore, type FlowEvent } from "jitflow";
export const seen: FlowEvent[] = [];
export const grants = new Set<string>();
export async function onRequest(evt: FlowEvent<{ urgency: string }>) {
  seen.push(evt);
  switch (evt.fields.urgency) {
    case "Emergency": return approve({ reason: "emergency" });
    case "Denied": return deny({ reason: "not today" });
    case "Blocked": return ignore({ message: "use the other flow" });
    case "Throw": throw new Error("pager API down");
    case "Slow": return new Promise(() => {});
  }
}
export async function escalate(evt: FlowEvent) { grants.add(evt.request.id); }
export async function deescalate(evt: FlowEvent) { grants.delete(evt.request.id); }
export const prefetch = {
  repo: async () => [
    { value: "api", label: "API server" },
    { value: "web", label: "Web app" },
    { value: "infra", label: "Infrastructure" },
  ],
};
`,
  "flows/gated.ts": `import { ignore, type FlowEvent } from "jitflow";
export async function getApprovers() { return ["dave@example.com"]; }
export async function onApprove(evt: FlowEvent) {
  if (!evt.reason) return ignore({ message: "say why you approve" });
}
export async function onDeny(evt: FlowEvent) {
  if (!evt.reason) return ignore({ message: "say why you deny" });
}
export async function escalate() {}
export async function deescalate() {}
`,
  "flows/stuck.ts": `import { approve } from "jitflow";
export async function onRequest() { return approve(); }
export async function escalate() { return new Promise(() => {}); }
export async function deescalate() {}
`,
  "flows/quick.ts": `import { approve } from "jitflow";
export async function onRequest() { return approve(); }
export async function escalate() {}
export async function deescalate() {}
`,
  "flows/typo.ts": `export async function getPermissions() { return { approveDeny: "members", allowSelfApproval: "no" } as any; }
`,
  "flows/members.ts": `export async function getPermissions() { return { approveDeny: "member" as const }; }
`,
  "flows/after.ts": `import type { FlowEvent } from "jitflow";
export const log: string[] = [];
export async function afterRequest(evt: FlowEvent) { log.push("afterRequest:" + evt.request.state); }
export async function afterApprove() { throw new Error("chat webhook down"); }
export async function onEscalate(evt: FlowEvent) { log.push("onEscalate:" + evt.actor.email); }
export async function afterEscalate(evt: FlowEvent) { log.push("afterEscalate:" + evt.request.state); }
export async function afterDeescalate(evt: FlowEvent) { log.push("afterDeescalate:" + evt.request.state); }
export async function escalate() {}
export async function deescalate() {}
`,
};

describe("flow modules", () => {
  let t: TestServer;
  let rules: { seen: any[]; grants: Set<string> };
  let afterLog: string[];

  before(async () => {
    t = await startTestServer({ config, files, env: { HOOKS_TEST_SECRET: "x" } });
    rules = await import(pathToFileURL(join(t.dir, "flows/rules.ts")).href);
    afterLog = (await import(pathToFileURL(join(t.dir, "flows/after.ts")).href)).log;
  });
  after(() => t?.close());

  const alice = () => t.as("alice@example.com");
  const ask = (urgency: string, flow = "rules") =>
    alice().post("/api/v1/requests", { flow, duration: "15m", fields: { reason: "r", urgency } });

  test("the event a hook receives", async () => {
    const res = await ask("Normal");
    assert.equal(res.status, 201);
    const evt = rules.seen.at(-1);
    assert.equal(evt.name, "onRequest");
    const { countEvents, ...requester } = evt.requester;
    assert.deepEqual(requester, { email: "alice@example.com", name: "alice", role: "member" });
    assert.equal(typeof countEvents, "function", "evt.requester.countEvents is a hook helper");
    assert.deepEqual(evt.fields, { reason: "r", urgency: "Normal" });
    assert.deepEqual(evt.target, {
      name: "sandbox",
      type: "custom",
      label: "Sandbox",
      settings: { region: "eu-west-1" },
    });
    assert.equal(evt.duration, 900);
    assert.deepEqual(evt.flow, { name: "rules", label: "rules", vars: { team: "platform" } });
    assert.equal(evt.request.id, res.body.id);
    assert.equal(evt.request.state, "pending");
    assert.equal(evt.source, "api");
  });

  test("onRequest: approve grants through the custom target, deny denies, ignore creates nothing", async () => {
    const approved = await ask("Emergency");
    assert.equal(approved.body.decisions[0].actor, "hook:onRequest");
    await waitForState(alice(), approved.body.id, ["active"]);
    assert.ok(rules.grants.has(approved.body.id), "escalate() of the flow module ran");
    await alice().post(`/api/v1/requests/${approved.body.id}/revoke`);
    await waitForState(alice(), approved.body.id, ["ended"]);
    assert.ok(!rules.grants.has(approved.body.id), "deescalate() ran");

    const denied = await ask("Denied");
    assert.equal(denied.body.state, "denied");
    assert.equal(denied.body.decisions[0].reason, "not today");

    const before = (await alice().get("/api/v1/requests?mine=true&limit=200")).body.items.length;
    const blocked = await ask("Blocked");
    assert.equal(blocked.status, 409);
    assert.equal(blocked.body.error.code, "HOOK_IGNORED");
    assert.equal(blocked.body.error.message, "use the other flow");
    assert.equal((await alice().get("/api/v1/requests?mine=true&limit=200")).body.items.length, before);
  });

  test("a throwing or slow onRequest leaves the request pending with the error, and the server serves on", async () => {
    const thrown = await ask("Throw");
    assert.equal(thrown.status, 201);
    assert.equal(thrown.body.state, "pending", "no automatic decision: a person decides");
    assert.match(thrown.body.error, /onRequest failed: pager API down/);
    const slow = await ask("Slow");
    assert.equal(slow.status, 201);
    assert.match(slow.body.error, /did not finish within 300 ms/);
    const audit = await t.as("admin@example.com").get(`/api/v1/audit?requestId=${thrown.body.id}`);
    assert.ok(audit.body.items.some((e: { type: string }) => e.type === "hook.failed"));
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
  });

  test("onApprove/onDeny can block a decision with a message; getApprovers names the approvers", async () => {
    const { body } = await alice().post("/api/v1/requests", { flow: "gated" });
    const notListed = await t
      .as("bob@example.com")
      .post(`/api/v1/requests/${body.id}/approve`, { reason: "ok" });
    assert.equal(notListed.body.error.code, "REQUEST_NOT_FOUND", "not named: not theirs to see");
    const noReason = await t.as("dave@example.com").post(`/api/v1/requests/${body.id}/approve`);
    assert.equal(noReason.status, 409);
    assert.equal(noReason.body.error.message, "say why you approve");
    const noDenyReason = await t.as("dave@example.com").post(`/api/v1/requests/${body.id}/deny`);
    assert.equal(noDenyReason.body.error.message, "say why you deny");
    assert.equal((await alice().get(`/api/v1/requests/${body.id}`)).body.state, "pending");
    const ok = await t
      .as("dave@example.com")
      .post(`/api/v1/requests/${body.id}/approve`, { reason: "on call" });
    assert.equal(ok.status, 200);
    await waitForState(alice(), body.id, ["active"]);
  });

  test("getPermissions can open decisions to every member, never to the requester", async () => {
    const { body } = await alice().post("/api/v1/requests", { flow: "members" });
    const self = await alice().post(`/api/v1/requests/${body.id}/approve`);
    assert.equal(self.body.error.code, "SELF_APPROVAL");
    const guest = await t.as("eve@outside.org").post(`/api/v1/requests/${body.id}/approve`);
    assert.equal(guest.body.error.code, "REQUEST_NOT_FOUND", "a guest is not a member: not theirs to see");
    const member = await t.as("carol@example.com").post(`/api/v1/requests/${body.id}/approve`);
    assert.equal(member.body.state, "approved");
  });

  test("after* hooks run in order; a throwing one is recorded and changes nothing", async () => {
    const { body } = await alice().post("/api/v1/requests", { flow: "after" });
    await t.as("admin@example.com").post(`/api/v1/requests/${body.id}/approve`);
    const active = await waitForState(alice(), body.id, ["active"]);
    assert.match(active.error, /afterApprove failed: chat webhook down/);
    await alice().post(`/api/v1/requests/${body.id}/revoke`);
    await waitForState(alice(), body.id, ["ended"]);
    assert.deepEqual(afterLog, [
      "afterRequest:pending",
      "onEscalate:jitflow",
      "afterEscalate:active",
      "afterDeescalate:ended",
    ]);
  });

  test("prefetch options are filtered by the query; fields without prefetch say so", async () => {
    const all = await alice().get("/api/v1/flows/rules/fields/repo/options");
    assert.equal(all.body.items.length, 3);
    const some = await alice().get("/api/v1/flows/rules/fields/repo/options?q=web");
    assert.deepEqual(some.body.items, [{ value: "web", label: "Web app" }]);
    const none = await alice().get("/api/v1/flows/rules/fields/reason/options");
    assert.equal(none.body.error.code, "PREFETCH_NOT_AVAILABLE");
    const missing = await alice().get("/api/v1/flows/rules/fields/nope/options");
    assert.equal(missing.body.error.code, "FIELD_NOT_FOUND");
  });

  test("a target call that never returns times out and is retried, and holds up no other grant", async () => {
    const stuck = (await alice().post("/api/v1/requests", { flow: "stuck" })).body;
    const quick = (await alice().post("/api/v1/requests", { flow: "quick", duration: "1s" })).body;
    const ended = await waitForState(alice(), quick.id, ["ended"]);
    assert.equal(ended.endedReason, "scheduled");
    await eventually(async () => {
      const row = (await alice().get(`/api/v1/requests/${stuck.id}`)).body;
      return row.attempts >= 2 && /did not finish in time/.test(row.lastError) ? row : undefined;
    }, "the stuck escalation to be retried");
    const revoked = await alice().post(`/api/v1/requests/${stuck.id}/revoke`);
    assert.equal(revoked.status, 200);
    await waitForState(alice(), stuck.id, ["ended"]);
  });

  test("a malformed getPermissions answer fails closed: only admins decide", async () => {
    const { body } = await alice().post("/api/v1/requests", { flow: "typo" });
    const member = await t.as("carol@example.com").post(`/api/v1/requests/${body.id}/approve`);
    assert.equal(member.status, 404);
    assert.equal(member.body.error.code, "REQUEST_NOT_FOUND", "not a decider: not theirs to see");
    const self = await alice().post(`/api/v1/requests/${body.id}/approve`);
    assert.equal(self.status, 403);
    const admin = await t.as("admin@example.com").post(`/api/v1/requests/${body.id}/approve`);
    assert.equal(admin.body.state, "approved");
  });
});
