// GET /api/v1/stream holds a connection per client: one person may have 20 open at once, whatever tokens or
// sessions they use, so nobody can open streams until the server runs out of memory.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createToken } from "../src/store/tokens.ts";
import { importJitflow, startTestServer, type TestServer } from "./support/harness.ts";

const config = `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  flows: [{ name: "sandbox", approvers: { users: ["bob@example.com"] } }],
});
`;

interface OpenStream {
  /** Reads on until an event about request `id` ("told") or the end of the stream ("ended"). */
  until(id: string): Promise<"told" | "ended">;
  close(): void;
}

describe("GET /api/v1/stream, streams per person", () => {
  let t: TestServer;
  const open: OpenStream[] = [];

  async function tokenFor(email: string): Promise<string> {
    const made = await createToken(
      t.server.deps.store.db,
      { user: email, role: "member", name: "stream test", expiresAt: null },
      Date.now(),
    );
    return made.token;
  }

  /** Opens a stream and reads its first ping, so the server has registered it. */
  async function openStream(token: string): Promise<OpenStream> {
    const abort = new AbortController();
    const res = await fetch(`${t.url}/api/v1/stream`, {
      headers: { authorization: `Bearer ${token}` },
      signal: abort.signal,
    });
    assert.equal(res.status, 200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value, { stream: true });
    assert.match(text, /event: ping/);
    const stream: OpenStream = {
      async until(id) {
        for (;;) {
          if (text.includes(id)) return "told";
          const chunk = await reader.read();
          if (chunk.done) return "ended";
          text += decoder.decode(chunk.value, { stream: true });
        }
      },
      close: () => abort.abort(),
    };
    open.push(stream);
    return stream;
  }

  /** A new request by alice, which her streams and bob's (the approver) hear of. */
  async function newRequest(): Promise<string> {
    const res = await t.as("alice@example.com").post("/api/v1/requests", { flow: "sandbox" });
    assert.equal(res.status, 201);
    return res.body.id as string;
  }

  before(async () => {
    t = await startTestServer({ config });
  });
  after(async () => {
    for (const stream of open) stream.close();
    await t?.close();
  });

  test("a 21st stream of the same person ends their oldest, across tokens; other people's stay open", async () => {
    const [first, second] = [await tokenFor("alice@example.com"), await tokenFor("alice@example.com")];
    const bobs = await openStream(await tokenFor("bob@example.com"));
    const alices: OpenStream[] = [];
    for (let i = 0; i < 20; i++) alices.push(await openStream(i < 10 ? first : second));
    const one = await newRequest();
    assert.equal(await (alices[0] as OpenStream).until(one), "told", "20 streams are allowed");

    const newest = await openStream(second);
    const two = await newRequest();
    assert.equal(await (alices[0] as OpenStream).until(two), "ended", "the oldest was ended");
    for (const stream of [...alices.slice(1), newest]) assert.equal(await stream.until(two), "told");
    assert.equal(await bobs.until(two), "told", "another person's stream is not touched");
  });
});
