// mysql_role against a real MariaDB: the target contract in both modes, temporary accounts, least privilege.

import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import {
  type Connection,
  createConnection,
  escapeId,
  escape as literal,
  type RowDataPacket,
} from "mysql2/promise";
import { type MysqlRoleSettings, mysqlRoleTarget, literal as quoted } from "../src/targets/mysql-role.ts";
import {
  OwnIdentityError,
  PermanentTargetError,
  type TargetCall,
  type TargetConnector,
} from "../src/targets/target.ts";
import { mariadbAdmin, mariadbAdminUrl, mariadbSkipReason } from "./support/mariadb.ts";
import { type ContractPerson, fakeEvent, targetContract } from "./support/target-contract.ts";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.ts";

const skip = await mariadbSkipReason();

const server = new URL(mariadbAdminUrl);
const serverHost = server.hostname || "127.0.0.1";
const serverPort = Number(server.port || 3306);
/** Where the test table lives. */
const database = decodeURIComponent(server.pathname.slice(1)) || "test";
const tag = `jf${randomBytes(3).toString("hex")}`;
const role = `${tag}_role`;
const table = `${tag}_granted`;
/** At most 10 characters, and unlike every other name here. */
const prefix = `${tag}t_`;
const password = randomBytes(12).toString("hex");
/** Connector accounts with exactly what docs/targets.md asks for each use, and one with too little. */
const logins = {
  normal: `${tag}_conn`,
  noDefault: `${tag}_conn_nd`,
  createUser: `${tag}_conn_cu`,
  weak: `${tag}_weak`,
  /** Holds the dotted role too, and may read the grant tables that tell what a role reaches. */
  vetting: `${tag}_conn_v`,
};
/** A role whose name has a dot: one name, never a qualified one. */
const dotted = `${tag}.dotted`;
/** Roles never granted on request, each for its own reason. */
const risky = {
  global: `${tag}_global`,
  viaGlobal: `${tag}_via_global`,
  mysqlTable: `${tag}_mysql_table`,
  mysqlDb: `${tag}_mysql_db`,
  pattern: `${tag}_pattern`,
};
const people = { alice: `${tag}_alice`, bob: `${tag}_bob`, cat: `${tag}_cat` };
const canary = `${tag}_canary`;
const odd = {
  role: `${tag} r\`'; drop user ${canary}; --`,
  user: `${tag} u'"; drop user ${canary}; --`,
};

let admin: Connection;
const connectors: TargetConnector<MysqlRoleSettings>[] = [];
const proxies: TcpProxy[] = [];
const account = (user: string) => `${literal(user)}@'%'`;

let ready: Promise<void> | undefined;
function setUp(): Promise<void> {
  ready ??= (async () => {
    admin = await mariadbAdmin();
    const statements = [
      `create role ${escapeId(role)}`,
      `create role ${escapeId(odd.role)}`,
      `create table ${escapeId(database)}.${escapeId(table)} (a int)`,
      `grant select on ${escapeId(database)}.${escapeId(table)} to ${escapeId(role)}`,
      ...[...Object.values(logins), ...Object.values(people), canary, odd.user].map(
        (user) => `create user ${account(user)} identified by ${literal(password)}`,
      ),
      ...[logins.normal, logins.noDefault, logins.createUser].flatMap((login) => [
        `grant ${escapeId(role)} to ${account(login)} with admin option`,
        `grant ${escapeId(odd.role)} to ${account(login)} with admin option`,
        `grant select on mysql.roles_mapping to ${account(login)}`,
      ]),
      // setDefaultRole (the default) on MariaDB: SET DEFAULT ROLE … FOR another account.
      `grant update on mysql.* to ${account(logins.normal)}`,
      `grant update on mysql.* to ${account(logins.createUser)}`,
      // createUser: create and drop accounts, see and end their sessions.
      `grant create user, process, connection admin on *.* to ${account(logins.createUser)}`,
      `grant select on mysql.roles_mapping to ${account(logins.weak)}`,
      `create role ${escapeId(dotted, true)}`,
      ...[role, dotted].map(
        (r) => `grant ${escapeId(r, true)} to ${account(logins.vetting)} with admin option`,
      ),
      ...["roles_mapping", "global_priv", "db", "tables_priv", "columns_priv"].map(
        (t) => `grant select on mysql.${t} to ${account(logins.vetting)}`,
      ),
      `grant update on mysql.* to ${account(logins.vetting)}`,
      ...Object.values(risky).map((r) => `create role ${escapeId(r)}`),
      `grant select on *.* to ${escapeId(risky.global)}`,
      `grant ${escapeId(risky.global)} to ${escapeId(risky.viaGlobal)}`,
      `grant select on mysql.user to ${escapeId(risky.mysqlTable)}`,
      `grant select on mysql.* to ${escapeId(risky.mysqlDb)}`,
      `grant select on \`m%\`.* to ${escapeId(risky.pattern)}`,
    ];
    for (const sql of statements) await admin.query(sql);
  })();
  return ready;
}

