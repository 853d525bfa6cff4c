// What a request can make a target do, through the server, against a real PostgreSQL and MariaDB: bound
// values the target offers or allow-lists and never ones it refuses (checked at submission and again when
// granted), jitflow's own login never granted or revoked, and role names the server would misread.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { type Connection, escapeId, escape as literal, type RowDataPacket } from "mysql2/promise";
import pg from "pg";
import { createToken } from "../src/store/tokens.ts";
import { postgresAdminUrl, postgresSkipReason } from "./support/databases.ts";
import { client, importJitflow, startTestServer, type TestServer, waitForState } from "./support/harness.ts";
import { mariadbAdmin, mariadbAdminUrl, mariadbSkipReason } from "./support/mariadb.ts";

const skipPostgres = await postgresSkipReason();
const skipMariadb = await mariadbSkipReason();
/** Generous: the suite also runs while other work keeps both cores busy. */
const settle = 30_000;

const autoFlow = `import { approve } from "jitflow";
export async function onRequest() {
  return approve({ reason: "automatic" });
}
`;

describe("bound values and jitflow's own login, through the server (PostgreSQL)", {
  skip: skipPostgres,
}, () => {
  const s = randomBytes(4).toString("hex");
  const name = (what: string) => `jf_g_${s}_${what}`;
  const roles = {
    read: name("read"),
    /** A login role: never offered (granting it is acting as that user), but on the allow-list. */
    support: name("support"),
    notHeld: name("not_held"),
    flip: name("flip"),
    viaSuperuser: name("via_super"),
  };
  const conn = name("conn");
  const people = { alice: name("alice"), bob: name("bob") };
  const password = randomBytes(12).toString("hex");
  let admin: pg.Client;
  let t: TestServer;
  const id = (n: string) => pg.escapeIdentifier(n);

  const members = async (of: string) =>
    (
      await admin.query<{ rolname: string }>(
        `select m.rolname from pg_auth_members am join pg_roles r on r.oid = am.roleid
           join pg_roles m on m.oid = am.member where r.rolname = $1 order by 1`,
        [of],
      )
    ).rows.map((r) => r.rolname);
  const adminOptions = async () =>
    (
      await admin.query<{ rolname: string }>(
        `select r.rolname from pg_auth_members am join pg_roles r on r.oid = am.roleid
           join pg_roles m on m.oid = am.member where m.rolname = $1 and am.admin_option order by 1`,
        [conn],
      )
    ).rows.map((r) => r.rolname);
  const count = async () =>
    Number((await t.as("admin@example.com").get("/api/v1/requests?limit=100")).body.items.length);

  before(async () => {
    admin = new pg.Client({ connectionString: postgresAdminUrl });
    await admin.connect();
    await admin.query(`
      create role ${id(conn)} login password '${password}';
      create role ${id(roles.read)} nologin;
      create role ${id(roles.support)} login;
      create role ${id(roles.notHeld)} nologin;
      create role ${id(roles.flip)} nologin;
      create role ${id(roles.viaSuperuser)} nologin;
      grant postgres to ${id(roles.viaSuperuser)};
      create role ${id(people.alice)} login;
      create role ${id(people.bob)} login;
    `);
    for (const r of [roles.read, roles.support, roles.flip, roles.viaSuperuser]) {
      await admin.query(`grant ${id(r)} to ${id(conn)} with admin option`);
    }
    const url = new URL(postgresAdminUrl);
    t = await startTestServer({
      config: `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  integrations: {
    db: {
      type: "postgres",
      url: env("TEST_PG_GRANTABLE_URL"),
      identities: { "alice@example.com": "${people.alice}", "bob@example.com": "${people.bob}", "carol@example.com": "${conn}" },
    },
    down: { type: "postgres", url: env("TEST_PG_DOWN_URL") },
  },
  targets: {
    any_role: {
      type: "postgres_role",
      integration: "db",
      fieldBindings: ["role"],
      // An allow-list widens what is offered, but never past what is refused outright.
      grantable: { role: ["${roles.support}", "pg_execute_server_program", "${conn}"] },
    },
    read: { type: "postgres_role", integration: "db", role: "${roles.read}" },
    unreachable: { type: "postgres_role", integration: "down", fieldBindings: ["role"] },
  },
  flows: [
    { name: "pick", targets: ["any_role"], durations: ["1h"], fields: [{ name: "role", type: "string", prefetch: true }], implementation: "./flows/auto.ts" },
    { name: "pick_approved", targets: ["any_role"], durations: ["1h"], fields: [{ name: "role", type: "string" }] },
    { name: "read", targets: ["read"], durations: ["1h"], implementation: "./flows/auto.ts" },
    { name: "pick_down", targets: ["unreachable"], durations: ["1h"], fields: [{ name: "role", type: "string" }] },
  ],
});
`,
      files: { "flows/auto.ts": autoFlow },
      env: {
        TEST_PG_GRANTABLE_URL: `postgres://${conn}:${password}@${url.hostname}:${url.port || 5432}/postgres`,
        TEST_PG_DOWN_URL: `postgres://${conn}:${password}@127.0.0.1:1/postgres`,
      },
    });
  });
  after(async () => {
    await t?.close();
    for (const r of [...Object.values(roles), ...Object.values(people), conn]) {
      await admin.query(`drop role if exists ${id(r)}`);
    }
    await admin.end();
  });

  const ask = (who: string, flow: string, role: string) =>
    t.as(who).post("/api/v1/requests", { flow, duration: "1h", fields: { role } });

  test("a bound role is granted when the target offers it or its grantable list names it, and refused otherwise", async () => {
    const offered = await ask("alice@example.com", "pick", roles.read);
    assert.equal(offered.status, 201, JSON.stringify(offered.body));
    await waitForState(t.as("alice@example.com"), offered.body.id, ["active"], settle);
    assert.deepEqual(await members(roles.read), [conn, people.alice].sort());

    const listed = await ask("alice@example.com", "pick", roles.support);
    assert.equal(listed.status, 201, JSON.stringify(listed.body));
    await waitForState(t.as("alice@example.com"), listed.body.id, ["active"], settle);
    assert.ok((await members(roles.support)).includes(people.alice));

    const before = await count();
    const refused = await ask("alice@example.com", "pick", roles.notHeld);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, "FIELD_INVALID");
    assert.deepEqual(refused.body.error.details.fields[0].field, "role");
    assert.equal(
      refused.body.error.message,
      `field "role": "${roles.notHeld}" is not one target "any_role" hands out`,
    );
    assert.equal(await count(), before, "nothing was recorded");

    for (const requestId of [offered.body.id, listed.body.id]) {
      await t.as("alice@example.com").post(`/api/v1/requests/${requestId}/revoke`, {});
      await waitForState(t.as("alice@example.com"), requestId, ["ended"], settle);
    }
    assert.ok(!(await members(roles.read)).includes(people.alice));
  });

  test("superusers, the server's file and program roles and jitflow's own login are refused, allow-listed or not", async () => {
    const before = await count();
    const cases: [string, RegExp][] = [
      [
        "pg_execute_server_program",
        /never grants "pg_execute_server_program": .* reaches the database server's files or programs$/,
      ],
      [conn, new RegExp(`never grants "${conn}": ${conn} is jitflow's own login$`)],
      ["postgres", /never grants "postgres": postgres is a superuser$/],
      [
        roles.viaSuperuser,
        new RegExp(`${roles.viaSuperuser} is a member of postgres, which is a superuser$`),
      ],
    ];
    for (const [role, message] of cases) {
      const res = await ask("alice@example.com", "pick", role);
      assert.equal(res.status, 400, role);
      assert.equal(res.body.error.code, "FIELD_INVALID");
      assert.match(res.body.error.message, message);
    }
    assert.equal(await count(), before, "nothing was recorded");
    const held = await admin.query("select pg_has_role($1, 'pg_execute_server_program', 'MEMBER') as m", [
      people.alice,
    ]);
    assert.equal(held.rows[0].m, false);
  });

  test("checked again when granted: a role that became a superuser after the request is never granted", async () => {
    const res = await ask("alice@example.com", "pick_approved", roles.flip);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await admin.query(`alter role ${id(roles.flip)} superuser`);
    try {
      const approved = await t.as("admin@example.com").post(`/api/v1/requests/${res.body.id}/approve`, {});
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      const failed = await waitForState(t.as("alice@example.com"), res.body.id, ["failed"], settle);
      assert.match(failed.error, new RegExp(`never grants "${roles.flip}": ${roles.flip} is a superuser`));
      assert.ok(!(await members(roles.flip)).includes(people.alice));
    } finally {
      await admin.query(`alter role ${id(roles.flip)} nosuperuser`);
    }
  });

  test("jitflow's own login as a requester's identity fails the request; its ADMIN OPTION stays and others' revocations work", async () => {
    const heldBefore = await adminOptions();
    const bob = await t.as("bob@example.com").post("/api/v1/requests", { flow: "read", duration: "1h" });
    await waitForState(t.as("bob@example.com"), bob.body.id, ["active"], settle);

    // A member whose email's local part is the connector's login, and one mapped to it.
    const { token } = await createToken(
      t.server.deps.store.db,
      { user: `${conn}@example.com`, role: "member", name: "test", expiresAt: null },
      Date.now(),
    );
    for (const who of [client(t.url, token), t.as("carol@example.com")]) {
      const res = await who.post("/api/v1/requests", { flow: "read", duration: "1h" });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const failed = await waitForState(who, res.body.id, ["failed"], settle);
      assert.match(failed.error, new RegExp(`"${conn}" is jitflow's own database login`));
    }
    assert.deepEqual(await adminOptions(), heldBefore, "jitflow still holds its roles WITH ADMIN OPTION");

    await t.as("bob@example.com").post(`/api/v1/requests/${bob.body.id}/revoke`, {});
    await waitForState(t.as("bob@example.com"), bob.body.id, ["ended"], settle);
    assert.ok(!(await members(roles.read)).includes(people.bob), "bob's access was taken away");
  });

  test("a target that cannot be asked refuses the submission for now, and records nothing", async () => {
    const before = await count();
    const res = await ask("alice@example.com", "pick_down", roles.read);
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, "TARGET_UNAVAILABLE");
    assert.match(res.body.error.message, /could not check .* with target "unreachable": .*; try again$/);
    assert.equal(await count(), before);
  });
});

