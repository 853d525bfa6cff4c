// How the server serves the web app: security headers and Content-Security-Policy, page paths, the event
// stream's HEAD, the dev sign-in's loopback rule and body limit, and a stream that ends with its sign-in.

import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, test } from "node:test";
import { Hono } from "hono";
import type { ApiEnv } from "../src/channels/api/auth.ts";
import { createEventStream } from "../src/channels/api/stream.ts";
import { importJitflow, startTestServer, type TestServer } from "./support/harness.ts";

const config = `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"] },
  web: { auth: "dev" },
  flows: [{ name: "db.prod" }],
});
`;

/** A GET with a Host header of our choosing (fetch does not let one set it). */
function getWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("serving the web app", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ config });
  });
  after(async () => {
    await t?.close();
  });

  test("every answer forbids framing and sniffing", async () => {
    for (const path of ["/", "/signin?error=x", "/api/v1/flows", "/healthz", "/favicon.svg", "/nowhere"]) {
      const res = await fetch(`${t.url}${path}`);
      assert.match(
        res.headers.get("content-security-policy") ?? "",
        /(^|; )frame-ancestors 'none'(;|$)/,
        path,
      );
      assert.equal(res.headers.get("x-frame-options"), "DENY", path);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff", path);
    }
  });

  test("pages may run only the app's own scripts and styles; every other answer may run nothing", async () => {
    const policy = async (path: string) =>
      Object.fromEntries(
        ((await fetch(`${t.url}${path}`)).headers.get("content-security-policy") ?? "")
          .split(";")
          .map((directive) => directive.trim().split(/\s+/))
          .map(([name = "", ...values]) => [name, values.join(" ")]),
      );
    for (const path of ["/", "/approvals", "/signin?error=expired", "/request/db.prod"]) {
      assert.deepEqual(
        await policy(path),
        {
          "default-src": "'self'",
          "script-src": "'self'",
          "style-src": "'self'",
          "img-src": "'self'",
          "connect-src": "'self'",
          "object-src": "'none'",
          "base-uri": "'none'",
          "form-action": "'self'",
          "frame-ancestors": "'none'",
        },
        path,
      );
    }
    const index = await (await fetch(`${t.url}/`)).text();
    assert.doesNotMatch(index, /<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=/, "no inline script or style");
    const assets = [...index.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    assert.ok(assets.length >= 2, "the page loads its script and style from /assets");
    for (const path of ["/api/v1/flows", "/healthz", "/favicon.svg", ...assets]) {
      assert.deepEqual(
        await policy(path as string),
        {
          "default-src": "'none'",
          "base-uri": "'none'",
          "form-action": "'none'",
          "frame-ancestors": "'none'",
        },
        path,
      );
    }
  });

  test("a page path with a dot is a page; the page itself is never cached as is", async () => {
    for (const path of ["/request/db.prod", "/index.html", "/approvals"]) {
      const res = await fetch(`${t.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get("content-type") ?? "", /text\/html/, path);
      assert.equal(res.headers.get("cache-control"), "no-cache", path);
    }
    const icon = await fetch(`${t.url}/favicon.svg`);
    assert.equal(icon.status, 200);
    assert.match(icon.headers.get("content-type") ?? "", /svg/);
    const missing = await fetch(`${t.url}/healthz/nothing-here`);
    assert.equal(missing.status, 404, "server paths keep their own 404");
    assert.equal(((await missing.json()) as any).error.code, "ROUTE_NOT_FOUND");
  });

  test("HEAD on the event stream answers at once and registers nothing", async () => {
    const res = await fetch(`${t.url}/api/v1/stream`, {
      method: "HEAD",
      headers: { authorization: `Bearer ${t.as("alice@example.com").token}` },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
  });

  test("with the dev sign-in, only requests addressed to this machine are answered", async () => {
    assert.equal(await getWithHost(`${t.url}/healthz`, "jitflow.example.com"), 403);
    assert.equal(await getWithHost(`${t.url}/healthz`, new URL(t.url).host), 200);
    assert.equal(await getWithHost(`${t.url}/healthz`, "localhost"), 200);
  });

  test("the dev sign-in reads no more than 16 KiB", async () => {
    const res = await fetch(`${t.url}/auth/dev`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: `${"a".repeat(20_000)}@example.com` }),
    });
    assert.equal(res.status, 413);
  });

  test("an open stream ends when its sign-in does", async () => {
    const signIn = await fetch(`${t.url}/auth/dev`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "alice@example.com" }),
    });
    const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const { csrf } = (await signIn.json()) as { csrf: string };
    const stream = createEventStream(t.server.deps, { pingMs: 30 });
    const app = new Hono<ApiEnv>();
    app.use(async (c, next) => {
      c.set("actor", { email: "alice@example.com", name: "alice", role: "member" });
      await next();
    });
    app.get("/stream", (c) => stream.handle(c));
    const res = await app.request("/stream", { headers: { cookie } });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    try {
      const first = await reader.read();
      assert.match(new TextDecoder().decode(first.value), /event: ping/);
      const out = await fetch(`${t.url}/auth/logout`, {
        method: "POST",
        headers: { cookie, "x-csrf-token": csrf },
      });
      assert.equal(out.status, 204);
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
      }
    } finally {
      await stream.close();
    }
  });
});
