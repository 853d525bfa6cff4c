// docs/operations.md's nginx example, as written there, in front of a running server: TLS terminated, the
// API and /readyz through it, /metrics refused, and the live event stream passed through unbuffered (an
// event reaches the client while the stream stays open).

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { eventually, freePort, importJitflow, startTestServer, type TestServer } from "./support/harness.ts";
import { newDirectory, repositoryRoot } from "./support/package.ts";

const run = promisify(execFile);
const nginxFound = await run("nginx", ["-v"]).then(
  () => true,
  () => false,
);
const skip =
  !nginxFound && process.env.CI !== "true"
    ? "nginx is not installed (bash .ci/run installs nginx-light)"
    : undefined;

/** The nginx server block of docs/operations.md. */
function documentedServerBlock(): string {
  const operations = readFileSync(join(repositoryRoot, "docs/operations.md"), "utf8");
  const block = /```nginx\n([\s\S]*?)```/.exec(operations)?.[1];
  assert.ok(block, "docs/operations.md has an nginx example");
  return block;
}

let dir: string;
let t: TestServer;
let nginx: ReturnType<typeof spawn> | undefined;
let port: number;
let cert: string;

before(async () => {
  if (skip) return;
  dir = newDirectory("jitflow-proxy-");
  t = await startTestServer({
    config: `${importJitflow}
export default defineConfig({ flows: [{ name: "ask", durations: ["1h"], approvers: { users: ["bob@example.com"] } }] });
`,
  });
  const key = join(dir, "key.pem");
  cert = join(dir, "cert.pem");
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=access.example.com",
    "-addext",
    "subjectAltName=DNS:access.example.com",
    "-keyout",
    key,
    "-out",
    cert,
  ]);
  port = await freePort();
  const upstream = new URL(t.url).port;
  // Only what a test must change: where it listens, the certificate's files, and jitflow's port.
  const server = documentedServerBlock()
    .replace("listen 443 ssl;", `listen 127.0.0.1:${port} ssl;`)
    .replace("/etc/ssl/access.example.com.crt", cert)
    .replace("/etc/ssl/access.example.com.key", key)
    .replaceAll("http://127.0.0.1:8080", `http://127.0.0.1:${upstream}`);
  writeFileSync(
    join(dir, "nginx.conf"),
    `daemon off;
master_process off;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} warn;
events {}
http {
  access_log off;
  client_body_temp_path ${join(dir, "body")};
  proxy_temp_path ${join(dir, "proxy")};
${server}
}
`,
  );
  nginx = spawn("nginx", ["-p", dir, "-c", join(dir, "nginx.conf")], { stdio: "ignore" });
  await eventually(async () => ((await get("/healthz")).status === 200 ? true : undefined), "nginx to proxy");
});
after(async () => {
  nginx?.kill("SIGTERM");
  if (nginx) await once(nginx, "exit");
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** GET through nginx over TLS, trusting the test's certificate for access.example.com. */
function get(path: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        servername: "access.example.com",
        headers: { host: "access.example.com", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ca: readFileSync(cert),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

test("through the documented nginx: TLS, /readyz and the API; /metrics refused", { skip }, async () => {
  const ready = await get("/readyz");
  assert.equal(ready.status, 200);
  assert.deepEqual(JSON.parse(ready.body), { ready: true, database: "sqlite", schema: "006-grants" });
  const flows = await get("/api/v1/flows", t.token("alice@example.com"));
  assert.equal(flows.status, 200);
  assert.deepEqual(
    (JSON.parse(flows.body) as { items: { name: string }[] }).items.map((f) => f.name),
    ["ask"],
  );
  assert.equal((await get("/metrics", t.token("admin@example.com"))).status, 403);
});

// jitflow also sends X-Accel-Buffering: no, which nginx honours: this shows the documented block passes the
// stream through and keeps it open, not that its proxy_buffering line is needed.
test("the live event stream passes through: an event arrives while it stays open", {
  skip,
}, async () => {
  const events: string[] = [];
  const req = request({
    host: "127.0.0.1",
    port,
    path: "/api/v1/stream",
    servername: "access.example.com",
    headers: { host: "access.example.com", authorization: `Bearer ${t.token("alice@example.com")}` },
    ca: readFileSync(cert),
  });
  const response = new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
    req.on("response", resolve);
    req.on("error", reject);
  });
  req.end();
  const res = await response;
  try {
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
    let ended = false;
    res.on("end", () => {
      ended = true;
    });
    res.setEncoding("utf8").on("data", (chunk: string) => events.push(chunk));
    // The first ping says the stream is open; then a change Alice may see must arrive, through nginx.
    await eventually(
      async () => (events.join("").includes("event: ping") ? true : undefined),
      "the first ping",
    );
    const created = await t.as("alice@example.com").post("/api/v1/requests", { flow: "ask", duration: "1h" });
    assert.equal(created.status, 201);
    await eventually(
      async () => (events.join("").includes(created.body.id) ? true : undefined),
      "the request's event through the proxy",
    );
    assert.equal(ended, false, "the stream is still open");
  } finally {
    res.destroy();
    req.destroy();
  }
});