describe("role names MariaDB would misread, through the server", { skip: skipMariadb }, () => {
  const s = randomBytes(3).toString("hex");
  const conn = `jf_g${s}_conn`;
  const person = `jf_g${s}_alice`;
  const role = `jf_g${s}_role`;
  const password = randomBytes(12).toString("hex");
  let admin: Connection;
  let t: TestServer;
  const account = (user: string) => `${literal(user)}@'%'`;

  before(async () => {
    admin = await mariadbAdmin();
    for (const sql of [
      `create role ${escapeId(role)}`,
      ...[conn, person].map((u) => `create user ${account(u)} identified by ${literal(password)}`),
      `grant ${escapeId(role)} to ${account(conn)} with admin option`,
      ...["roles_mapping", "global_priv", "db", "tables_priv", "columns_priv"].map(
        (table) => `grant select on mysql.${table} to ${account(conn)}`,
      ),
    ]) {
      await admin.query(sql);
    }
    const url = new URL(mariadbAdminUrl);
    t = await startTestServer({
      config: `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  integrations: { maria: { type: "mysql", url: env("TEST_MARIA_GRANTABLE_URL"), identities: { "alice@example.com": "${person}" } } },
  targets: {
    any_role: {
      type: "mysql_role",
      integration: "maria",
      setDefaultRole: false,
      fieldBindings: ["role"],
      grantable: { role: ["mysql.user"] },
    },
  },
  flows: [{ name: "pick", targets: ["any_role"], durations: ["1h"], fields: [{ name: "role", type: "string" }], implementation: "./flows/auto.ts" }],
});
`,
      files: { "flows/auto.ts": autoFlow },
      env: {
        TEST_MARIA_GRANTABLE_URL: `mysql://${conn}:${password}@${url.hostname}:${url.port || 3306}`,
      },
    });
  });
  after(async () => {
    await t?.close();
    await admin.query(`drop role if exists ${escapeId(role)}`);
    for (const u of [conn, person]) await admin.query(`drop user if exists ${account(u)}`);
    await admin.end();
  });

  test("mysql.user is one role name: allow-listed, its grant fails for good instead of being retried for ever", async () => {
    const alice = t.as("alice@example.com");
    const res = await alice.post("/api/v1/requests", {
      flow: "pick",
      duration: "1h",
      fields: { role: "mysql.user" },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const failed = await waitForState(alice, res.body.id, ["failed"], settle);
    assert.match(failed.error, /Invalid role specification/);
    const [rows] = await admin.query<RowDataPacket[]>("select 1 from mysql.roles_mapping where User = ?", [
      person,
    ]);
    assert.equal(rows.length, 0);
  });

  test("names the server would read as another are refused at submission; an offered role is granted", async () => {
    const alice = t.as("alice@example.com");
    for (const [name, message] of [
      [`${role} `, "role must not start or end with a space"],
      ["none", "none is a reserved name, not a role"],
      ["mysql.db", `"mysql.db" is not one target "any_role" hands out`],
    ]) {
      const res = await alice.post("/api/v1/requests", {
        flow: "pick",
        duration: "1h",
        fields: { role: name },
      });
      assert.equal(res.status, 400, name);
      assert.equal(res.body.error.code, "FIELD_INVALID");
      assert.ok(res.body.error.message.includes(message as string), res.body.error.message);
    }
    const ok = await alice.post("/api/v1/requests", { flow: "pick", duration: "1h", fields: { role } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    await waitForState(alice, ok.body.id, ["active"], settle);
    await alice.post(`/api/v1/requests/${ok.body.id}/revoke`, {});
    await waitForState(alice, ok.body.id, ["ended"], settle);
  });
});
