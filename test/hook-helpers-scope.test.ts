// Hook helpers belong to the server that runs the hook: with two servers in one process, each hook's
// evt.requester.countEvents counts in its own server's database.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { importJitflow, startTestServer, type TestServer } from "./support/harness.ts";

const config = `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  flows: [{ name: "counted", durations: ["1h"], implementation: "./flows/counted.ts" }],
});
`;

const files = {
  "flows/counted.ts": `import { deny, type FlowEvent } from "jitflow";
export async function onRequest(evt: FlowEvent) {
  const before = await evt.requester.countEvents({ type: "request.created", since: "1d" });
  return deny({ reason: \`asked \${before} times before\` });
}
`,
};

describe("hook helpers with two servers in one process", () => {
  let first: TestServer;
  let second: TestServer;
  before(async () => {
    first = await startTestServer({ config, files });
    second = await startTestServer({ config, files });
  });
  after(async () => {
    await first?.close();
    await second?.close();
  });

  const ask = async (server: TestServer) => {
    const { status, body } = await server.as("alice@example.com").post("/api/v1/requests", {
      flow: "counted",
      duration: "1h",
    });
    assert.equal(status, 201, JSON.stringify(body));
    assert.equal(body.state, "denied");
    return JSON.stringify(body);
  };

  test("each server's hooks count the requests of their own server", async () => {
    assert.match(await ask(first), /asked 0 times before/);
    assert.match(await ask(first), /asked 1 times before/);
    // The second server started last; its database has none of alice's requests.
    assert.match(await ask(second), /asked 0 times before/);
    assert.match(await ask(first), /asked 2 times before/);
    assert.match(await ask(second), /asked 1 times before/);
  });
});
