// Temporary logins through the server (a real PostgreSQL): created with an expiry of their own, read
// once by their requester only, moved by an extension, dropped with their sessions at the end.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { reconcileTarget } from "../src/engine/drift.ts";
import { postgresAdminUrl, postgresSkipReason } from "./support/databases.ts";
import {
  eventually,
  importJitflow,
  startTestServer,
  type TestServer,
  waitForState,
} from "./support/harness.ts";
import { runCli } from "./support/server-process.ts";

const skip = await postgresSkipReason();

describe("temporary PostgreSQL logins through the server", { skip }, () => {
  const suffix = randomBytes(4).toString("hex");
  const role = `jf_cred_role_${suffix}`;
  const connector = `jf_cred_connector_${suffix}`;
  const connectorPassword = randomBytes(12).toString("hex");
  let admin: pg.Client;
  let t: TestServer;

  const login = async (name: string) =>
    (
      await admin.query<{ rolname: string; rolvaliduntil: Date | null }>(
        "select rolname, rolvaliduntil from pg_roles where rolname = $1",
        [name],
      )
    ).rows[0];

  before(async () => {
    admin = new pg.Client({ connectionString: postgresAdminUrl });
    await admin.connect();
    await admin.query(`create role ${role} nologin`);
    await admin.query(`create role ${connector} login createrole password '${connectorPassword}'`);
    await admin.query(`grant ${role} to ${connector} with admin option`);
    const url = new URL(postgresAdminUrl);
    t = await startTestServer({
      config: `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  credentials: { encryptionKey: env("TEST_CREDENTIALS_KEY") },
  integrations: { proddb: { type: "postgres", url: env("TEST_PG_URL") } },
  targets: {
    temp: { type: "postgres_role", label: "Temporary login", integration: "proddb", role: "${role}", createUser: true, userPrefix: "jf_${suffix}_", drift: { mode: "revoke" } },
  },
  flows: [{ name: "db", targets: ["temp"], durations: ["1h", "2h"], implementation: "./flows/db.ts" }],
});
`,
      files: {
        "flows/db.ts": `import { approve } from "jitflow";
export async function onRequest() {
  return approve({ reason: "automatic" });
}
`,
      },
      env: {
        TEST_CREDENTIALS_KEY: randomBytes(32).toString("base64"),
        TEST_PG_URL: `postgres://${connector}:${connectorPassword}@${url.hostname}:${url.port || 5432}/postgres`,
      },
    });
  });
  after(async () => {
    await t?.close();
    const { rows } = await admin.query<{ rolname: string }>(
      "select rolname from pg_roles where rolname like $1",
      [`jf_${suffix}_%`],
    );
    for (const r of rows) await admin.query(`drop role if exists "${r.rolname}"`);
    await admin.query(`drop role if exists ${connector}`);
    await admin.query(`drop role if exists ${role}`);
    await admin.end();
  });

  test("the requester reads the login, connects with it, it expires on its own, and is dropped at the end", async () => {
    const alice = t.as("alice@example.com");
    const created = await alice.post("/api/v1/requests", { flow: "db", duration: "1h" });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;
    const active = await waitForState(alice, id, ["active"]);

    // Only the requester: not another member, not even an admin.
    for (const other of ["bob@example.com", "admin@example.com"]) {
      const refused = await t.as(other).get(`/api/v1/requests/${id}/credentials`);
      assert.equal(refused.status, 404);
      assert.equal(refused.body.error.code, "CREDENTIALS_NOT_FOUND");
    }
    const read = await alice.raw(`/api/v1/requests/${id}/credentials`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    assert.equal(read.status, 200);
    const credentials = read.body;
    assert.match(credentials.username, new RegExp(`^jf_${suffix}_alice_`));
    assert.ok(credentials.password.length >= 24);
    assert.equal(credentials.expiresAt, active.expiresAt);

    // The password is sealed at rest: the database never holds it in the clear.
    const sealed = await t.server.deps.store.db.selectFrom("grant_credentials").selectAll().execute();
    assert.equal(sealed.length, 1);
    assert.ok(!sealed[0]?.sealed.includes(credentials.password));

    // The login works, has the role, and expires at the grant's end as a second lock.
    const url = new URL(postgresAdminUrl);
    const session = new pg.Client({
      host: url.hostname,
      port: Number(url.port || 5432),
      database: "postgres",
      user: credentials.username,
      password: credentials.password,
    });
    await session.connect();
    session.on("error", () => {});
    const { rows } = await session.query("select pg_has_role(current_user, $1, 'member') as member", [role]);
    assert.equal(rows[0].member, true);
    assert.equal((await login(credentials.username))?.rolvaliduntil?.toISOString(), active.expiresAt);

    // The CLI shows the same login; each read is in the audit log.
    const cli = await runCli(["credentials", id], { JITFLOW_URL: t.url, JITFLOW_TOKEN: alice.token });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`password +${credentials.password}`));
    const events = await t.as("admin@example.com").get(`/api/v1/requests/${id}/events`);
    assert.equal(
      events.body.items.filter((e: { type: string }) => e.type === "grant.credentials_read").length,
      2,
    );
    assert.ok(
      !JSON.stringify(events.body).includes(credentials.password),
      "the audit log never holds the password",
    );

    // An extension moves the login's own expiry.
    const extended = await alice.post(`/api/v1/requests/${id}/extend`, { duration: "30m" });
    assert.equal(extended.status, 200, JSON.stringify(extended.body));
    await eventually(
      async () =>
        (await login(credentials.username))?.rolvaliduntil?.toISOString() === extended.body.expiresAt ||
        undefined,
      "VALID UNTIL to follow the extension",
    );

    // Revoked: the open session is cut, the login dropped, the sealed password deleted.
    const ended = new Promise<void>((resolve) => session.once("end", () => resolve()));
    await alice.post(`/api/v1/requests/${id}/revoke`, {});
    await waitForState(alice, id, ["ended"]);
    await ended;
    assert.equal(await login(credentials.username), undefined);
    assert.equal(
      (await t.server.deps.store.db.selectFrom("grant_credentials").selectAll().execute()).length,
      0,
    );
    const gone = await alice.get(`/api/v1/requests/${id}/credentials`);
    assert.equal(gone.status, 404);
  });

  test("two requests of one person are two logins, and ending one leaves the other", async () => {
    const alice = t.as("alice@example.com");
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await alice.post("/api/v1/requests", { flow: "db", duration: "1h" });
      assert.equal(res.status, 201);
      assert.deepEqual(res.body.overlaps, [], "a login per request is not an overlap");
      ids.push(res.body.id);
      await waitForState(alice, res.body.id, ["active"]);
    }
    const names = [];
    for (const id of ids) names.push((await alice.get(`/api/v1/requests/${id}/credentials`)).body.username);
    assert.notEqual(names[0], names[1]);
    await alice.post(`/api/v1/requests/${ids[0]}/revoke`, {});
    await waitForState(alice, ids[0] as string, ["ended"]);
    assert.equal(await login(names[0]), undefined);
    assert.ok(await login(names[1]));
    await alice.post(`/api/v1/requests/${ids[1]}/revoke`, {});
    await waitForState(alice, ids[1] as string, ["ended"]);
    assert.equal(await login(names[1]), undefined);
  });

  test("drift in revoke mode drops a temporary login someone made by hand, and nothing else", async () => {
    // A first listing only reports; this one makes the target's scope known.
    await reconcileTarget(t.server.deps, "temp");
    const stray = `jf_${suffix}_mallory_0badc0de`;
    const unrelated = `jf_other_${suffix}`;
    await admin.query(`create role ${stray} login in role ${role}`);
    await admin.query(`create role ${unrelated} login in role ${role}`);
    try {
      const report = await reconcileTarget(t.server.deps, "temp");
      assert.deepEqual(
        report.unmanaged.map((e) => e.identity),
        [stray],
      );
      assert.equal(await login(stray), undefined, "the stray login is gone");
      assert.ok(await login(unrelated), "a member without the target's prefix is not the target's to drop");
      const audit = await t.as("admin@example.com").get("/api/v1/audit?limit=200");
      const event = audit.body.items.find((e: { type: string }) => e.type === "drift.unmanaged");
      assert.equal(event?.data.identity, stray);
      assert.equal(event?.data.revoked, true);
    } finally {
      await admin.query(`drop role if exists ${stray}`);
      await admin.query(`drop role if exists ${unrelated}`);
    }
  });
});
