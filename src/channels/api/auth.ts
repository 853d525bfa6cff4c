// Who is calling: a bearer token (its hash is looked up; revoked and expired tokens are refused) or a web
// session cookie, which must also carry its CSRF token on anything that changes state.

import { timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { personOf } from "../../engine/access/policy.ts";
import type { EngineDeps } from "../../engine/deps.ts";
import { JitflowError } from "../../errors.ts";
import type { Person, Source } from "../../model/types.ts";
import { findSession } from "../../store/sessions.ts";
import { findToken, touchToken } from "../../store/tokens.ts";

/** The web app's session cookie. */
export const sessionCookie = "jitflow_session";
const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/** The caller, and where they call from: "web" with a session cookie (the web app), "api" with a token. */
export type ApiEnv = { Variables: { actor: Person; source: Source } };

/** Resolves the caller of an API request (token first, then session cookie), or throws 401/403. */
export async function authenticate(deps: EngineDeps, c: Context): Promise<{ actor: Person; source: Source }> {
  const header = c.req.header("authorization");
  const cookie = getCookie(c, sessionCookie);
  if (!header && cookie) return { actor: await sessionPerson(deps, c, cookie), source: "web" };
  return { actor: await tokenPerson(deps, header), source: "api" };
}

async function sessionPerson(deps: EngineDeps, c: Context, cookie: string): Promise<Person> {
  const session = await findSession(deps.store.db, cookie, deps.clock.now());
  if (!session) throw new JitflowError("SESSION_INVALID", "your sign-in has expired; sign in again");
  if (!safeMethods.has(c.req.method)) {
    // A form on another site can make the browser send the cookie, but cannot read the token to send with it.
    const given = Buffer.from(c.req.header("x-csrf-token") ?? "");
    const expected = Buffer.from(session.csrf);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new JitflowError("CSRF_INVALID", "send the X-CSRF-Token header from GET /auth/session");
    }
  }
  return { ...personOf(session.email, deps.config.config.users), name: session.name };
}

async function tokenPerson(deps: EngineDeps, header: string | undefined): Promise<Person> {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) {
    throw new JitflowError(
      "UNAUTHENTICATED",
      "send an API token: Authorization: Bearer <token> (jitflow tokens create)",
    );
  }
  const row = await findToken(deps.store.db, match[1] as string);
  if (!row) throw new JitflowError("TOKEN_INVALID", "this token is not known to this server");
  const now = deps.clock.now();
  if (row.revoked_at !== null) throw new JitflowError("TOKEN_REVOKED", `token ${row.id} has been revoked`);
  if (row.expires_at !== null && row.expires_at <= now) {
    throw new JitflowError(
      "TOKEN_EXPIRED",
      `token ${row.id} expired at ${new Date(row.expires_at).toISOString()}`,
    );
  }
  // Recording use at most once a minute keeps reads from turning into writes.
  if (row.last_used_at === null || now - row.last_used_at > 60_000)
    await touchToken(deps.store.db, row.id, now);
  return personOf(row.user_email, deps.config.config.users, row.role as "admin" | "member" | "bot");
}

export function actorOf(c: Context<ApiEnv>): Person {
  return c.get("actor");
}

export function sourceOf(c: Context<ApiEnv>): Source {
  return c.get("source");
}

/**
 * A check, to repeat later, that the credentials of this call still hold: the session not ended or
 * expired, the token not revoked or expired. Long-lived answers (the event stream) ask it now and then.
 */
export function credentialsCheck(deps: EngineDeps, c: Context): () => Promise<boolean> {
  const header = c.req.header("authorization");
  const cookie = getCookie(c, sessionCookie);
  return async () => {
    try {
      if (!header && cookie)
        return (await findSession(deps.store.db, cookie, deps.clock.now())) !== undefined;
      await tokenPerson(deps, header);
      return true;
    } catch {
      return false;
    }
  };
}
