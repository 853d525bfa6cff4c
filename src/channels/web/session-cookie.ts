// Starting and ending web sessions: the cookie is HttpOnly, SameSite=Lax, and Secure unless the server
// is only reachable on this machine.

import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { personOf } from "../../engine/access/policy.ts";
import type { EngineDeps } from "../../engine/deps.ts";
import type { Person } from "../../model/types.ts";
import type { SessionsTable } from "../../store/schema.ts";
import { createSession, deleteSession } from "../../store/sessions.ts";
import { sessionCookie } from "../api/auth.ts";

const loopbackHosts = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Browsers keep Secure cookies from plain-http pages only on localhost; everywhere else it must be https. */
export function secureCookies(deps: EngineDeps, c: Context): boolean {
  const publicUrl = deps.config.config.web?.publicUrl;
  if (publicUrl) return publicUrl.startsWith("https:");
  return !loopbackHosts.has(new URL(c.req.url).hostname);
}

export interface SessionView {
  email: string;
  name: string;
  role: Person["role"];
  csrf: string;
  expiresAt: string;
  mode: "dev" | "oidc" | "none";
}

export function sessionView(deps: EngineDeps, session: SessionsTable): SessionView {
  return {
    email: session.email,
    name: session.name,
    role: personOf(session.email, deps.config.config.users).role,
    csrf: session.csrf,
    expiresAt: new Date(session.expires_at).toISOString(),
    mode: deps.config.config.web?.auth ?? "none",
  };
}

/** Signs a person in: a new session, its cookie set on the response. */
export async function startSession(
  deps: EngineDeps,
  c: Context,
  person: { email: string; name: string },
): Promise<SessionView> {
  const ttlMs = (deps.config.config.web?.sessionTtl ?? 12 * 3600) * 1000;
  const { cookie, session } = await createSession(deps.store.db, person, deps.clock.now(), ttlMs);
  setCookie(c, sessionCookie, cookie, {
    httpOnly: true,
    sameSite: "Lax",
    secure: secureCookies(deps, c),
    path: "/",
    maxAge: Math.floor(ttlMs / 1000),
  });
  deps.logger.info({ email: person.email, mode: deps.config.config.web?.auth }, "signed in to the web app");
  return sessionView(deps, session);
}

export async function endSession(deps: EngineDeps, c: Context): Promise<void> {
  const cookie = getCookie(c, sessionCookie);
  if (cookie) await deleteSession(deps.store.db, cookie);
  deleteCookie(c, sessionCookie, { path: "/", secure: secureCookies(deps, c) });
}
