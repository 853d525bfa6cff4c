// The `mysql_role` target: grants a MariaDB/MySQL role to an account, or gives each request its own temporary account in it.

import type { Pool, PoolConnection, RowDataPacket } from "mysql2/promise";
import { z } from "zod";
import { secretRef } from "../config/schema.ts";
import { readSecret } from "../config/secrets.ts";
import {
  connectionTarget,
  generatePassword,
  identityFromEmail,
  listedLogin,
  poolCache,
  temporaryLoginName,
  urlUser,
  withConnection,
} from "./sql-common.ts";
import {
  type BoundValueCall,
  type ConnectorType,
  OwnIdentityError,
  PermanentTargetError,
  type TargetCall,
} from "./target.ts";

const TYPE = "mysql_role";
/** MySQL's limit on user names (MariaDB allows longer): temporary accounts fit both. */
const MAX_LOGIN_LENGTH = 32;
const DAY_MS = 86_400_000;

/**
 * Why a name cannot be a role, by the server's rules, or undefined. Checked before any statement, so
 * a name is never read as something else (`mysql.user` as a qualified name, `analyst ` as `analyst`).
 */
export function roleNameProblem(name: string): string | undefined {
  if (name.length === 0) return "role must not be empty";
  if (name.length > 128) return "role must be at most 128 characters";
  // MariaDB drops trailing spaces from role names, so "analyst " would be granted as "analyst".
  if (name.trim() !== name) return "role must not start or end with a space";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) return "role must not contain control characters";
  if (/^(none|public)$/i.test(name)) return `${name} is a reserved name, not a role`;
  return undefined;
}

const settings = z.strictObject({
  /** The role granted: an existing role. */
  role: z.string().superRefine((name, ctx) => {
    const problem = roleNameProblem(name);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  /** The host part of the accounts (`'user'@'host'`) granted or created. */
  host: z
    .string()
    .min(1, { error: "host must not be empty" })
    .max(255, { error: "host is too long" })
    .default("%"),
  /** Give each request its own temporary account in the role, instead of granting the role to the person's account. */
  createUser: z.boolean().default(false),
  /** How temporary accounts start (createUser): lowercase letters, digits, `_`; at most 10 characters. */
  userPrefix: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,9}$/, {
      error: "userPrefix must be 1 to 10 lowercase letters, digits or '_', not starting with a digit",
    })
    .default("jit_"),
  /** Make the role the account's default role, so it is active at login without SET ROLE. */
  setDefaultRole: z.boolean().default(true),
});

const integration = z.strictObject({
  type: z.literal("mysql"),
  /** mysql://user:password@host:port URL of the connector's own account: a secret. */
  url: secretRef,
  /** Connections the pool keeps open at most. */
  maxConnections: z.int({ error: "maxConnections must be a whole number" }).min(1).max(100).default(4),
});

export type MysqlRoleSettings = z.output<typeof settings>;
export type MysqlIntegration = z.output<typeof integration>;

type MysqlModule = typeof import("mysql2/promise");
let mysqlModule: Promise<MysqlModule> | undefined;
const loadMysql = () => {
  mysqlModule ??= import("mysql2/promise");
  return mysqlModule;
};

const ER = {
  dbAccessDenied: 1044,
  accessDenied: 1045,
  unknownDatabase: 1049, // in the URL
  noSuchThread: 1094,
  notThreadOwner: 1095,
  noSuchUser: 1133, // GRANT to an account that does not exist (MariaDB)
  tableAccessDenied: 1142,
  columnAccessDenied: 1143,
  specificAccessDenied: 1227,
  cannotUser: 1396, // CREATE USER of an account that exists
  wrongStringLength: 1470,
  accessDeniedNoPassword: 1698,
  invalidRole: 1959, // MariaDB: unknown role
  cannotRevokeRole: 1962, // MariaDB: the role is not granted (or the account is gone)
  unknownAuthId: 3523, // MySQL: unknown role or account
  parseError: 1064, // the statement does not parse: it never will
  syntaxError: 1149,
} as const;