after(async () => {
  if (!ready) return;
  for (const c of connectors) await c.close?.();
  for (const p of proxies) await p.close();
  // Everything this file created, temporary accounts a failed test left behind included.
  const [rows] = await admin.query<RowDataPacket[]>(
    "select User as user, Host as host, is_role as isRole from mysql.user where left(User, ?) = ?",
    [tag.length, tag],
  );
  for (const r of rows) {
    await admin.query(
      r.isRole === "Y"
        ? `drop role ${escapeId(r.user, true)}`
        : `drop user ${literal(r.user)}@${literal(r.host)}`,
    );
  }
  await admin.query(`drop table if exists ${escapeId(database)}.${escapeId(table)}`);
  await admin.end();
});

function connectorAs(login: string, proxy?: TcpProxy): TargetConnector<MysqlRoleSettings> {
  const env = `JITFLOW_TEST_MYSQL_${login.toUpperCase()}_${randomBytes(3).toString("hex")}`;
  process.env[env] =
    `mysql://${login}:${password}@${proxy ? `127.0.0.1:${proxy.port}` : `${serverHost}:${serverPort}`}`;
  const integration = mysqlRoleTarget.integration?.settings.parse({
    type: "mysql",
    url: { env },
    maxConnections: 2,
  });
  assert.ok(integration);
  const connector = mysqlRoleTarget.create(
    { name: "db", type: "mysql_role", label: "MariaDB", settings: {} },
    mysqlRoleTarget.settings.parse({ role }),
    integration,
  );
  connectors.push(connector);
  return connector;
}

function settingsOf(input: Record<string, unknown>): MysqlRoleSettings {
  return mysqlRoleTarget.settings.parse({ role, ...input });
}

function callOf(
  identity: string,
  settings: MysqlRoleSettings,
  options: { requestId?: string; expiresAt?: Date | null } = {},
): TargetCall<MysqlRoleSettings> {
  const evt = fakeEvent(`${identity}@example.com`);
  if (options.requestId) evt.request.id = options.requestId;
  return {
    evt,
    module: undefined,
    signal: AbortSignal.timeout(20_000),
    identity,
    settings,
    expiresAt: options.expiresAt === undefined ? new Date(Date.now() + 3600_000) : options.expiresAt,
  };
}

const listCall = (settings: MysqlRoleSettings) => ({
  module: undefined,
  signal: AbortSignal.timeout(20_000),
  settings,
});

/** Accounts (host %) granted `of`, read as root. */
async function members(of: string): Promise<string[]> {
  const [rows] = await admin.query<RowDataPacket[]>(
    "select User as user from mysql.roles_mapping where Role = ? and Host = '%' order by 1",
    [of],
  );
  return rows.map((r) => String(r.user));
}

