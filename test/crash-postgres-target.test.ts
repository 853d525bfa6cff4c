// Kill -9 the server between a real PostgreSQL GRANT and the row update that records it: after a
// restart the grant is recorded and the role is revoked on schedule all the same.
//
// The connector reaches PostgreSQL through a proxy that forwards everything, but once it sees a
// GRANT go by it stops passing PostgreSQL's answers back: the GRANT is done (and visible to
// everyone else), the server is still waiting to hear so, and that is when it is killed.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { createServer, type Server, Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import {
  createSqliteDatabase,
  postgresAdminUrl,
  postgresSkipReason,
  type TestDatabase,
} from "./support/databases.ts";
import { client, eventually, importJitflow, writeTree } from "./support/harness.ts";
import { createTokenWithCli, type ServerProcess, startServerProcess } from "./support/server-process.ts";

const skip = await postgresSkipReason();

/** A TCP proxy to PostgreSQL that, when armed, stops answering a connection after it sends a GRANT. */
async function startHoldingProxy(target: { host: string; port: number }) {
  let armed = false;
  const held: Socket[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client);
    sockets.add(upstream);
    let holding = false;
    upstream.connect(target.port, target.host);
    client.on("data", (chunk: Buffer) => {
      if (armed && /\bGRANT\b/i.test(chunk.toString("latin1"))) {
        holding = true;
        held.push(client);
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!holding) client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    port: address.port,
    arm: () => {
      armed = true;
    },
    disarm: () => {
      armed = false;
    },
    held: () => held.length,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("crash between a PostgreSQL GRANT and its record", { skip }, () => {
  const suffix = randomBytes(4).toString("hex");
  const role = `jf_crash_role_${suffix}`;
  const user = `jf_crash_alice_${suffix}`;
  const connector = `jf_crash_connector_${suffix}`;
  const connectorPassword = randomBytes(12).toString("hex");
  let admin: pg.Client;
  let proxy: Awaited<ReturnType<typeof startHoldingProxy>>;
  let db: TestDatabase;
  let dir: string;
  const servers: ServerProcess[] = [];

  const isMember = async () => {
    const { rows } = await admin.query(
      `select 1 from pg_auth_members m join pg_roles r on r.oid = m.roleid join pg_roles u on u.oid = m.member
       where r.rolname = $1 and u.rolname = $2`,
      [role, user],
    );
    return rows.length > 0;
  };

  before(async () => {
    admin = new pg.Client({ connectionString: postgresAdminUrl });
    await admin.connect();
    await admin.query(`create role ${role} nologin`);
    await admin.query(`create role ${user} login`);
    // The connector's own login: only what docs/targets.md says it needs.
    await admin.query(`create role ${connector} login createrole password '${connectorPassword}'`);
    await admin.query(`grant ${role} to ${connector} with admin option`);
    const url = new URL(postgresAdminUrl);
    proxy = await startHoldingProxy({ host: url.hostname, port: Number(url.port || 5432) });
    db = await createSqliteDatabase();
    dir = writeTree({
      "jitflow.config.ts": `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  integrations: { proddb: { type: "postgres", url: env("TEST_PG_URL"), maxConnections: 2 } },
  targets: { ro: { type: "postgres_role", label: "Read-only", integration: "proddb", role: "${role}" } },
  flows: [{ name: "db", targets: ["ro"], durations: ["6s"], implementation: "./flows/db.ts" }],
  scheduler: { sweepIntervalMs: 200, retryBaseMs: 100, retryMaxMs: 1000, targetTimeoutMs: 60000, leaseMs: 90000 },
});
`,
      "flows/db.ts": `import { approve } from "jitflow";
export async function onRequest() {
  return approve({ reason: "automatic" });
}
export async function getIdentity() {
  return "${user}";
}
`,
    });
  });
  after(async () => {
    for (const s of servers) await s.kill();
    await proxy?.close();
    await admin?.query(`drop role if exists ${user}`).catch(() => {});
    await admin?.query(`drop role if exists ${role}`).catch(() => {});
    await admin?.query(`drop role if exists ${connector}`).catch(() => {});
    await admin?.end();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("kill -9 after the GRANT, before the row says active: revoked on schedule after restart", {
    timeout: 120_000,
  }, async () => {
    const env = {
      JITFLOW_DATABASE_URL: db.url,
      TEST_PG_URL: `postgres://${connector}:${connectorPassword}@127.0.0.1:${proxy.port}/postgres`,
    };
    const token = await createTokenWithCli(db.url, "admin@example.com", "admin");
    const start = async () => {
      const server = await startServerProcess({ config: join(dir, "jitflow.config.ts"), env });
      servers.push(server);
      return client(server.url, token);
    };

    let api = await start();
    proxy.arm();
    const created = await api.post("/api/v1/requests", {
      flow: "db",
      duration: "6s",
      requester: "alice@example.com",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;
    // The GRANT reached PostgreSQL and took effect; its answer never reaches the server.
    await eventually(
      async () => (proxy.held() > 0 && (await isMember())) || undefined,
      "the GRANT to take effect",
      30_000,
    );
    const before = await api.get(`/api/v1/requests/${id}`);
    assert.equal(before.body.state, "escalating", "the row does not know yet");
    await servers[0]?.kill();
    proxy.disarm();

    // A new server finds the row escalating, grants again (idempotent) and records it.
    api = await start();
    const active = await eventually(
      async () => {
        const r = await api.get(`/api/v1/requests/${id}`);
        return r.body.state === "active" ? r.body : undefined;
      },
      "the grant to be recorded after the restart",
      30_000,
    );
    assert.ok(await isMember());
    const ended = await eventually(
      async () => {
        const r = await api.get(`/api/v1/requests/${id}`);
        return r.body.state === "ended" ? r.body : undefined;
      },
      "the grant to end on schedule",
      30_000,
    );
    assert.equal(ended.endedReason, "scheduled");
    assert.equal(await isMember(), false, "the role was revoked");
    assert.ok(Date.parse(ended.expiresAt) >= Date.parse(active.activatedAt ?? active.createdAt));
    const events = await api.get(`/api/v1/requests/${id}/events`);
    const types = events.body.items.map((e: { type: string }) => e.type);
    assert.deepEqual(
      types.filter((t: string) => t.startsWith("grant.")),
      ["grant.escalating", "grant.active", "grant.deescalating", "grant.ended"],
    );
  });
});
