// What the SQL role connectors share: identities from emails, temporary login names, passwords, pooled connections.

import { createHash, randomBytes } from "node:crypto";
import { PermanentTargetError, untilAborted } from "./target.ts";

/** The email's local part, lowercased, every character outside [a-z0-9_] replaced by `_`. */
export function identityFromEmail(email: string): string {
  const at = email.lastIndexOf("@");
  const local = at === -1 ? email : email.slice(0, at);
  return local.toLowerCase().replace(/[^a-z0-9_]/g, "_");
}

/**
 * Eight hex characters that tell one request's temporary login from another's: the last eight of
 * the request id (the random end of a UUID), or of its SHA-256 when the id has fewer.
 */
export function requestSuffix(requestId: string): string {
  const hex = requestId.toLowerCase().replace(/[^0-9a-f]/g, "");
  if (hex.length >= 8) return hex.slice(-8);
  return createHash("sha256").update(requestId).digest("hex").slice(0, 8);
}

/**
 * The temporary login of one request: `<prefix><identity>_<8 hex of the request id>`, the identity
 * sanitised like identityFromEmail and shortened so the whole fits in `maxLength`. Deterministic,
 * so a retry after a crash finds the login the first attempt created. Given the login name itself
 * (the canonical identity), returns it unchanged.
 */
export function temporaryLoginName(
  prefix: string,
  identity: string,
  requestId: string,
  maxLength: number,
): string {
  const suffix = `_${requestSuffix(requestId)}`;
  if (
    identity.startsWith(prefix) &&
    identity.endsWith(suffix) &&
    identity.length <= maxLength &&
    /^[a-z0-9_]+$/.test(identity)
  ) {
    return identity;
  }
  const room = maxLength - prefix.length - suffix.length;
  const core = identity
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .slice(0, room);
  return `${prefix}${core}${suffix}`;
}

/**
 * A temporary login named as list() reported it (drift detection removing one jitflow did not
 * grant). Only names with the target's prefix: anything else is not this target's to drop.
 */
export function listedLogin(type: string, prefix: string, identity: string): string {
  if (!identity.startsWith(prefix) || identity === prefix) {
    throw new PermanentTargetError(
      `${type}: ${identity} is not a temporary login of this target (prefix ${prefix})`,
    );
  }
  return identity;
}

/** A strong password for a temporary login: 192 random bits, URL-safe (no quotes, no backslashes). */
export function generatePassword(): string {
  return randomBytes(24).toString("base64url");
}

/** Host, port and database of a connection URL, to show the requester where to connect (never the credentials). */
export function connectionTarget(
  url: string,
  defaultPort: number,
): { host?: string; port?: number; database?: string } {
  try {
    const u = new URL(url);
    const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
    return {
      ...(u.hostname ? { host: u.hostname.replace(/^\[(.*)\]$/, "$1") } : {}),
      port: u.port ? Number(u.port) : defaultPort,
      ...(database ? { database } : {}),
    };
  } catch {
    return {};
  }
}

/** The user a connection URL logs in as, if it names one (the driver's default applies otherwise). */
export function urlUser(url: string): string | undefined {
  try {
    const user = decodeURIComponent(new URL(url).username);
    return user === "" ? undefined : user;
  } catch {
    return undefined;
  }
}

/** The error a call gets when its time limit fired first: an ordinary failure, retried later. */
export function abortedError(type: string, signal: AbortSignal): Error {
  return new Error(`${type}: the call was stopped at its time limit`, { cause: signal.reason });
}

/**
 * Runs `work` on a connection taken from a pool. When `signal` fires first the call fails at once
 * and the connection is destroyed (which stops its statement); a connection that saw an error is
 * destroyed too rather than returned to the pool half-way through a transaction.
 */
export async function withConnection<C, T>(
  type: string,
  signal: AbortSignal,
  acquire: () => Promise<C>,
  release: (connection: C, destroy: boolean) => void,
  work: (connection: C) => Promise<T>,
): Promise<T> {
  if (signal.aborted) throw abortedError(type, signal);
  const running = (async () => {
    const connection = await acquire();
    let released = false;
    const finish = (destroy: boolean) => {
      if (released) return;
      released = true;
      release(connection, destroy);
    };
    const onAbort = () => finish(true);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal.aborted) throw abortedError(type, signal);
      const result = await work(connection);
      finish(false);
      return result;
    } catch (err) {
      finish(true);
      throw err;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  })();
  return untilAborted(running, signal, () => abortedError(type, signal));
}

export interface PoolCache<P> {
  /** The pool for this URL; a URL that changed (a rotated secret) replaces the old pool. */
  get(url: string): Promise<P>;
  close(): Promise<void>;
}

/** Pools created on first use and kept per URL, so the secret is read at call time but connections are reused. */
export function poolCache<P>(
  open: (url: string) => Promise<P>,
  end: (pool: P) => Promise<void>,
): PoolCache<P> {
  let current: { url: string; pool: Promise<P> } | undefined;
  const endQuietly = (pool: Promise<P>) =>
    pool.then(end).catch(() => {
      // Ending a pool that failed to start, or whose connections already broke, has nothing left to do.
    });
  return {
    get(url) {
      if (current?.url !== url) {
        if (current) void endQuietly(current.pool);
        const pool = open(url);
        const entry = { url, pool };
        current = entry;
        pool.catch(() => {
          if (current === entry) current = undefined;
        });
      }
      return current.pool;
    },
    async close() {
      const old = current;
      current = undefined;
      if (old) await endQuietly(old.pool);
    },
  };
}