async function accountExists(user: string): Promise<boolean> {
  const [rows] = await admin.query<RowDataPacket[]>("select 1 from mysql.user where User = ?", [user]);
  return rows.length > 0;
}

async function showCreateUser(user: string): Promise<string> {
  const [rows] = await admin.query<RowDataPacket[]>(`show create user ${account(user)}`);
  return String(Object.values(rows[0] ?? {})[0]);
}

/** Logs in as `user` and returns its current role, or the login error. */
async function loginAs(user: string, pass: string) {
  const c = await createConnection({ host: serverHost, port: serverPort, user, password: pass });
  try {
    const [rows] = await c.query<RowDataPacket[]>("select current_role() as role");
    return rows[0]?.role as string | null;
  } finally {
    await c.end();
  }
}

describe("mysql_role", { skip }, () => {
  targetContract("mysql_role", async () => {
    await setUp();
    const proxy = await startTcpProxy(serverPort, serverHost);
    proxies.push(proxy);
    const connector = connectorAs(logins.normal, proxy);
    const person = (name: string): ContractPerson => {
      const email = `${name.replace("_", ".")}@example.com`;
      const identity = connector.identityFor?.(email, settingsOf({})) ?? email;
      assert.equal(identity, name);
      return { email, identity, canonical: name };
    };
    return {
      connector,
      settings: settingsOf({}),
      people: [person(people.alice), person(people.bob)],
      holders: async () => (await members(role)).filter((m) => m !== logins.normal),
      makeUnavailable: () => proxy.shut(),
      restore: () => proxy.reopen(),
      unknownSettings: settingsOf({ role: `${tag}_no_such_role` }),
      close: async () => {},
    };
  });

  targetContract("mysql_role (createUser)", async () => {
    await setUp();
    const proxy = await startTcpProxy(serverPort, serverHost);
    proxies.push(proxy);
    const connector = connectorAs(logins.createUser, proxy);
    const person = (email: string, identity: string): ContractPerson => ({
      email,
      identity,
      canonical: `${prefix}${identity}_00000001`,
    });
    return {
      connector,
      settings: settingsOf({ createUser: true, userPrefix: prefix }),
      people: [person("Carol.Jones@example.com", "carol_jones"), person("dan@example.com", "dan")],
      holders: async () => (await members(role)).filter((m) => m.startsWith(prefix)),
      makeUnavailable: () => proxy.shut(),
      restore: () => proxy.reopen(),
      unknownSettings: settingsOf({ createUser: true, userPrefix: prefix, role: `${tag}_no_such_role` }),
      close: async () => {},
    };
  });

  describe("temporary accounts (createUser)", () => {
    let connector: TargetConnector<MysqlRoleSettings>;
    let settings: MysqlRoleSettings;
    before(async () => {
      await setUp();
      connector = connectorAs(logins.createUser);
      settings = settingsOf({ createUser: true, userPrefix: prefix });
    });

    test("the account logs in with the delivered password, with the role active, and its password expires", async () => {
      assert.equal(connector.perRequest?.(settings), true);
      const requestId = randomUUID();
      const expiresAt = new Date(Date.now() + 36 * 3600_000);
      const result = await connector.escalate(callOf("Erin.Y", settings, { requestId, expiresAt }));
      const creds = result?.credentials;
      assert.ok(creds);
      assert.equal(result?.identity, `${prefix}erin_y_${requestId.slice(-8)}`);
      assert.deepEqual(
        { ...creds, password: undefined },
        { username: result?.identity, password: undefined, host: serverHost, port: serverPort },
      );
      assert.equal(await loginAs(creds.username, creds.password), role);
      await assert.rejects(() => loginAs(creds.username, `${creds.password}x`), { errno: 1045 });
      const c = await createConnection({
        host: serverHost,
        port: serverPort,
        user: creds.username,
        password: creds.password,
      });
      try {
        const [rows] = await c.query<RowDataPacket[]>(
          `select count(*) as n from ${escapeId(database)}.${escapeId(table)}`,
        );
        assert.equal(Number(rows[0]?.n), 0);
      } finally {
        await c.end();
      }
      // Day-granular: 36 hours from now is 2 days.
      assert.match(await showCreateUser(creds.username), /PASSWORD EXPIRE INTERVAL 2 DAY/);
      assert.deepEqual(await connector.list?.(listCall(settings)), [creds.username]);
      await connector.deescalate(callOf(creds.username, settings, { requestId }));
    });

    test("setExpiry moves the password expiry, and escalating again sets a new password", async () => {
      const requestId = randomUUID();
      const first = await connector.escalate(callOf("fay", settings, { requestId }));
      const login = first?.identity ?? "";
      assert.match(await showCreateUser(login), /PASSWORD EXPIRE INTERVAL 1 DAY/);
      const later = new Date(Date.now() + 5.5 * 86_400_000);
      await connector.setExpiry?.(callOf(login, settings, { requestId, expiresAt: later }));
      assert.match(await showCreateUser(login), /PASSWORD EXPIRE INTERVAL 6 DAY/);
      await connector.setExpiry?.(callOf(login, settings, { requestId, expiresAt: null }));
      assert.match(await showCreateUser(login), /PASSWORD EXPIRE NEVER/);

      // The first answer was lost (a crash): the retry must not leave a password nobody has.
      const again = await connector.escalate(callOf("fay", settings, { requestId }));
      assert.equal(again?.identity, login);
      await assert.rejects(() => loginAs(login, first?.credentials?.password ?? ""), { errno: 1045 });
      assert.equal(await loginAs(login, again?.credentials?.password ?? ""), role);
      assert.deepEqual(
        (await members(role)).filter((m) => m === login),
        [login],
      );
      await connector.deescalate(callOf(login, settings, { requestId }));
    });

    test("deescalate ends the account's open session and drops it", async () => {
      const requestId = randomUUID();
      const result = await connector.escalate(callOf("gus", settings, { requestId }));
      const creds = result?.credentials;
      assert.ok(creds);
      const session = await createConnection({
        host: serverHost,
        port: serverPort,
        user: creds.username,
        password: creds.password,
      });
      const ended = new Promise<Error>((resolve) => session.on("error", resolve));
      await session.query("select 1");

      await connector.deescalate(callOf(creds.username, settings, { requestId }));
      assert.match((await ended).message, /closed|lost|killed/i);
      await assert.rejects(() => session.query("select 1"));
      session.destroy();
      assert.equal(await accountExists(creds.username), false);
      const [rows] = await admin.query<RowDataPacket[]>(
        "select 1 from information_schema.processlist where USER = ?",
        [creds.username],
      );
      assert.equal(rows.length, 0);
      await connector.deescalate(callOf(creds.username, settings, { requestId }));
    });

    test("deescalate with the plain identity (a crash before the account was recorded) finds the account", async () => {
      const requestId = randomUUID();
      const result = await connector.escalate(callOf("hal", settings, { requestId }));
      assert.equal(await accountExists(result?.identity ?? ""), true);
      await connector.deescalate(callOf("hal", settings, { requestId }));
      assert.equal(await accountExists(result?.identity ?? ""), false);
    });

    test("an unknown role fails for good and leaves no account behind", async () => {
      const requestId = randomUUID();
      await assert.rejects(
        () =>
          connector.escalate(callOf("ivy", settingsOf({ ...settings, role: `${tag}_nope` }), { requestId })),
        (err: unknown) =>
          err instanceof PermanentTargetError && /Invalid role specification/.test(err.message),
      );
      assert.equal(await accountExists(`${prefix}ivy_${requestId.slice(-8)}`), false);
    });

    test("a connector account without CREATE USER is refused for good", async () => {
      const normal = connectorAs(logins.normal);
      await assert.rejects(
        () => normal.escalate(callOf("jay", settings, { requestId: randomUUID() })),
        (err: unknown) => err instanceof PermanentTargetError && /CREATE USER/.test(err.message),
      );
    });

    test("names that look like SQL are quoted, not run", async () => {
      const oddSettings = settingsOf({ role: odd.role, createUser: true, userPrefix: prefix });
      const requestId = randomUUID();
      const result = await connector.escalate(callOf("x'; drop", oddSettings, { requestId }));
      assert.equal(result?.identity, `${prefix}x___drop_${requestId.slice(-8)}`);
      assert.deepEqual(await connector.list?.(listCall(oddSettings)), [result?.identity]);
      await connector.deescalate(callOf(result?.identity ?? "", oddSettings, { requestId }));
      assert.equal(await accountExists(result?.identity ?? ""), false);
      assert.equal(await accountExists(canary), true, "nothing was injected");
    });
  });

  describe("granting an existing role (normal mode)", () => {
    let connector: TargetConnector<MysqlRoleSettings>;
    before(async () => {
      await setUp();
      connector = connectorAs(logins.normal);
    });

    test("the role is the account's default role, active at login, until it is revoked", async () => {
      const settings = settingsOf({});
      await connector.escalate(callOf(people.alice, settings));
      assert.equal(await loginAs(people.alice, password), role);
      await connector.deescalate(callOf(people.alice, settings));
      assert.equal(await loginAs(people.alice, password), null);
    });

    test("setDefaultRole: false needs no UPDATE on mysql.*; true does", async () => {
      // Someone whose default role was never set (the contract set Bob's).
      const noDefault = connectorAs(logins.noDefault);
      const settings = settingsOf({ setDefaultRole: false });
      assert.deepEqual(await noDefault.escalate(callOf(people.cat, settings)), { identity: people.cat });
      assert.ok((await members(role)).includes(people.cat));
      assert.equal(await loginAs(people.cat, password), null);
      await noDefault.deescalate(callOf(people.cat, settings));
      assert.ok(!(await members(role)).includes(people.cat));

      await assert.rejects(
        () => noDefault.escalate(callOf(people.cat, settingsOf({}))),
        (err: unknown) => err instanceof PermanentTargetError && /Access denied/.test(err.message),
      );
      await noDefault.deescalate(callOf(people.cat, settings));
    });

    test("an account that does not exist: escalate fails for good, deescalate succeeds", async () => {
      const settings = settingsOf({});
      await assert.rejects(() => connector.escalate(callOf(`${tag}_nobody`, settings)), {
        name: "PermanentTargetError",
        message: `mysql_role: user '${tag}_nobody'@'%' does not exist`,
      });
      await connector.deescalate(callOf(`${tag}_nobody`, settings));
      await assert.rejects(() => connector.escalate(callOf("", settings)), PermanentTargetError);
    });

    test("an unknown role is named in the permanent error", async () => {
      await assert.rejects(
        () => connector.escalate(callOf(people.alice, settingsOf({ role: `${tag}_nope` }))),
        {
          name: "PermanentTargetError",
          message: `mysql_role: Invalid role specification \`${tag}_nope\``,
        },
      );
    });

    test("a connector account without ADMIN OPTION on the role is refused for good", async () => {
      const weak = connectorAs(logins.weak);
      await assert.rejects(
        () => weak.escalate(callOf(people.alice, settingsOf({}))),
        (err: unknown) => err instanceof PermanentTargetError,
      );
      assert.ok(!(await members(role)).includes(people.alice));
    });

    test("options offers the roles the connector account holds WITH ADMIN OPTION, for the role key only", async () => {
      const optionsOf = (c: TargetConnector<MysqlRoleSettings>, key: string) =>
        c.options?.({ key, settings: {}, query: "", signal: AbortSignal.timeout(20_000) });
      const offered = await optionsOf(connector, "role");
      assert.deepEqual(offered?.map((o) => o.value).sort(), [odd.role, role].sort());
      assert.deepEqual(
        offered?.find((o) => o.value === role),
        { value: role, label: role },
      );
      assert.deepEqual(await optionsOf(connectorAs(logins.weak), "role"), []);
      assert.deepEqual(await optionsOf(connector, "host"), []);
    });

    test("names that look like SQL are quoted, not run", async () => {
      const settings = settingsOf({ role: odd.role });
      assert.deepEqual(await connector.escalate(callOf(odd.user, settings)), { identity: odd.user });
      assert.ok((await connector.list?.(listCall(settings)))?.includes(odd.user));
      await connector.deescalate(callOf(odd.user, settings));
      assert.ok(!(await members(odd.role)).includes(odd.user));
      assert.equal(await accountExists(canary), true, "nothing was injected");
    });
  });
});

