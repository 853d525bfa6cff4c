// postgres_role against a real PostgreSQL: the target contract in both modes, temporary logins, least privilege.

import assert from "node:assert/strict";
import { createHash, createHmac, pbkdf2Sync, randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { type PostgresRoleSettings, postgresRoleTarget } from "../src/targets/postgres-role.ts";
import { identityFromEmail, temporaryLoginName } from "../src/targets/sql-common.ts";
import {
  OwnIdentityError,
  PermanentTargetError,
  type TargetCall,
  type TargetConnector,
} from "../src/targets/target.ts";
import {
  createPostgresDatabase,
  postgresAdminUrl,
  postgresSkipReason,
  type TestDatabase,
} from "./support/databases.ts";
import { type ContractPerson, fakeEvent, targetContract } from "./support/target-contract.ts";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.ts";

const skip = await postgresSkipReason();

const server = new URL(postgresAdminUrl);
const serverHost = server.hostname || "127.0.0.1";
const serverPort = Number(server.port || 5432);
const tag = `jf${randomBytes(3).toString("hex")}`;
const password = randomBytes(12).toString("hex");
const role = `${tag}_role`;
const prefix = `${tag}t_`;
/** Connector logins with exactly what docs/targets.md asks for each mode, and one with nothing. */
const logins = { normal: `${tag}_conn`, createUser: `${tag}_conn_cu`, weak: `${tag}_weak` };
const people = { alice: `${tag}_alice`, bob: `${tag}_bob` };
/** Roles never granted on request, each for its own reason, and one that is harmless but not the connector's to grant. */
const risky = {
  superuser: `${tag}_super`,
  bypass: `${tag}_bypass`,
  creator: `${tag}_creator`,
  files: `${tag}_files`,
  viaSuperuser: `${tag}_via_super`,
  viaJitflow: `${tag}_via_conn`,
  notHeld: `${tag}_not_held`,
};
const odd = {
  role: `${tag} r"; drop role ${tag}_canary; --`,
  user: `${tag} u'; drop role ${tag}_canary; --`,
};

let db: TestDatabase;
let admin: pg.Client;
let database: string;
const connectors: TargetConnector<PostgresRoleSettings>[] = [];
const proxies: TcpProxy[] = [];
const id = (name: string) => pg.escapeIdentifier(name);

/** Sets up the database, the role and the logins once for the whole file. */
let ready: Promise<void> | undefined;
function setUp(): Promise<void> {
  ready ??= (async () => {
    db = await createPostgresDatabase();
    database = new URL(db.url).pathname.slice(1);
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`
      create role ${id(role)} nologin;
      create table granted (a int);
      grant select on granted to ${id(role)};
      grant create on schema public to ${id(role)};
      create role ${id(logins.normal)} login password '${password}';
      grant ${id(role)} to ${id(logins.normal)} with admin option;
      create role ${id(logins.createUser)} login password '${password}' createrole;
      grant ${id(role)} to ${id(logins.createUser)} with admin option;
      create role ${id(logins.weak)} login password '${password}';
      create role ${id(people.alice)} login password '${password}';
      create role ${id(people.bob)} login password '${password}';
      create role ${id(`${tag}_canary`)} nologin;
      create role ${id(odd.role)} nologin;
      create role ${id(odd.user)} login password '${password}';
      grant ${id(odd.role)} to ${id(logins.normal)} with admin option;
      grant ${id(odd.role)} to ${id(logins.createUser)} with admin option;
    `);
    // Roles a request may name when \`role\` is bound: what each is or reaches decides whether it is granted.
    await admin.query(`
      create role ${id(risky.superuser)} nologin superuser;
      create role ${id(risky.bypass)} nologin bypassrls;
      create role ${id(risky.creator)} nologin createrole;
      create role ${id(risky.files)} nologin;
      grant pg_execute_server_program to ${id(risky.files)};
      create role ${id(risky.viaSuperuser)} nologin;
      grant ${id(risky.superuser)} to ${id(risky.viaSuperuser)};
      create role ${id(risky.viaJitflow)} nologin;
      grant ${id(logins.normal)} to ${id(risky.viaJitflow)};
      create role ${id(risky.notHeld)} nologin;
    `);
  })();
  return ready;
}