/** Server errors where retrying cannot help. */
const PERMANENT_ERRORS = new Set<number>([
  ER.dbAccessDenied,
  ER.accessDenied,
  ER.notThreadOwner,
  ER.noSuchUser,
  ER.tableAccessDenied,
  ER.columnAccessDenied,
  ER.specificAccessDenied,
  ER.wrongStringLength,
  ER.accessDeniedNoPassword,
  ER.invalidRole,
  ER.unknownAuthId,
  ER.unknownDatabase,
  ER.parseError,
  ER.syntaxError,
]);

interface MysqlError {
  message?: string;
  code?: string;
  errno?: number;
  sqlState?: string;
  sqlMessage?: string;
}

/** The server's error number, or undefined for a network or driver error. */
function serverErrno(err: unknown): number | undefined {
  const e = err as MysqlError;
  return typeof e?.sqlState === "string" && typeof e.errno === "number" ? e.errno : undefined;
}

function failure(err: unknown): Error {
  if (err instanceof PermanentTargetError) return err;
  const e = err as MysqlError;
  // A failed connection can be an AggregateError (one error per address) with an empty message.
  const message = `${TYPE}: ${e?.sqlMessage || e?.message || e?.code || String(err)}`;
  const errno = serverErrno(err);
  if (errno !== undefined && PERMANENT_ERRORS.has(errno))
    return new PermanentTargetError(message, { cause: err });
  return new Error(message, { cause: err });
}

/**
 * A string literal for statements that take no placeholders (GRANT, CREATE USER). Quotes are doubled
 * rather than backslash-escaped, so the literal stays closed even under NO_BACKSLASH_ESCAPES.
 */
