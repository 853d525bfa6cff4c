// The web app's sign-in routes: which sign-in this server offers, single sign-on (OIDC), the current session,
// the dev sign-in, sign-out.

import type { Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import type { EngineDeps } from "../../engine/deps.ts";
import { JitflowError } from "../../errors.ts";
import { deleteSession, findSession } from "../../store/sessions.ts";
import { authenticate, sessionCookie } from "../api/auth.ts";
import { localPath } from "./local-path.ts";
import { createOidcSignIn, signInFailureReason, signInWindowMs } from "./oidc.ts";
import { endSession, secureCookies, sessionView, startSession } from "./session-cookie.ts";
import type { SignInFailure } from "./sign-in-failures.ts";

/**
 * Holds the state of the sign-in this browser started. The state alone only proves that someone started a
 * sign-in; the cookie proves it was this browser, so nobody can finish their own sign-in in someone else's
 * browser and have them work as the wrong person.
 */
const signInCookie = "jitflow_signin";
const callbackPath = "/auth/callback";

const devSignIn = z.strictObject({ email: z.email().max(320) });

// biome-ignore lint/suspicious/noExplicitAny: the routes are mounted on the API's OpenAPIHono, whatever its env.
export function registerAuthRoutes(app: Hono<any>, deps: EngineDeps): void {
  const mode = deps.config.config.web?.auth ?? "none";

  app.get("/auth/config", (c) => c.json({ mode, insecure: mode === "dev" }));

  const oidc = mode === "oidc" ? createOidcSignIn(deps) : undefined;
  const oidcOnly = () =>
    new JitflowError("AUTH_MODE_UNAVAILABLE", 'single sign-on is on only with web: { auth: "oidc" }');

  /**
   * Sends the browser back to the sign-in page with the failure's code, which the page words itself (a
   * link's text is never shown); what happened goes to the log.
   */
  function signInFailed(c: Context, err: unknown): Response {
    if (!(err instanceof JitflowError) || err.code !== "SIGN_IN_FAILED") throw err;
    const { reason } = err.details as { reason: SignInFailure };
    deps.logger.warn({ ...signInFailureReason(err), failure: reason }, "web sign-in refused");
    c.header("Cache-Control", "no-store");
    return c.redirect(`/signin?error=${reason}`, 302);
  }

  app.get("/auth/login", async (c) => {
    if (!oidc) throw oidcOnly();
    try {
      const { state, url } = await oidc.begin(localPath(c.req.query("next")));
      setCookie(c, signInCookie, state, {
        httpOnly: true,
        // Lax: the provider's redirect back is a top-level navigation from another site.
        sameSite: "Lax",
        secure: secureCookies(deps, c),
        path: callbackPath,
        maxAge: signInWindowMs / 1000,
      });
      c.header("Cache-Control", "no-store");
      return c.redirect(url.href, 302);
    } catch (err) {
      return signInFailed(c, err);
    }
  });

  app.get(callbackPath, async (c) => {
    if (!oidc) throw oidcOnly();
    const query = new URL(c.req.url).searchParams;
    const started = getCookie(c, signInCookie);
    deleteCookie(c, signInCookie, { path: callbackPath, secure: secureCookies(deps, c) });
    try {
      const { person, next } = await oidc.finish(query, started);
      const previous = getCookie(c, sessionCookie);
      if (previous) await deleteSession(deps.store.db, previous);
      await startSession(deps, c, person);
      c.header("Cache-Control", "no-store");
      return c.redirect(next, 302);
    } catch (err) {
      return signInFailed(c, err);
    }
  });

  app.get("/auth/session", async (c) => {
    const cookie = getCookie(c, sessionCookie);
    const session = cookie ? await findSession(deps.store.db, cookie, deps.clock.now()) : undefined;
    if (!session) throw new JitflowError("SESSION_INVALID", "not signed in");
    c.header("Cache-Control", "no-store");
    return c.json(sessionView(deps, session));
  });

  app.post("/auth/dev", async (c) => {
    if (mode !== "dev") {
      throw new JitflowError("AUTH_MODE_UNAVAILABLE", 'the dev sign-in is on only with web: { auth: "dev" }');
    }
    // JSON only: a cross-site form cannot send it without the browser asking this server first (CORS). The
    // media type is compared whole: "text/plain; x=application/json" is one a form may send.
    const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
    if (mediaType !== "application/json") {
      throw new JitflowError("UNSUPPORTED_MEDIA_TYPE", 'send the email as JSON: { "email": "…" }');
    }
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new JitflowError("INVALID_JSON", "the request body is not valid JSON");
    }
    const parsed = devSignIn.safeParse(body);
    if (!parsed.success)
      throw new JitflowError("VALIDATION_FAILED", 'send { "email": "someone@example.com" }');
    const email = parsed.data.email.toLowerCase();
    return c.json(await startSession(deps, c, { email, name: email.slice(0, email.indexOf("@")) }));
  });

  app.post("/auth/logout", async (c) => {
    // The CSRF check of a state-changing call applies: another site cannot sign people out.
    await authenticate(deps, c);
    await endSession(deps, c);
    return c.body(null, 204);
  });
}
