// The `postgres_role` target: grants a PostgreSQL role to a user, or gives each request its own temporary login in it.

import { createHash, createHmac, pbkdf2, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import type { Pool, PoolClient } from "pg";
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

const TYPE = "postgres_role";
/** PostgreSQL truncates longer names (NAMEDATALEN - 1), which would silently name another role. */
const MAX_NAME_BYTES = 63;

const isRoleName = (name: string) =>
  name.length > 0 && Buffer.byteLength(name) <= MAX_NAME_BYTES && !name.includes("\0");

const settings = z.strictObject({
  /** The role granted: an existing (group) role. */
  role: z.string().refine(isRoleName, { error: "role must be a PostgreSQL role name of 1 to 63 bytes" }),
  /** Give each request its own temporary login in the role, instead of granting the role to the person's user. */
  createUser: z.boolean().default(false),
  /** How temporary logins start (createUser): lowercase letters, digits, `_`; at most 20 characters. */
  userPrefix: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,19}$/, {
      error: "userPrefix must be 1 to 20 lowercase letters, digits or '_', not starting with a digit",
    })
    .default("jit_"),
  /** CONNECTION LIMIT of each temporary login (createUser); none by default. */
  connectionLimit: z.int({ error: "connectionLimit must be a whole number from 1" }).min(1).optional(),
  /** Where the requester connects, shown with the credentials (createUser); default: the integration URL's host. */
  host: z.string().min(1, { error: "host must not be empty" }).optional(),
  /** Port shown with the credentials; default: the integration URL's port. */
  port: z.int({ error: "port must be a port number" }).min(1).max(65_535).optional(),
  /** Database shown with the credentials; default: the integration URL's database. */
  database: z.string().min(1, { error: "database must not be empty" }).optional(),
});

const integration = z.strictObject({
  type: z.literal("postgres"),
  /** postgres:// URL of the connector's own login, with its password: a secret. */
  url: secretRef,
  /** Connect with TLS (an `sslmode` in the URL applies too). */
  ssl: z.boolean().optional(),
  /** Connections the pool keeps open at most. */
  maxConnections: z.int({ error: "maxConnections must be a whole number" }).min(1).max(100).default(4),
});

export type PostgresRoleSettings = z.output<typeof settings>;
export type PostgresIntegration = z.output<typeof integration>;

type PgModule = typeof import("pg");
let pgModule: Promise<PgModule> | undefined;
const loadPg = () => {
  pgModule ??= import("pg");
  return pgModule;
};

/** SQLSTATEs where retrying cannot help. */
const PERMANENT_STATES = new Set([
  "42501", // insufficient_privilege
  "42704", // undefined_object: no such role
  "28000", // invalid_authorization_specification: the connector cannot log in
  "28P01", // invalid_password
  "3D000", // invalid_catalog_name: no such database
  "0LP01", // invalid_grant_operation: a circular membership
  "42939", // reserved_name
  "42602", // invalid_name
  "42601", // syntax_error: the same statement fails the same way again
]);

/** The group roles this connector offers: not logins, not built in, and held WITH ADMIN OPTION (a condition on pg_roles). */
const offered = `not rolcanlogin and rolname !~ '^pg_'
  and pg_has_role(current_user, oid, 'MEMBER WITH ADMIN OPTION')`;

/** Built-in roles that reach the server's files or run programs on its host: never granted on request. */
const HOST_ROLES = ["pg_execute_server_program", "pg_read_server_files", "pg_write_server_files"];

function failure(err: unknown): Error {
  if (err instanceof PermanentTargetError) return err;
  const e = err as { message?: string; code?: unknown; detail?: unknown };
  // A failed connection can be an AggregateError (one error per address) with an empty message.
  const message = `${TYPE}: ${e.message || (typeof e.code === "string" ? e.code : String(err))}`;
  if (typeof e.code === "string" && PERMANENT_STATES.has(e.code)) {
    return new PermanentTargetError(message, { cause: err });
  }
  if (e.code === "2BP01") {
    // DROP ROLE: the login still owns objects, or holds privileges, in another database.
    const detail = typeof e.detail === "string" ? ` (${e.detail.replace(/\s+/g, " ")})` : "";
    return new Error(
      `${message}${detail}; reassign or drop them there (REASSIGN OWNED, DROP OWNED) and the drop is retried`,
      { cause: err },
    );
  }
  return new Error(message, { cause: err });
}

