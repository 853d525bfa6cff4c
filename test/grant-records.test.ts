// A grant is taken away as it was made: a config changed under live grants (a target removed, a binding
// added) never strands their revocation, and `jitflow check` and the server's start say which changed.
// Against a real PostgreSQL with the postgres_role connector.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";
import { pino } from "pino";
import { FakeClock } from "../src/lib/clock.ts";
import { createPostgresDatabase, postgresSkipReason, type TestDatabase } from "./support/databases.ts";
import { importJitflow, startTestServer, type TestServer, writeTree } from "./support/harness.ts";

const skip = await postgresSkipReason();
const tag = `jf${randomBytes(3).toString("hex")}`;
const password = randomBytes(12).toString("hex");
const roles = { read: `${tag}_read`, old: `${tag}_old` };
const login = `${tag}_conn`;
const alice = `${tag}_alice`;
const urlEnv = `GRANT_RECORDS_PG_${tag.toUpperCase()}`;
const id = (name: string) => pg.escapeIdentifier(name);
const mainTs = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

const flowModule = `import { approve } from "jitflow";
export async function onRequest() { return approve(); }
`;
const common = `
  users: { admins: ["admin@example.com"] },
  integrations: { pg: { type: "postgres", url: env("${urlEnv}") } },
`;
/** As the grants were made: two targets, each granting a fixed role. */
const asGranted = `${importJitflow}
export default defineConfig({${common}
  targets: {
    db_read: { type: "postgres_role", integration: "pg", role: "${roles.read}", identities: { "alice@example.com": "${alice}" } },
    db_old: { type: "postgres_role", integration: "pg", role: "${roles.old}", identities: { "alice@example.com": "${alice}" } },
  },
  flows: [{ name: "db", targets: ["db_read", "db_old"], durations: ["1h"], implementation: "./flows/db.ts" }],
});
`;
/** Changed under them: db_old removed, and db_read's role now bound to a request field. */
const afterChange = `${importJitflow}
export default defineConfig({${common}
  targets: {
    db_read: {
      type: "postgres_role", integration: "pg", fieldBindings: ["role"], grantable: { role: ["${roles.read}"] },
      identities: { "alice@example.com": "${alice}" },
    },
  },
  flows: [{
    name: "db", targets: ["db_read"], durations: ["1h"], implementation: "./flows/db.ts",
    fields: [{ name: "role", type: "string", allowedValues: ["${roles.read}"] }],
  }],
});
`;

describe("grants keep what they were made with", { skip }, () => {
  let database: TestDatabase;
  let admin: pg.Client;
  let t: TestServer | undefined;
  const clock = new FakeClock(Date.now());
  const logs: string[] = [];
  const logger = pino(
    { level: "warn" },
    new Writable({
      write(chunk, _enc, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  );

  before(async () => {
    database = await createPostgresDatabase();
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query(`
      create role ${id(roles.read)} nologin;
      create role ${id(roles.old)} nologin;
      create role ${id(login)} login password '${password}';
      grant ${id(roles.read)} to ${id(login)} with admin option;
      grant ${id(roles.old)} to ${id(login)} with admin option;
      create role ${id(alice)} login password '${password}';
    `);
    const url = new URL(database.url);
    url.username = login;
    url.password = password;
    process.env[urlEnv] = url.href;
  });
  after(async () => {
    await t?.close();
    await admin?.query(`drop role if exists ${id(alice)}`);
    await admin?.end();
    await database?.drop();
    const cleanup = new pg.Client({ connectionString: database.url.replace(/\/[^/]*$/, "/postgres") });
    await cleanup.connect();
    for (const role of [...Object.values(roles), login])
      await cleanup.query(`drop role if exists ${id(role)}`);
    await cleanup.end();
  });

  const holds = async (role: string) =>
    (
      await admin.query(
        "select 1 from pg_auth_members m join pg_roles r on r.oid = m.roleid join pg_roles u on u.oid = m.member where r.rolname = $1 and u.rolname = $2",
        [role, alice],
      )
    ).rowCount === 1;
  const start = (config: string) =>
    startTestServer({
      config,
      files: { "flows/db.ts": flowModule },
      database,
      clock,
      background: false,
      logger,
    });

  test("removed and re-bound targets: the live grants are revoked in PostgreSQL as they were granted", async () => {
    const first = await start(asGranted);
    t = first;
    const ids: Record<string, string> = {};
    for (const target of ["db_read", "db_old"]) {
      const res = await first
        .as("alice@example.com")
        .post("/api/v1/requests", { flow: "db", target, duration: "1h" });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids[target] = res.body.id;
    }
    await t.server.scheduler.runOnce();
    for (const target of ["db_read", "db_old"]) {
      assert.equal(
        (await t.as("alice@example.com").get(`/api/v1/requests/${ids[target]}`)).body.state,
        "active",
      );
    }
    assert.ok((await holds(roles.read)) && (await holds(roles.old)), "granted in PostgreSQL");
    await t.close();
    t = undefined;

    // The config changes under the live grants; check says so before the server starts.
    const dir = writeTree({ "changed.config.ts": afterChange, "flows/db.ts": flowModule });
    const check = await promisify(execFile)(
      process.execPath,
      [mainTs, "check", "--config", join(dir, "changed.config.ts"), "--database", database.url],
      { env: { ...process.env } },
    );
    assert.match(check.stdout, /^ok: /);
    assert.match(
      check.stderr,
      /warning: 1 live grant\(s\): target "db_old" is no longer in the config; they will be revoked where and as they were granted/,
    );
    assert.match(
      check.stderr,
      /warning: 1 live grant\(s\): target "db_read" has changed since they were granted/,
    );

    logs.length = 0;
    t = await start(afterChange);
    assert.ok(
      logs.some((l) => l.includes('target \\"db_old\\" is no longer in the config')),
      `the start warns: ${logs.join("")}`,
    );
    const asAdmin = t.as("admin@example.com");
    const revoked = await asAdmin.post(`/api/v1/requests/${ids.db_old}/revoke`, {});
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    await t.server.scheduler.runOnce();
    assert.equal((await asAdmin.get(`/api/v1/requests/${ids.db_old}`)).body.state, "ended");
    assert.equal(await holds(roles.old), false, "db_old's role is taken away although db_old is gone");

    clock.advance(3_600_000);
    await t.server.scheduler.runOnce();
    const expired = (await asAdmin.get(`/api/v1/requests/${ids.db_read}`)).body;
    assert.equal(expired.state, "ended", JSON.stringify(expired));
    assert.equal(
      await holds(roles.read),
      false,
      "db_read's role is taken away although it is now bound to a field",
    );

    // Nothing live is left to warn about.
    const again = await promisify(execFile)(
      process.execPath,
      [mainTs, "check", "--config", join(dir, "changed.config.ts"), "--database", database.url],
      { env: { ...process.env } },
    );
    assert.doesNotMatch(again.stderr, /warning/);
    rmSync(dir, { recursive: true, force: true });
  });
});