after(async () => {
  if (!ready) return;
  for (const c of connectors) await c.close?.();
  for (const p of proxies) await p.close();
  await admin?.end();
  await db?.drop();
  // Temporary logins a failed test left behind, then everything this file created.
  const cleanup = new pg.Client({ connectionString: db.url.replace(/\/[^/]*$/, "/postgres") });
  await cleanup.connect();
  const { rows } = await cleanup.query<{ rolname: string }>(
    "select rolname from pg_roles where starts_with(rolname, $1) order by rolname = $2",
    [tag, role],
  );
  for (const { rolname } of rows) await cleanup.query(`drop role if exists ${id(rolname)}`);
  await cleanup.end();
});

/** A connector logging in as `login`, directly or through `proxy`. */
function connectorAs(login: string, proxy?: TcpProxy): TargetConnector<PostgresRoleSettings> {
  const env = `JITFLOW_TEST_PG_${login.toUpperCase()}_${randomBytes(3).toString("hex")}`;
  process.env[env] =
    `postgres://${login}:${password}@${proxy ? `127.0.0.1:${proxy.port}` : `${serverHost}:${serverPort}`}/${database}`;
  const integration = postgresRoleTarget.integration?.settings.parse({
    type: "postgres",
    url: { env },
    maxConnections: 2,
  });
  assert.ok(integration);
  const connector = postgresRoleTarget.create(
    { name: "pg", type: "postgres_role", label: "PostgreSQL", settings: {} },
    postgresRoleTarget.settings.parse({ role }),
    integration,
  );
  connectors.push(connector);
  return connector;
}

function settingsOf(input: Record<string, unknown>): PostgresRoleSettings {
  return postgresRoleTarget.settings.parse({ role, ...input });
}

function callOf(
  identity: string,
  settings: PostgresRoleSettings,
  options: { requestId?: string; expiresAt?: Date | null; signal?: AbortSignal } = {},
): TargetCall<PostgresRoleSettings> {
  const evt = fakeEvent(`${identity}@example.com`);
  if (options.requestId) evt.request.id = options.requestId;
  return {
    evt,
    module: undefined,
    signal: options.signal ?? AbortSignal.timeout(20_000),
    identity,
    settings,
    expiresAt: options.expiresAt === undefined ? new Date(Date.now() + 3600_000) : options.expiresAt,
  };
}

/** Direct members of `of`, read as the superuser. */
async function members(of: string): Promise<string[]> {
  const { rows } = await admin.query<{ rolname: string }>(
    `select distinct m.rolname from pg_auth_members am
       join pg_roles r on r.oid = am.roleid join pg_roles m on m.oid = am.member
      where r.rolname = $1 order by 1`,
    [of],
  );
  return rows.map((r) => r.rolname);
}

async function roleRow(name: string) {
  const { rows } = await admin.query<{ rolcanlogin: boolean; until: number | null; rolpassword: string }>(
    `select rolcanlogin, rolpassword, extract(epoch from rolvaliduntil)::float8 * 1000 as until
       from pg_authid where rolname = $1`,
    [name],
  );
  const row = rows[0];
  // VALID UNTIL in milliseconds (Infinity for 'infinity'), so it compares with a Date's getTime().
  return row && { ...row, until: row.until === null ? null : Math.round(row.until) };
}

/**
 * True when `password` is the one the stored SCRAM verifier was made from. The test server trusts
 * local connections, so logging in does not prove the password; this does.
 */
function verifies(verifier: string, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier);
  assert.ok(m, `a SCRAM-SHA-256 verifier is stored, not ${verifier.slice(0, 14)}…`);
  const salted = pbkdf2Sync(password, Buffer.from(m[2] as string, "base64"), Number(m[1]), 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  return createHash("sha256").update(clientKey).digest("base64") === m[3];
}