export function literal(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

interface Server {
  pool: Pool;
  /** MariaDB and MySQL 8 differ in role tables and in SET DEFAULT ROLE; asked once per pool. */
  mariadb?: boolean;
  /** The user name of the connector's own account (CURRENT_USER()), asked once per pool. */
  self?: string;
}

/** MariaDB's mysql.global_priv `access` of an account with no global privilege (USAGE only); any bit is one. */
const NO_GLOBAL_PRIVILEGES = 0;

export const mysqlRoleTarget: ConnectorType<MysqlRoleSettings, MysqlIntegration> = {
  type: TYPE,
  settings,
  bindable: { role: () => true },
  integration: { type: "mysql", settings: integration },
  create(_info, _settings, conn) {
    const pools = poolCache<Server>(
      async (url) => {
        const { createPool } = await loadMysql();
        const pool = createPool({
          uri: url,
          connectionLimit: conn.maxConnections,
          maxIdle: conn.maxConnections,
          idleTimeout: 30_000,
          connectTimeout: 10_000,
          enableKeepAlive: true,
        });
        return { pool };
      },
      (server) => server.pool.end(),
    );

    async function session<T>(
      signal: AbortSignal,
      work: (c: PoolConnection, mariadb: boolean, self: string) => Promise<T>,
    ): Promise<T> {
      try {
        const server = await pools.get(readSecret(conn.url));
        return await withConnection(
          TYPE,
          signal,
          () => server.pool.getConnection(),
          (c, destroy) => (destroy ? c.destroy() : c.release()),
          async (c) => {
            if (server.mariadb === undefined || server.self === undefined) {
              const [rows] = await c.query<VersionRow[]>(
                "select version() as version, current_user() as self",
              );
              const self = String(rows[0]?.self);
              server.mariadb = String(rows[0]?.version).includes("MariaDB");
              server.self = self.slice(0, self.lastIndexOf("@"));
            }
            return work(c, server.mariadb, server.self);
          },
        );
      } catch (err) {
        throw failure(err);
      }
    }

    /**
     * Refuses jitflow's own account as the one to grant to or take from (under any host): a revocation
     * would take its own admin mapping and default role away. Checked against the URL's user before
     * connecting, and against CURRENT_USER() before any statement that changes anything.
     */
    function notSelf(user: string, self?: string): void {
      if (user === urlUser(readSecret(conn.url)) || user === self) {
        throw new OwnIdentityError(TYPE, user, "jitflow's own database account");
      }
    }

    async function quoting() {
      const mysql = await loadMysql();
      // Never a qualified name: `mysql.user` is one role name, not the user table.
      return { id: (name: string) => mysql.escapeId(name, true) };
    }

    async function accountOf(user: string, host: string) {
      return `${literal(user)}@${literal(host)}`;
    }

    /** True when `user`@`host` has been granted the role directly. */
    async function holds(c: PoolConnection, mariadb: boolean, role: string, user: string, host: string) {
      const [rows] = await c.execute<HolderRow[]>(
        mariadb
          ? "select User as user from mysql.roles_mapping where Role = ? and User = ? and Host = ?"
          : "select TO_USER as user from mysql.role_edges where FROM_USER = ? and FROM_HOST = '%' and TO_USER = ? and TO_HOST = ?",
        [role, user, host],
      );
      return rows.length > 0;
    }

    async function grantRole(c: PoolConnection, mariadb: boolean, s: MysqlRoleSettings, account: string) {
      const { id } = await quoting();
      await c.query(`grant ${id(s.role)} to ${account}`);
      if (s.setDefaultRole) {
        await c.query(`set default role ${id(s.role)} ${mariadb ? "for" : "to"} ${account}`);
      }
    }

    function loginOf(call: TargetCall<MysqlRoleSettings>): string {
      if (call.listed) return listedLogin(TYPE, call.settings.userPrefix, call.identity);
      return temporaryLoginName(
        call.settings.userPrefix,
        call.identity,
        call.evt.request.id,
        MAX_LOGIN_LENGTH,
      );
    }

    /**
     * MariaDB and MySQL cannot end a login at an instant: the password expires instead, counted in
     * whole days from when it was set. `since` is no later than that moment, so it never ends early.
     */
    function passwordExpiry(expiresAt: Date | null, since: number): string {
      if (!expiresAt) return "password expire never";
      return `password expire interval ${Math.max(1, Math.ceil((expiresAt.getTime() - since) / DAY_MS))} day`;
    }

    async function grant(call: TargetCall<MysqlRoleSettings>) {
      const user = call.identity;
      // The empty user name is the anonymous account: never grant it anything.
      if (user === "") throw new PermanentTargetError(`${TYPE}: the user name is empty`);
      notSelf(user);
      const account = await accountOf(user, call.settings.host);
      await session(call.signal, async (c, mariadb, self) => {
        notSelf(user, self);
        try {
          await grantRole(c, mariadb, call.settings, account);
        } catch (err) {
          if (serverErrno(err) === ER.noSuchUser) {
            throw new PermanentTargetError(`${TYPE}: user ${account} does not exist`, { cause: err });
          }
          throw err;
        }
      });
      return { identity: user };
    }

    async function revoke(call: TargetCall<MysqlRoleSettings>) {
      const user = call.identity;
      if (user === "") return;
      notSelf(user);
      const { role, host } = call.settings;
      const account = await accountOf(user, host);
      const { id } = await quoting();
      await session(call.signal, async (c, mariadb, self) => {
        notSelf(user, self);
        if (!(await holds(c, mariadb, role, user, host))) return;
        try {
          await c.query(`revoke ${id(role)} from ${account}`);
        } catch (err) {
          // Revoked or dropped since the check: gone is what we wanted.
          const errno = serverErrno(err);
          if (errno !== ER.cannotRevokeRole && errno !== ER.unknownAuthId && errno !== ER.invalidRole)
            throw err;
        }
      });
    }

    async function createLogin(call: TargetCall<MysqlRoleSettings>) {
      const login = loginOf(call);
      notSelf(login);
      const account = await accountOf(login, call.settings.host);
      const password = generatePassword();
      const secret = `identified by ${literal(password)} ${passwordExpiry(call.expiresAt, Date.now())}`;
      await session(call.signal, async (c, mariadb, self) => {
        notSelf(login, self);
        try {
          await c.query(`create user ${account} ${secret}`);
        } catch (err) {
          if (serverErrno(err) !== ER.cannotUser) throw err;
          // A retry (the first answer was lost): the old password was never delivered, so set a new one.
          await c.query(`alter user ${account} ${secret}`);
        }
        try {
          await grantRole(c, mariadb, call.settings, account);
        } catch (err) {
          const errno = serverErrno(err);
          if (errno !== undefined && PERMANENT_ERRORS.has(errno)) {
            // An account without its role is of no use: leave nothing behind.
            await c.query(`drop user if exists ${account}`).catch(() => {});
          }
          throw err;
        }
      });
      const shown = connectionTarget(readSecret(conn.url), 3306);
      return {
        identity: login,
        credentials: {
          username: login,
          password,
          ...(shown.host === undefined ? {} : { host: shown.host }),
          ...(shown.port === undefined ? {} : { port: shown.port }),
          ...(shown.database === undefined ? {} : { database: shown.database }),
        },
      };
    }

    async function dropLogin(call: TargetCall<MysqlRoleSettings>) {
      const login = loginOf(call);
      notSelf(login);
      const account = await accountOf(login, call.settings.host);
      await session(call.signal, async (c, _mariadb, self) => {
        notSelf(login, self);
        // First no new logins, then end the open sessions: a session outlives its account being dropped.
        await c.query(`drop user if exists ${account}`);
        const [rows] = await c.execute<ProcessRow[]>(
          "select ID as id from information_schema.PROCESSLIST where USER = ? and ID <> connection_id()",
          [login],
        );
        for (const { id } of rows) {
          try {
            await c.query(`kill connection ${Number(id)}`);
          } catch (err) {
            // It ended by itself meanwhile.
            if (serverErrno(err) !== ER.noSuchThread) throw err;
          }
        }
      });
    }

    return {
      identityFor: (email) => identityFromEmail(email),
      perRequest: (s) => s.createUser,
      escalate: (call) => (call.settings.createUser ? createLogin(call) : grant(call)),
      deescalate: (call) => (call.settings.createUser ? dropLogin(call) : revoke(call)),
      async setExpiry(call) {
        if (!call.settings.createUser) return;
        const account = await accountOf(loginOf(call), call.settings.host);
        // The password was set after the request was created, so counting from then never ends it early.
        const createdAt = Date.parse(call.evt.request.createdAt);
        const since = Number.isNaN(createdAt) ? Date.now() : createdAt;
        await session(call.signal, async (c) => {
          await c.query(`alter user if exists ${account} ${passwordExpiry(call.expiresAt, since)}`);
        });
      },
      async list(call) {
        const { role, host, createUser, userPrefix } = call.settings;
        const prefix = createUser ? userPrefix : "";
        return session(call.signal, async (c, mariadb) => {
          const [rows] = await c.execute<HolderRow[]>(
            mariadb
              ? `select distinct User as user from mysql.roles_mapping
                  where Role = ? and Host = ? and left(User, char_length(?)) = ?
                    and concat(User, '@', Host) <> current_user()
                  order by 1`
              : `select distinct TO_USER as user from mysql.role_edges
                  where FROM_USER = ? and FROM_HOST = '%' and TO_HOST = ? and left(TO_USER, char_length(?)) = ?
                    and concat(TO_USER, '@', TO_HOST) <> current_user()
                  order by 1`,
            [role, host, prefix, prefix],
          );
          return rows.map((r) => String(r.user));
        });
      },
      async options(call) {
        if (call.key !== "role") return [];
        return session(call.signal, async (c, mariadb) => {
          const [rows] = await c.query<RoleRow[]>(
            `select distinct role from (${offeredRoles(mariadb)}) offered order by 1 limit 500`,
          );
          return rows.map((r) => ({ value: String(r.role), label: String(r.role) }));
        });
      },
      async offers(call: BoundValueCall<MysqlRoleSettings>) {
        if (call.key !== "role" || roleNameProblem(call.value)) return false;
        return session(call.signal, async (c, mariadb) => {
          const [rows] = await c.query<RoleRow[]>(
            `select role from (${offeredRoles(mariadb)}) offered where role = ? limit 1`,
            [call.value],
          );
          return rows.some((r) => String(r.role) === call.value);
        });
      },
      async refuses(call: BoundValueCall<MysqlRoleSettings>) {
        if (call.key !== "role") return undefined;
        return session(call.signal, (c, mariadb, self) => refusal(c, mariadb, self, call.value));
      },
      close: () => pools.close(),
    };
  },
};

/** The roles this connector could grant: those its own account holds WITH ADMIN OPTION (a query of `role`). */
function offeredRoles(mariadb: boolean): string {
  return mariadb
    ? `select Role as role from mysql.roles_mapping
        where concat(User, '@', Host) = current_user() and Admin_option = 'Y'`
    : `select FROM_USER as role from mysql.role_edges
        where concat(TO_USER, '@', TO_HOST) = current_user() and WITH_ADMIN_OPTION = 'Y'`;
}

/**
 * Why a role must never be granted on request, or undefined: it is jitflow's own account, or it (or a
 * role granted to it, at any depth) holds a privilege on every database (`*.*`: on the grant tables
 * too) or on the `mysql` schema, either of which reaches the server's accounts.
 */
async function refusal(
  c: PoolConnection,
  mariadb: boolean,
  self: string,
  role: string,
): Promise<string | undefined> {
  if (role === self) return `${role} is jitflow's own account`;
  // Roles are accounts with the empty host on MariaDB and the host '%' on MySQL.
  const host = mariadb ? "" : "%";
  const [reached] = await c.query<NameRow[]>(
    mariadb
      ? `with recursive reach(name) as (
           select cast(? as char(128))
           union
           select m.Role from mysql.roles_mapping m join reach on m.User = reach.name and m.Host = ''
         ) select name from reach`
      : `with recursive reach(name) as (
           select cast(? as char(255))
           union
           select e.FROM_USER from mysql.role_edges e join reach on e.TO_USER = reach.name and e.TO_HOST = '%'
         ) select name from reach`,
    [role],
  );
  const names = reached.map((r) => String(r.name));
  const through = (name: string) => (name === role ? role : `${role} is granted ${name}, which`);
  const globalHolder = mariadb
    ? await firstName(
        c,
        `select User as name from mysql.global_priv
          where Host = ? and User in (?) and cast(json_value(Priv, '$.access') as unsigned) <> ?`,
        [host, names, NO_GLOBAL_PRIVILEGES],
      )
    : await mysqlGlobalHolder(c, names);
  if (globalHolder !== undefined) {
    return `${through(globalHolder)} holds privileges on every database (*.*)`;
  }
  const schemaHolder = await firstName(
    c,
    `select User as name from mysql.db where Host = ? and User in (?) and 'mysql' like Db
     union select User from mysql.tables_priv where Host = ? and User in (?) and Db = 'mysql'
     union select User from mysql.columns_priv where Host = ? and User in (?) and Db = 'mysql'`,
    [host, names, host, names, host, names],
  );
  if (schemaHolder !== undefined) {
    return `${through(schemaHolder)} holds privileges on the mysql schema (the server's accounts)`;
  }
  return undefined;
}

async function firstName(c: PoolConnection, sql: string, values: unknown[]): Promise<string | undefined> {
  const [rows] = await c.query<NameRow[]>(`${sql} limit 1`, values);
  return rows[0] === undefined ? undefined : String(rows[0].name);
}

/** MySQL 8: a role with a static (`mysql.user` *_priv = 'Y') or dynamic (`mysql.global_grants`) global privilege. */
async function mysqlGlobalHolder(c: PoolConnection, names: string[]): Promise<string | undefined> {
  const [rows] = await c.query<RowDataPacket[]>("select * from mysql.user where Host = '%' and User in (?)", [
    names,
  ]);
  const holder = rows.find((r) =>
    Object.entries(r).some(([column, value]) => /_priv$/i.test(column) && String(value) === "Y"),
  );
  if (holder) return String(holder.User);
  return firstName(c, "select USER as name from mysql.global_grants where HOST = '%' and USER in (?)", [
    names,
  ]);
}

interface NameRow extends RowDataPacket {
  name: string | Buffer;
}
interface RoleRow extends RowDataPacket {
  role: string | Buffer;
}
interface VersionRow extends RowDataPacket {
  version: string;
  self: string;
}
interface HolderRow extends RowDataPacket {
  user: string | Buffer;
}
interface ProcessRow extends RowDataPacket {
  id: number;
}
