// What the Slack app remembers of option loads: answers are reused for a minute, and no more than the latest
// 1,000 searches are kept, however many people type (each answer holds up to 100 options).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FakeClock } from "../src/lib/clock.ts";
import { FakeSlack } from "./support/fake-slack.ts";
import { importJitflow, startTestServer, type TestServer } from "./support/harness.ts";
import { blockSuggestion, sendToSlackEndpoint } from "./support/slack-payloads.ts";

const secret = "test-signing-secret";
const alice = { id: "U0ALICE", email: "alice@example.com", name: "Alice" };

const config = `${importJitflow}
export default defineConfig({
  users: { admins: [], memberDomains: ["example.com"] },
  targets: { box: { type: "custom", label: "Sandbox" } },
  flows: [
    {
      name: "pick",
      targets: ["box"],
      durations: ["1h"],
      fields: [{ name: "role", type: "string", prefetch: true }],
      implementation: "./flows/pick.ts",
    },
  ],
});
`;

const calls = Symbol.for("jitflow.test.prefetchCalls");
const files = {
  "flows/pick.ts": `
export async function escalate() {}
export async function deescalate() {}
export const prefetch = {
  role: async (evt) => {
    const seen = (globalThis[Symbol.for("jitflow.test.prefetchCalls")] ??= new Map());
    seen.set(evt.query, (seen.get(evt.query) ?? 0) + 1);
    return [{ value: evt.query + "-admin", label: evt.query + " admin" }];
  },
};
`,
};

/** How often the flow's prefetch was asked for `query`. */
const asked = (query: string): number =>
  (globalThis as { [calls]?: Map<string, number> })[calls]?.get(query) ?? 0;

describe("Slack option loads, cached", () => {
  let slack: FakeSlack;
  let t: TestServer;
  const clock = new FakeClock(Date.now());
  let sent = 0;

  /** One keystroke in the field; each from its own view, or two alike in the same second would be a replay. */
  async function search(query: string): Promise<void> {
    const res = await sendToSlackEndpoint(
      t.url,
      blockSuggestion({
        user: { id: alice.id },
        actionId: "v",
        blockId: "f:role",
        value: query,
        view: {
          id: `V0FORM${sent++}`,
          callbackId: "jf_request",
          privateMetadata: JSON.stringify({ flow: "pick" }),
        },
      }),
      { secret, timestamp: Math.floor(clock.now() / 1000) },
    );
    assert.equal(res.status, 200);
    assert.deepEqual(
      (res.body as { options: { value: string }[] }).options.map((o) => o.value),
      [JSON.stringify(`${query}-admin`)],
    );
  }

  before(async () => {
    slack = await FakeSlack.start({ users: [alice] });
    t = await startTestServer({
      config,
      files,
      clock,
      env: { SLACK_BOT_TOKEN: slack.token, SLACK_SIGNING_SECRET: secret, SLACK_API_URL: slack.apiUrl },
    });
  });
  after(async () => {
    await t?.close();
    await slack?.close();
  });

  test("the same search within a minute is answered from memory; after it, the flow is asked again", async () => {
    await search("db");
    await search("db");
    assert.equal(asked("db"), 1);
    clock.advance(60_001);
    await search("db");
    assert.equal(asked("db"), 2);
  });

  test("only the latest 1,000 searches are kept: the oldest is asked again after 1,000 newer ones", async () => {
    await search("first");
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < 1000) await search(`other-${next++}`);
      }),
    );
    await search("other-999");
    assert.equal(asked("other-999"), 1, "a recent search is still remembered");
    await search("first");
    assert.equal(asked("first"), 2, "the oldest was let go");
  });
});