describe("postgres_role", { skip }, () => {
  targetContract("postgres_role", async () => {
    await setUp();
    const proxy = await startTcpProxy(serverPort, serverHost);
    proxies.push(proxy);
    const connector = connectorAs(logins.normal, proxy);
    const person = (name: string): ContractPerson => {
      // identityFor maps "jfxxxxxx.alice@…" to the user "jfxxxxxx_alice".
      const email = `${name.replace("_", ".")}@example.com`;
      const identity = connector.identityFor?.(email, settingsOf({})) ?? email;
      assert.equal(identity, name);
      return { email, identity, canonical: name };
    };
    return {
      connector,
      settings: settingsOf({}),
      people: [person(people.alice), person(people.bob)],
      // Every member but the connector's own login, which holds the role to administer it.
      holders: async () => (await members(role)).filter((m) => m !== logins.normal),
      makeUnavailable: () => proxy.shut(),
      restore: () => proxy.reopen(),
      unknownSettings: settingsOf({ role: `${tag}_no_such_role` }),
      close: async () => {},
    };
  });

  targetContract("postgres_role (createUser)", async () => {
    await setUp();
    const proxy = await startTcpProxy(serverPort, serverHost);
    proxies.push(proxy);
    const connector = connectorAs(logins.createUser, proxy);
    const settings = settingsOf({ createUser: true, userPrefix: prefix });
    // The contract's request id ends in …000000000001: its last 8 hex digits name the login.
    const person = (email: string, identity: string): ContractPerson => ({
      email,
      identity,
      canonical: `${prefix}${identity}_00000001`,
    });
    return {
      connector,
      settings,
      people: [person("Carol.Jones@example.com", "carol_jones"), person("dan@example.com", "dan")],
      holders: async () => (await members(role)).filter((m) => m.startsWith(prefix)),
      makeUnavailable: () => proxy.shut(),
      restore: () => proxy.reopen(),
      unknownSettings: settingsOf({ createUser: true, userPrefix: prefix, role: `${tag}_no_such_role` }),
      close: async () => {},
    };
  });

  describe("temporary logins (createUser)", () => {
    let connector: TargetConnector<PostgresRoleSettings>;
    let settings: PostgresRoleSettings;
    before(async () => {
      await setUp();
      connector = connectorAs(logins.createUser);
      settings = settingsOf({ createUser: true, userPrefix: prefix });
    });

    test("each request gets a login named after the person and the request", async () => {
      assert.equal(connector.perRequest?.(settings), true);
      const requestId = randomUUID();
      const result = await connector.escalate(callOf("Erin.Y", settings, { requestId }));
      assert.equal(result?.identity, `${prefix}erin_y_${requestId.slice(-8)}`);
      await connector.deescalate(callOf(result?.identity ?? "", settings, { requestId }));
    });

    test("the login can connect with the delivered password, has the role, and expires at expiresAt", async () => {
      const expiresAt = new Date(Date.now() + 2 * 3600_000);
      const requestId = randomUUID();
      const result = await connector.escalate(callOf("erin", settings, { requestId, expiresAt }));
      const creds = result?.credentials;
      assert.ok(creds && result?.identity);
      assert.equal(creds.username, result.identity);
      assert.deepEqual([creds.host, creds.port, creds.database], [serverHost, serverPort, database]);
      assert.ok(creds.password.length >= 32);

      const row = await roleRow(creds.username);
      assert.equal(row?.rolcanlogin, true);
      assert.equal(row?.until, expiresAt.getTime());
      assert.ok(verifies(row?.rolpassword ?? "", creds.password), "the stored password is the delivered one");
      assert.ok(!verifies(row?.rolpassword ?? "", `${creds.password}x`));

      const session = new pg.Client({ ...creds, user: creds.username });
      await session.connect();
      try {
        const { rows } = await session.query("select current_user as me, count(*)::int as n from granted");
        assert.deepEqual(rows, [{ me: creds.username, n: 0 }]);
        await session.query(`set role ${id(role)}`);
      } finally {
        await session.end();
      }
      const listed = await connector.list?.({
        module: undefined,
        signal: AbortSignal.timeout(20_000),
        settings,
      });
      assert.deepEqual(listed, [creds.username]);
      await connector.deescalate(callOf(creds.username, settings, { requestId }));
    });

    test("setExpiry moves VALID UNTIL, and escalating again sets a new password", async () => {
      const requestId = randomUUID();
      const first = await connector.escalate(callOf("fay", settings, { requestId }));
      const login = first?.identity ?? "";
      const later = new Date(Date.now() + 5 * 3600_000);
      await connector.setExpiry?.(callOf(login, settings, { requestId, expiresAt: later }));
      assert.equal((await roleRow(login))?.until, later.getTime());

      await connector.setExpiry?.(callOf(login, settings, { requestId, expiresAt: null }));
      assert.equal((await roleRow(login))?.until, Number.POSITIVE_INFINITY);

      // The first answer was lost (a crash): the retry must not leave a password nobody has.
      const again = await connector.escalate(callOf("fay", settings, { requestId, expiresAt: later }));
      assert.equal(again?.identity, login);
      assert.notEqual(again?.credentials?.password, first?.credentials?.password);
      const row = await roleRow(login);
      assert.ok(verifies(row?.rolpassword ?? "", again?.credentials?.password ?? ""));
      assert.ok(!verifies(row?.rolpassword ?? "", first?.credentials?.password ?? ""));
      assert.equal(row?.until, later.getTime());
      assert.deepEqual(await members(role).then((m) => m.filter((x) => x === login)), [login]);
      await connector.deescalate(callOf(login, settings, { requestId }));
    });

    test("deescalate ends the login's open session, keeps what it made (owned by the role), and drops it", async () => {
      const requestId = randomUUID();
      const result = await connector.escalate(callOf("gus", settings, { requestId }));
      const creds = result?.credentials;
      assert.ok(creds);
      const session = new pg.Client({ ...creds, user: creds.username });
      const ended = new Promise<void>((resolve) => session.once("end", resolve));
      const errors: Error[] = [];
      session.on("error", (err) => errors.push(err));
      await session.connect();
      await session.query("create table made_by_gus (a int)");

      await connector.deescalate(callOf(creds.username, settings, { requestId }));
      await ended;
      await assert.rejects(() => session.query("select 1"));
      assert.match(errors[0]?.message ?? "", /terminat/);
      assert.equal(await roleRow(creds.username), undefined, "the login is dropped");
      const { rows } = await admin.query("select tableowner from pg_tables where tablename = 'made_by_gus'");
      assert.deepEqual(rows, [{ tableowner: role }]);

      await connector.deescalate(callOf(creds.username, settings, { requestId }));
    });

    test("objects in another database block the drop: retried, and the error names the database", async () => {
      const other = await createPostgresDatabase();
      try {
        const otherAdmin = new pg.Client({ connectionString: other.url });
        await otherAdmin.connect();
        await otherAdmin.query(`grant create on schema public to ${id(role)}`);
        const requestId = randomUUID();
        const creds = (await connector.escalate(callOf("kim", settings, { requestId })))?.credentials;
        assert.ok(creds);
        const session = new pg.Client({
          ...creds,
          user: creds.username,
          database: new URL(other.url).pathname.slice(1),
        });
        session.on("error", () => {});
        await session.connect();
        await session.query("create table made_elsewhere (a int)");
        await session.end();

        await assert.rejects(
          () => connector.deescalate(callOf(creds.username, settings, { requestId })),
          (err: unknown) =>
            err instanceof Error &&
            !(err instanceof PermanentTargetError) &&
            err.message.includes(`database ${new URL(other.url).pathname.slice(1)}`),
        );
        assert.equal(
          (await roleRow(creds.username))?.rolcanlogin,
          false,
          "it can no longer log in meanwhile",
        );
        await otherAdmin.query("drop table made_elsewhere");
        await otherAdmin.end();
        await connector.deescalate(callOf(creds.username, settings, { requestId }));
        assert.equal(await roleRow(creds.username), undefined);
      } finally {
        await other.drop();
      }
    });

    test("deescalate with the plain identity (a crash before the login was recorded) finds the login", async () => {
      const requestId = randomUUID();
      const result = await connector.escalate(callOf("hal", settings, { requestId }));
      assert.ok(await roleRow(result?.identity ?? ""));
      await connector.deescalate(callOf("hal", settings, { requestId }));
      assert.equal(await roleRow(result?.identity ?? ""), undefined);
    });

    test("list shows only the temporary logins, not other members of the role", async () => {
      await admin.query(`grant ${id(role)} to ${id(people.alice)}`);
      try {
        const requestId = randomUUID();
        const result = await connector.escalate(callOf("ivy", settings, { requestId }));
        const listed = await connector.list?.({
          module: undefined,
          signal: AbortSignal.timeout(20_000),
          settings,
        });
        assert.deepEqual(listed, [result?.identity]);
        await connector.deescalate(callOf("ivy", settings, { requestId }));
      } finally {
        await admin.query(`revoke ${id(role)} from ${id(people.alice)}`);
      }
    });

    test("a connector login without CREATEROLE is refused for good", async () => {
      const weak = connectorAs(logins.normal);
      await assert.rejects(
        () => weak.escalate(callOf("jay", settings, { requestId: randomUUID() })),
        (err: unknown) => err instanceof PermanentTargetError && /permission denied/.test(err.message),
      );
    });

    test("names that look like SQL are quoted, not run", async () => {
      const oddSettings = settingsOf({ role: odd.role, createUser: true, userPrefix: prefix });
      const requestId = randomUUID();
      const result = await connector.escalate(
        callOf(`x"; drop role ${tag}_canary; --`, oddSettings, { requestId }),
      );
      assert.equal(result?.identity, `${prefix}x___drop_role_${tag}_canary_____${requestId.slice(-8)}`);
      assert.deepEqual(await members(odd.role).then((m) => m.filter((x) => x.startsWith(prefix))), [
        result?.identity,
      ]);
      await connector.deescalate(callOf(result?.identity ?? "", oddSettings, { requestId }));
      assert.equal(await roleRow(result?.identity ?? ""), undefined);
      assert.ok(await roleRow(`${tag}_canary`), "nothing was injected");
    });
  });

  describe("granting an existing role (normal mode)", () => {
    let connector: TargetConnector<PostgresRoleSettings>;
    before(async () => {
      await setUp();
      connector = connectorAs(logins.normal);
    });

    test("a user that does not exist: escalate fails for good, deescalate succeeds", async () => {
      const settings = settingsOf({});
      await assert.rejects(
        () => connector.escalate(callOf(`${tag}_nobody`, settings)),
        (err: unknown) => err instanceof PermanentTargetError && err.message.includes("does not exist"),
      );
      await connector.deescalate(callOf(`${tag}_nobody`, settings));
      await connector.deescalate(callOf("x".repeat(100), settings));
    });

    test("an unknown role is named in the permanent error", async () => {
      await assert.rejects(
        () => connector.escalate(callOf(people.alice, settingsOf({ role: `${tag}_nope` }))),
        { name: "PermanentTargetError", message: `postgres_role: role ${tag}_nope does not exist` },
      );
    });

    test("a connector login without ADMIN OPTION on the role is refused for good", async () => {
      const weak = connectorAs(logins.weak);
      await assert.rejects(
        () => weak.escalate(callOf(people.alice, settingsOf({}))),
        (err: unknown) => err instanceof PermanentTargetError && /admin option/.test(err.message),
      );
      assert.ok(!(await members(role)).includes(people.alice));
    });

    test("names that look like SQL are quoted, not run", async () => {
      const settings = settingsOf({ role: odd.role });
      assert.deepEqual(await connector.escalate(callOf(odd.user, settings)), { identity: odd.user });
      const listed = await connector.list?.({
        module: undefined,
        signal: AbortSignal.timeout(20_000),
        settings,
      });
      assert.ok(listed?.includes(odd.user));
      await connector.deescalate(callOf(odd.user, settings));
      assert.ok(!(await members(odd.role)).includes(odd.user));
      assert.ok(await roleRow(`${tag}_canary`), "nothing was injected");
    });

    test("options offers the group roles the connector may grant, for the role key only", async () => {
      const optionsOf = (c: TargetConnector<PostgresRoleSettings>, key: string) =>
        c.options?.({ key, settings: {}, query: "", signal: AbortSignal.timeout(20_000) });
      const offered = await optionsOf(connector, "role");
      // Held WITH ADMIN OPTION: offered. The canary role exists but is not the connector's to grant,
      // and logins (alice) and built-in roles are never offered.
      assert.deepEqual(offered?.map((o) => o.value).sort(), [odd.role, role].sort());
      assert.deepEqual(
        offered?.find((o) => o.value === role),
        { value: role, label: role },
      );
      assert.deepEqual(await optionsOf(connectorAs(logins.weak), "role"), []);
      assert.deepEqual(await optionsOf(connector, "host"), []);
    });

    test("a call whose time limit has passed fails, to be retried", async () => {
      const signal = AbortSignal.abort(new Error("time limit"));
      await assert.rejects(
        () => connector.escalate(callOf(people.alice, settingsOf({}), { signal })),
        (err: unknown) => err instanceof Error && !(err instanceof PermanentTargetError),
      );
      assert.ok(!(await members(role)).includes(people.alice));
    });
  });
});

