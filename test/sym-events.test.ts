// The Sym-compatible Events API: existing Sym clients switch by changing the base URL.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, importJitflow, startTestServer, type TestServer } from "./support/harness.ts";

const config = `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"] },
  targets: { sandbox: { type: "custom" } },
  flows: [{
    name: "deploy",
    targets: ["sandbox"],
    durations: ["1h"],
    fields: [{ name: "reason", type: "text" }],
    approvers: { users: ["bob@example.com"] },
    implementation: "./flows/deploy.ts",
  }],
});
`;
const files = {
  "flows/deploy.ts": "export async function escalate() {}\nexport async function deescalate() {}\n",
};

describe("Sym-compatible Events API", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ config, files });
  });
  after(() => t?.close());

  test("request → run status → approve → deescalate → event status", async () => {
    const bot = t.as("bot@example.com");
    const started = await bot.post("/api/v1/events/request", {
      flow_srn: "acme:flow:deploy:latest",
      flow_inputs: { target_id: "sandbox", duration: 3600, reason: "CI release" },
      context: { pipeline: "release-42" },
      user_email: "alice@example.com",
    });
    assert.equal(started.status, 200);
    const { run_id, event_id } = started.body;
    assert.equal((await bot.get(`/api/v1/runs/${run_id}`)).body.status, "requested");
    const event = await bot.get(`/api/v1/events/${event_id}`);
    assert.deepEqual(
      { run_id: event.body.run_id, name: event.body.name, status: event.body.status },
      { run_id, name: "request", status: "success" },
    );
    const request = await t.as("alice@example.com").get(`/api/v1/requests/${run_id}`);
    assert.equal(request.body.requester.email, "alice@example.com");
    assert.deepEqual(request.body.fields, { reason: "CI release" });
    assert.deepEqual(request.body.context, { pipeline: "release-42" });

    await t.as("bob@example.com").post(`/api/v1/requests/${run_id}/approve`);
    await eventually(
      async () => ((await bot.get(`/api/v1/runs/${run_id}`)).body.status === "escalated" ? true : undefined),
      "the run to be escalated",
    );
    const de = await bot.post("/api/v1/events/deescalate", { run_id });
    assert.equal(de.status, 200);
    await eventually(
      async () =>
        (await bot.get(`/api/v1/events/${de.body.event_id}`)).body.status === "success" ? true : undefined,
      "the deescalate event to succeed",
    );
    assert.equal((await bot.get(`/api/v1/runs/${run_id}`)).body.status, "deescalated");
  });

  test("a plain flow name works; errors keep jitflow's codes", async () => {
    const alice = t.as("alice@example.com");
    const ok = await alice.post("/api/v1/events/request", {
      flow_srn: "deploy",
      flow_inputs: { reason: "x" },
    });
    assert.equal(ok.status, 200);
    const unknown = await alice.post("/api/v1/events/request", { flow_srn: "acme:flow:nope:latest" });
    assert.equal(unknown.body.error.code, "FLOW_NOT_FOUND");
    const actAs = await alice.post("/api/v1/events/request", {
      flow_srn: "deploy",
      flow_inputs: { reason: "x" },
      user_email: "bob@example.com",
    });
    assert.equal(actAs.body.error.code, "ACT_AS_NOT_ALLOWED");
    const badDuration = await alice.post("/api/v1/events/request", {
      flow_srn: "deploy",
      flow_inputs: { reason: "x", duration: 999999 },
    });
    assert.equal(badDuration.body.error.code, "DURATION_NOT_ALLOWED");
    const noEvent = await alice.get("/api/v1/events/nope");
    assert.equal(noEvent.body.error.code, "EVENT_NOT_FOUND");
    const noRun = await alice.post("/api/v1/events/deescalate", { run_id: "nope" });
    assert.equal(noRun.body.error.code, "REQUEST_NOT_FOUND");
  });
});