describe("mysql_role: what is never granted", { skip }, () => {
  before(setUp);
  const ask = (value: string) => ({
    key: "role",
    value,
    settings: settingsOf({ role: value }),
    signal: AbortSignal.timeout(20_000),
  });
  const adminMapping = async (user: string) => {
    const [rows] = await admin.query<RowDataPacket[]>(
      "select Role as role from mysql.roles_mapping where User = ? and Admin_option = 'Y' order by 1",
      [user],
    );
    return rows.map((r) => String(r.role));
  };

  test("jitflow's own account: escalate and deescalate refuse it before connecting, and its admin mapping stays", async () => {
    const proxy = await startTcpProxy(serverPort, serverHost);
    proxies.push(proxy);
    const connector = connectorAs(logins.normal, proxy);
    await proxy.shut();
    for (const settings of [settingsOf({}), settingsOf({ host: "localhost" })]) {
      await assert.rejects(
        () => connector.escalate(callOf(logins.normal, settings)),
        (err: unknown) =>
          err instanceof OwnIdentityError &&
          err.message.includes(`"${logins.normal}" is jitflow's own database account`),
      );
      await assert.rejects(() => connector.deescalate(callOf(logins.normal, settings)), OwnIdentityError);
    }
    await proxy.reopen();
    const before = await adminMapping(logins.normal);
    assert.deepEqual(before, [odd.role, role].sort());
    await connector.escalate(callOf(people.alice, settingsOf({})));
    await connector.deescalate(callOf(people.alice, settingsOf({})));
    assert.ok(!(await members(role)).includes(people.alice));
    assert.deepEqual(await adminMapping(logins.normal), before);
  });

  test("a role name with a dot is one name: granted as itself, and mysql.user is an unknown role, for good", async () => {
    const connector = connectorAs(logins.vetting);
    const settings = settingsOf({ role: dotted });
    const holders = async () => (await members(dotted)).filter((m) => m !== logins.vetting);
    await connector.escalate(callOf(people.cat, settings));
    assert.deepEqual(await holders(), [people.cat]);
    await connector.deescalate(callOf(people.cat, settings));
    assert.deepEqual(await holders(), []);
    // Before, `mysql`.`user` was a syntax error, retried for ever.
    await assert.rejects(
      () => connector.escalate(callOf(people.cat, settingsOf({ role: "mysql.user" }))),
      (err: unknown) => err instanceof PermanentTargetError && /Invalid role specification/.test(err.message),
    );
    assert.equal(await connector.offers?.(ask("mysql.user")), false);
    assert.equal(await connector.offers?.(ask(dotted)), true);
  });

  test("names the server would read as something else are refused before any statement", () => {
    for (const [name, problem] of [
      ["", "role must not be empty"],
      ["analyst ", "role must not start or end with a space"],
      [" analyst", "role must not start or end with a space"],
      ["NONE", "NONE is a reserved name, not a role"],
      ["public", "public is a reserved name, not a role"],
      ["a\u0000b", "role must not contain control characters"],
      ["r".repeat(129), "role must be at most 128 characters"],
    ] as const) {
      const parsed = mysqlRoleTarget.settings.safeParse({ role: name });
      assert.equal(parsed.success, false, name);
      assert.equal(parsed.error?.issues[0]?.message, problem);
    }
  });

  test("a bound role is offered only when the connector account holds it WITH ADMIN OPTION", async () => {
    const connector = connectorAs(logins.vetting);
    assert.equal(await connector.offers?.(ask(role)), true);
    assert.equal(await connector.offers?.(ask(odd.role)), false);
    assert.equal(await connector.offers?.(ask(`${tag}_nope`)), false);
    assert.equal(await connector.offers?.({ ...ask(role), key: "host" }), false);
  });

  test("roles with privileges on every database or on the mysql schema are refused, also through roles they hold", async () => {
    const connector = connectorAs(logins.vetting);
    const refused = (value: string) => connector.refuses?.(ask(value));
    assert.equal(await refused(role), undefined);
    assert.equal(await refused(dotted), undefined);
    const cases: [string, string][] = [
      [risky.global, `${risky.global} holds privileges on every database (*.*)`],
      [
        risky.viaGlobal,
        `${risky.viaGlobal} is granted ${risky.global}, which holds privileges on every database (*.*)`,
      ],
      [risky.mysqlTable, `${risky.mysqlTable} holds privileges on the mysql schema (the server's accounts)`],
      [risky.mysqlDb, `${risky.mysqlDb} holds privileges on the mysql schema (the server's accounts)`],
      [risky.pattern, `${risky.pattern} holds privileges on the mysql schema (the server's accounts)`],
      [logins.vetting, `${logins.vetting} is jitflow's own account`],
    ];
    for (const [value, reason] of cases) assert.equal(await refused(value), reason, value);
  });

  test("an account that may not read the grant tables cannot vouch for a role: the check fails for good", async () => {
    await assert.rejects(
      async () => connectorAs(logins.normal).refuses?.(ask(role)),
      (err: unknown) => err instanceof PermanentTargetError && /denied/i.test(err.message),
    );
  });
});