describe("postgres_role: what is never granted", { skip }, () => {
  before(setUp);
  const ask = (value: string, signal = AbortSignal.timeout(20_000)) => ({
    key: "role",
    value,
    settings: settingsOf({ role: value }),
    signal,
  });

  test("jitflow's own login: escalate and deescalate refuse it before connecting, and its ADMIN OPTION stays", async () => {
    // Through a proxy that is shut: a refusal that needed the server would be a connection error.
    const proxy = await startTcpProxy(serverPort, serverHost);
    proxies.push(proxy);
    const connector = connectorAs(logins.normal, proxy);
    await proxy.shut();
    await assert.rejects(
      () => connector.escalate(callOf(logins.normal, settingsOf({}))),
      (err: unknown) =>
        err instanceof OwnIdentityError &&
        err.message.includes(`"${logins.normal}" is jitflow's own database login`),
    );
    await assert.rejects(() => connector.deescalate(callOf(logins.normal, settingsOf({}))), OwnIdentityError);
    // Drift dropping a temporary login it found: never jitflow's own, even when the prefix fits it.
    const listed = { ...callOf(logins.normal, settingsOf({ createUser: true, userPrefix: `${tag}_` })) };
    await assert.rejects(() => connector.deescalate({ ...listed, listed: true }), OwnIdentityError);
    await proxy.reopen();
    assert.deepEqual(await adminOptions(logins.normal), [odd.role, role].sort());
    // Others are granted and revoked as before.
    await connector.escalate(callOf(people.alice, settingsOf({})));
    await connector.deescalate(callOf(people.alice, settingsOf({})));
    assert.ok(!(await members(role)).includes(people.alice));
    assert.deepEqual(await adminOptions(logins.normal), [odd.role, role].sort());
  });

  test("jitflow's own login as the server names it (no user in the URL): refused before the GRANT", async () => {
    const env = `JITFLOW_TEST_PG_NOUSER_${randomBytes(3).toString("hex")}`;
    process.env[env] = `postgres://${serverHost}:${serverPort}/${database}`;
    const saved = { user: process.env.PGUSER, password: process.env.PGPASSWORD };
    process.env.PGUSER = logins.normal;
    process.env.PGPASSWORD = password;
    try {
      const integration = postgresRoleTarget.integration?.settings.parse({ type: "postgres", url: { env } });
      assert.ok(integration);
      const connector = postgresRoleTarget.create(
        { name: "pg", type: "postgres_role", label: "PostgreSQL", settings: {} },
        settingsOf({}),
        integration,
      );
      connectors.push(connector);
      await assert.rejects(() => connector.escalate(callOf(logins.normal, settingsOf({}))), OwnIdentityError);
      await assert.rejects(
        () => connector.deescalate(callOf(logins.normal, settingsOf({}))),
        OwnIdentityError,
      );
      assert.deepEqual(await adminOptions(logins.normal), [odd.role, role].sort());
    } finally {
      for (const [name, value] of [
        ["PGUSER", saved.user],
        ["PGPASSWORD", saved.password],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  test("a built-in role is not a person's user: never granted to", async () => {
    const connector = connectorAs(logins.normal);
    await assert.rejects(
      () => connector.escalate(callOf("pg_monitor", settingsOf({}))),
      (err: unknown) => err instanceof PermanentTargetError && /built-in role/.test(err.message),
    );
    assert.ok(!(await members(role)).includes("pg_monitor"));
  });

  test("a bound role is offered only when it is a group role the connector holds WITH ADMIN OPTION", async () => {
    const connector = connectorAs(logins.normal);
    assert.equal(await connector.offers?.(ask(role)), true);
    assert.equal(await connector.offers?.(ask(odd.role)), true);
    assert.equal(await connector.offers?.(ask(risky.notHeld)), false, "not the connector's to grant");
    assert.equal(await connector.offers?.(ask(people.alice)), false, "a login");
    assert.equal(await connector.offers?.(ask("pg_read_all_data")), false, "built in");
    assert.equal(await connector.offers?.(ask(`${tag}_nope`)), false, "no such role");
    assert.equal(await connector.offers?.({ ...ask(role), key: "host" }), false);
  });

  test("superusers, BYPASSRLS, CREATEROLE, the file and program roles and jitflow's login are refused, also through membership", async () => {
    const connector = connectorAs(logins.normal);
    const refused = async (value: string) => connector.refuses?.(ask(value));
    assert.equal(await refused(role), undefined);
    assert.equal(await refused(risky.notHeld), undefined);
    const cases: [string, string][] = [
      [risky.superuser, `${risky.superuser} is a superuser`],
      [risky.bypass, `${risky.bypass} bypasses row-level security (BYPASSRLS)`],
      [risky.creator, `${risky.creator} can create and grant roles (CREATEROLE)`],
      [
        "pg_execute_server_program",
        "pg_execute_server_program reaches the database server's files or programs",
      ],
      ["pg_read_server_files", "pg_read_server_files reaches the database server's files or programs"],
      ["pg_write_server_files", "pg_write_server_files reaches the database server's files or programs"],
      [
        risky.files,
        `${risky.files} is a member of pg_execute_server_program, which reaches the database server's files or programs`,
      ],
      [risky.viaSuperuser, `${risky.viaSuperuser} is a member of ${risky.superuser}, which is a superuser`],
      [logins.normal, `${logins.normal} is jitflow's own login`],
      [risky.viaJitflow, `${risky.viaJitflow} is a member of ${logins.normal}, which is jitflow's own login`],
      ["postgres", "postgres is a superuser"],
    ];
    for (const [value, reason] of cases) assert.equal(await refused(value), reason, value);
  });
});

/** The roles `login` holds WITH ADMIN OPTION, read as the superuser. */
async function adminOptions(login: string): Promise<string[]> {
  const { rows } = await admin.query<{ rolname: string }>(
    `select r.rolname from pg_auth_members am
       join pg_roles r on r.oid = am.roleid join pg_roles m on m.oid = am.member
      where m.rolname = $1 and am.admin_option order by 1`,
    [login],
  );
  return rows.map((r) => r.rolname);
}

describe("postgres_role names", () => {
  test("the default identity is the email's local part, lowercased, other characters as _", () => {
    const cases: [string, string][] = [
      ["alice@example.com", "alice"],
      ["Jane.Doe+ops@example.com", "jane_doe_ops"],
      ["o'brien@example.com", "o_brien"],
      ["Zoë-1@example.com", "zo__1"],
    ];
    for (const [email, identity] of cases) assert.equal(identityFromEmail(email), identity, email);
  });

  test("a temporary login name fits in 63 bytes and is found again from itself", () => {
    const requestId = "0190c0de-0000-7000-8000-0000abcdef12";
    const long = temporaryLoginName("jit_", "a".repeat(80), requestId, 63);
    assert.equal(long.length, 63);
    assert.ok(long.endsWith("_abcdef12"));
    assert.equal(temporaryLoginName("jit_", long, requestId, 63), long);
    assert.equal(temporaryLoginName("jit_", "Bob", requestId, 63), "jit_bob_abcdef12");
  });

  test("settings are checked", () => {
    const bad = [
      { role: "" },
      { role: "r".repeat(64) },
      { role: "r", userPrefix: "Jit-" },
      { role: "r", connectionLimit: 0 },
      { role: "r", extra: true },
    ];
    for (const input of bad) assert.equal(postgresRoleTarget.settings.safeParse(input).success, false);
    assert.deepEqual(postgresRoleTarget.settings.parse({ role: "r" }), {
      role: "r",
      createUser: false,
      userPrefix: "jit_",
    });
  });
});