const pbkdf2Async = promisify(pbkdf2);

/**
 * The SCRAM-SHA-256 verifier of a password, as `CREATE ROLE … PASSWORD` accepts it, so the password
 * itself never reaches the server (where statement logging would keep it).
 */
export async function scramVerifier(password: string, iterations = 4096): Promise<string> {
  const salt = randomBytes(16);
  const salted = await pbkdf2Async(password, salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

export const postgresRoleTarget: ConnectorType<PostgresRoleSettings, PostgresIntegration> = {
  type: TYPE,
  settings,
  bindable: { role: () => true },
  integration: { type: "postgres", settings: integration },
  create(_info, _settings, conn) {
    /** The connector's own login as the server sees it (session_user, current_user), read once per pool. */
    const selves = new WeakMap<Pool, Promise<string[]>>();
    const pools = poolCache<Pool>(
      async (url) => {
        const { Pool } = await loadPg();
        const pool = new Pool({
          connectionString: url,
          ...(conn.ssl === undefined ? {} : { ssl: conn.ssl }),
          max: conn.maxConnections,
          connectionTimeoutMillis: 10_000,
          idleTimeoutMillis: 30_000,
          statement_timeout: 30_000,
          application_name: "jitflow",
        });
        // A pooled connection that breaks (server restart, network) is dropped by the pool; the error
        // reaches the next call that needs a connection, so it must not crash the process here.
        pool.on("error", () => {});
        pool.on("connect", (client) => client.on("error", () => {}));
        return pool;
      },
      (pool) => pool.end(),
    );

    async function session<T>(
      signal: AbortSignal,
      work: (client: PoolClient, self: string[]) => Promise<T>,
    ): Promise<T> {
      try {
        const pool = await pools.get(readSecret(conn.url));
        return await withConnection(
          TYPE,
          signal,
          () => pool.connect(),
          (client, destroy) => client.release(destroy),
          async (client) => {
            let self = selves.get(pool);
            if (!self) {
              self = client
                .query<{ s: string; c: string }>("select session_user::text as s, current_user::text as c")
                .then(({ rows }) => [...new Set(rows.flatMap((r) => [r.s, r.c]))]);
              selves.set(pool, self);
              self.catch(() => selves.delete(pool));
            }
            return work(client, await self);
          },
        );
      } catch (err) {
        throw failure(err);
      }
    }

    /**
     * Refuses jitflow's own login as the one to grant to or take from: a revocation would remove the
     * connector's own ADMIN OPTION. Checked against the URL's login before connecting, and against
     * the server's session_user and current_user before any statement that changes anything.
     */
    function notSelf(name: string, self: readonly string[] = []): void {
      if (name === urlUser(readSecret(conn.url)) || self.includes(name)) {
        throw new OwnIdentityError(TYPE, name, "jitflow's own database login");
      }
    }

    /** Why a role must never be granted on request: what it is or reaches through its memberships. */
    async function refusal(client: PoolClient, role: string): Promise<string | undefined> {
      const { rows } = await client.query<{
        rolname: string;
        rolsuper: boolean;
        rolbypassrls: boolean;
        rolcreaterole: boolean;
        own: boolean;
      }>(
        `with recursive reach(oid) as (
           select oid from pg_roles where rolname = $1
           union
           select am.roleid from pg_auth_members am join reach on am.member = reach.oid
         )
         select r.rolname, r.rolsuper, r.rolbypassrls, r.rolcreaterole,
                r.rolname in (session_user, current_user) as own
           from pg_roles r join reach using (oid)
          where r.rolsuper or r.rolbypassrls or r.rolcreaterole or r.rolname = any($2::text[])
             or r.rolname in (session_user, current_user)
          order by r.rolname <> $1, r.rolname
          limit 1`,
        [role, HOST_ROLES],
      );
      const found = rows[0];
      if (!found) return undefined;
      const clause = found.rolsuper
        ? "is a superuser"
        : found.own
          ? "is jitflow's own login"
          : found.rolbypassrls
            ? "bypasses row-level security (BYPASSRLS)"
            : found.rolcreaterole
              ? "can create and grant roles (CREATEROLE)"
              : "reaches the database server's files or programs";
      return found.rolname === role
        ? `${role} ${clause}`
        : `${role} is a member of ${found.rolname}, which ${clause}`;
    }

    async function sql() {
      const { escapeIdentifier, escapeLiteral } = await loadPg();
      return { id: escapeIdentifier, lit: escapeLiteral };
    }

    async function existing(client: PoolClient, names: string[]): Promise<Set<string>> {
      const { rows } = await client.query<{ rolname: string }>(
        "select rolname from pg_roles where rolname = any($1::text[])",
        [names],
      );
      return new Set(rows.map((r) => r.rolname));
    }

    function loginOf(call: TargetCall<PostgresRoleSettings>): string {
      if (call.listed) return listedLogin(TYPE, call.settings.userPrefix, call.identity);
      return temporaryLoginName(call.settings.userPrefix, call.identity, call.evt.request.id, MAX_NAME_BYTES);
    }

    async function grant(call: TargetCall<PostgresRoleSettings>) {
      const { role } = call.settings;
      const user = call.identity;
      if (!isRoleName(user)) {
        throw new PermanentTargetError(`${TYPE}: ${JSON.stringify(user)} is not a PostgreSQL user name`);
      }
      if (user.startsWith("pg_")) {
        throw new PermanentTargetError(`${TYPE}: ${user} is a built-in role, not a person's user`);
      }
      notSelf(user);
      const { id } = await sql();
      await session(call.signal, async (client, self) => {
        notSelf(user, self);
        const found = await existing(client, [role, user]);
        if (!found.has(role)) throw new PermanentTargetError(`${TYPE}: role ${role} does not exist`);
        if (!found.has(user)) throw new PermanentTargetError(`${TYPE}: user ${user} does not exist`);
        // Granting a membership that exists is a notice, not an error.
        await client.query(`grant ${id(role)} to ${id(user)}`);
      });
      return { identity: user };
    }

    async function revoke(call: TargetCall<PostgresRoleSettings>) {
      const { role } = call.settings;
      const user = call.identity;
      notSelf(user);
      if (!isRoleName(user)) return;
      const { id } = await sql();
      await session(call.signal, async (client, self) => {
        notSelf(user, self);
        const { rowCount } = await client.query(
          `select 1 from pg_auth_members am
             join pg_roles r on r.oid = am.roleid
             join pg_roles m on m.oid = am.member
            where r.rolname = $1 and m.rolname = $2`,
          [role, user],
        );
        if (!rowCount) return;
        try {
          await client.query(`revoke ${id(role)} from ${id(user)}`);
        } catch (err) {
          // Dropped since the check: gone is what we wanted.
          if ((err as { code?: string }).code !== "42704") throw err;
        }
      });
    }

    async function createLogin(call: TargetCall<PostgresRoleSettings>) {
      const { role, connectionLimit } = call.settings;
      const login = loginOf(call);
      notSelf(login);
      const password = generatePassword();
      const verifier = await scramVerifier(password);
      const { id, lit } = await sql();
      const validUntil = lit(call.expiresAt ? call.expiresAt.toISOString() : "infinity");
      const options = `login password ${lit(verifier)} valid until ${validUntil} connection limit ${connectionLimit ?? -1}`;
      await session(call.signal, async (client, self) => {
        notSelf(login, self);
        await client.query("begin");
        const found = await existing(client, [role, login]);
        if (!found.has(role)) throw new PermanentTargetError(`${TYPE}: role ${role} does not exist`);
        if (found.has(login)) {
          // A retry (the first answer was lost): the old password was never delivered, so set a new one.
          await client.query(`alter role ${id(login)} with ${options}`);
          await client.query(`grant ${id(role)} to ${id(login)}`);
        } else {
          // `role current_user` makes the connector a member of the login, which it needs to end the
          // login's sessions and to reassign what it owns when the grant ends.
          await client.query(
            `create role ${id(login)} with ${options} in role ${id(role)} role current_user`,
          );
        }
        await client.query("commit");
      });
      const shown = connectionTarget(readSecret(conn.url), 5432);
      const host = call.settings.host ?? shown.host;
      const port = call.settings.port ?? shown.port;
      const database = call.settings.database ?? shown.database;
      return {
        identity: login,
        credentials: {
          username: login,
          password,
          ...(host === undefined ? {} : { host }),
          ...(port === undefined ? {} : { port }),
          ...(database === undefined ? {} : { database }),
        },
      };
    }

    async function dropLogin(call: TargetCall<PostgresRoleSettings>) {
      const { role } = call.settings;
      const login = loginOf(call);
      notSelf(login);
      const { id } = await sql();
      await session(call.signal, async (client, self) => {
        notSelf(login, self);
        const found = await existing(client, [role, login]);
        if (!found.has(login)) return;
        await client.query(`grant ${id(login)} to current_user`);
        // First no new sessions, then end the open ones: a session outlives its role being dropped.
        await client.query(`alter role ${id(login)} nologin`);
        await client.query(
          `select pg_terminate_backend(pid, 5000) from pg_stat_activity
            where usename = $1 and pid <> pg_backend_pid()`,
          [login],
        );
        await client.query("begin");
        // What the login created stays, owned by the role (or by the connector if the role is gone).
        await client.query(
          `reassign owned by ${id(login)} to ${found.has(role) ? id(role) : "current_user"}`,
        );
        await client.query(`drop owned by ${id(login)}`);
        await client.query(`drop role if exists ${id(login)}`);
        await client.query("commit");
      });
    }

    return {
      identityFor: (email) => identityFromEmail(email),
      perRequest: (s) => s.createUser,
      escalate: (call) => (call.settings.createUser ? createLogin(call) : grant(call)),
      deescalate: (call) => (call.settings.createUser ? dropLogin(call) : revoke(call)),
      async setExpiry(call) {
        if (!call.settings.createUser) return;
        const login = loginOf(call);
        const { id, lit } = await sql();
        const validUntil = lit(call.expiresAt ? call.expiresAt.toISOString() : "infinity");
        await session(call.signal, async (client) => {
          // A login that is gone has nothing left to extend.
          if (!(await existing(client, [login])).has(login)) return;
          await client.query(`alter role ${id(login)} valid until ${validUntil}`);
        });
      },
      async list(call) {
        const { role, createUser, userPrefix } = call.settings;
        return session(call.signal, async (client) => {
          const { rows } = await client.query<{ rolname: string }>(
            `select distinct m.rolname from pg_auth_members am
               join pg_roles r on r.oid = am.roleid
               join pg_roles m on m.oid = am.member
              where r.rolname = $1 and m.rolname <> current_user
                and ($2::text is null or starts_with(m.rolname, $2::text))
              order by 1`,
            [role, createUser ? userPrefix : null],
          );
          return rows.map((r) => r.rolname);
        });
      },
      async options(call) {
        if (call.key !== "role") return [];
        return session(call.signal, async (client) => {
          const { rows } = await client.query<{ rolname: string }>(
            `select rolname from pg_roles where ${offered} order by 1 limit 500`,
          );
          return rows.map((r) => ({ value: r.rolname, label: r.rolname }));
        });
      },
      async offers(call: BoundValueCall<PostgresRoleSettings>) {
        if (call.key !== "role") return false;
        return session(call.signal, async (client) => {
          const { rowCount } = await client.query(
            `select 1 from pg_roles where rolname = $1 and ${offered}`,
            [call.value],
          );
          return Boolean(rowCount);
        });
      },
      async refuses(call: BoundValueCall<PostgresRoleSettings>) {
        if (call.key !== "role") return undefined;
        return session(call.signal, (client) => refusal(client, call.value));
      },
      close: () => pools.close(),
    };
  },
};