describe("mysql_role quoting", { skip }, () => {
  test("a string literal stays closed with and without NO_BACKSLASH_ESCAPES", async () => {
    const c = await mariadbAdmin();
    try {
      for (const value of ["plain", "o'brien", "x\\'; drop user y; --", "a\\b", "''"]) {
        const [rows] = await c.query<RowDataPacket[]>(`select ${quoted(value)} as v`);
        assert.equal(rows[0]?.v, value);
      }
      await c.query("set session sql_mode = 'NO_BACKSLASH_ESCAPES'");
      for (const value of ["o'brien", "x'; drop user y; --", "''"]) {
        const [rows] = await c.query<RowDataPacket[]>(`select ${quoted(value)} as v`);
        assert.equal(rows[0]?.v, value);
      }
      // A backslash is doubled, which is wrong in this mode but still one literal: no injection.
      const [rows] = await c.query<RowDataPacket[]>(`select ${quoted("x\\'; select 1; --")} as v`);
      assert.equal(rows.length, 1);
    } finally {
      await c.end();
    }
  });
});

describe("mysql_role settings", () => {
  test("are checked, with defaults", () => {
    const bad = [
      { role: "" },
      { role: "r", userPrefix: "too_long_prefix" },
      { role: "r", host: "" },
      { role: "r", x: 1 },
    ];
    for (const input of bad) assert.equal(mysqlRoleTarget.settings.safeParse(input).success, false);
    assert.deepEqual(mysqlRoleTarget.settings.parse({ role: "r" }), {
      role: "r",
      host: "%",
      createUser: false,
      userPrefix: "jit_",
      setDefaultRole: true,
    });
  });
});
