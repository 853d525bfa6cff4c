// Single sign-on with OpenID Connect: the redirect to the provider, and the checks on the way back that turn
// its answer into a verified email.

import * as client from "openid-client";
import { readSecret } from "../../config/secrets.ts";
import type { EngineDeps } from "../../engine/deps.ts";
import { JitflowError, messageOf } from "../../errors.ts";
import { claimLoginAttempt, forgetLoginAttempts, recordLoginAttempt } from "../../store/login-attempts.ts";
import type { LoginAttemptsTable } from "../../store/schema.ts";
import { type SignInFailure, signInFailures } from "./sign-in-failures.ts";

/** How long a sign-in may stay at the provider before its state is refused. */
export const signInWindowMs = 10 * 60_000;

export interface SignedInPerson {
  email: string;
  name: string;
}

export interface OidcSignIn {
  /** Starts a sign-in: remembers its state, PKCE verifier and nonce; returns the state and where to send the browser. */
  begin(next: string): Promise<{ state: string; url: URL }>;
  /**
   * Checks the provider's answer (the query of /auth/callback, and the state this browser started with) and
   * returns who signed in and where they were going. Every refusal is a SIGN_IN_FAILED whose
   * `details.reason` is a code of signInFailures (what the sign-in page is told) and whose cause is the
   * reason to log.
   */
  finish(
    query: URLSearchParams,
    startedState: string | undefined,
  ): Promise<{ person: SignedInPerson; next: string }>;
}

const loopbackHosts = new Set(["localhost", "127.0.0.1", "[::1]"]);

function failed(reason: SignInFailure, cause?: unknown): JitflowError {
  return new JitflowError("SIGN_IN_FAILED", signInFailures[reason], { details: { reason }, cause });
}

/**
 * The sign-in of `web.oidc`. The provider is discovered on first use, not at start, so that jitflow starts
 * while the provider is down; a failed discovery is tried again on the next sign-in.
 *
 * @example
 * ```ts
 * const oidc = createOidcSignIn(deps);
 * const { url } = await oidc.begin("/approvals"); // redirect the browser to url
 * ```
 */
export function createOidcSignIn(deps: EngineDeps): OidcSignIn {
  const web = deps.config.config.web;
  if (!web?.oidc || !web.publicUrl)
    throw new Error('createOidcSignIn needs web: { auth: "oidc", oidc, publicUrl }');
  const { issuer, clientId, clientSecret, scopes } = web.oidc;
  const redirectUri = `${web.publicUrl.replace(/\/+$/, "")}/auth/callback`;
  const db = deps.store.db;

  let discovered: Promise<client.Configuration> | undefined;
  function configuration(): Promise<client.Configuration> {
    discovered ??= discover().catch((err: unknown) => {
      discovered = undefined;
      throw err;
    });
    return discovered;
  }

  async function discover(): Promise<client.Configuration> {
    const url = new URL(issuer);
    // Plain http only for a provider on this machine (development, tests): anywhere else tokens would
    // cross the network in the clear.
    const local = url.protocol === "http:" && loopbackHosts.has(url.hostname);
    let secret: string;
    try {
      if (url.protocol !== "https:" && !local) {
        throw new Error(`the issuer ${issuer} must use https (plain http only on localhost)`);
      }
      secret = readSecret(clientSecret);
    } catch (err) {
      throw failed("not_configured", err);
    }
    try {
      return await client.discovery(url, clientId, undefined, client.ClientSecretBasic(secret), {
        timeout: 10,
        execute: local ? [client.allowInsecureRequests] : [],
      });
    } catch (err) {
      throw failed("provider_unavailable", err);
    }
  }

  /** Claims the attempt of this state: whoever takes it out of the table is the only one who may finish it. */
  async function takeAttempt(state: string): Promise<LoginAttemptsTable | undefined> {
    // States are ours (base64url); anything else, NUL included, never reaches a query.
    if (!/^[\w-]{1,128}$/.test(state)) return undefined;
    return claimLoginAttempt(db, state);
  }

  return {
    async begin(next) {
      const config = await configuration();
      const now = deps.clock.now();
      // Sign-ins abandoned at the provider would otherwise stay forever.
      await forgetLoginAttempts(db, now - signInWindowMs);
      const attempt: LoginAttemptsTable = {
        state: client.randomState(),
        code_verifier: client.randomPKCECodeVerifier(),
        nonce: client.randomNonce(),
        next,
        created_at: now,
      };
      await recordLoginAttempt(db, attempt);
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: scopes.join(" "),
        code_challenge: await client.calculatePKCECodeChallenge(attempt.code_verifier),
        code_challenge_method: "S256",
        state: attempt.state,
        nonce: attempt.nonce,
      });
      return { state: attempt.state, url };
    },

    async finish(query, startedState) {
      const state = query.get("state");
      // Taken first, whatever else is wrong: a state is good for one try only.
      const attempt = state ? await takeAttempt(state) : undefined;
      const providerError = query.get("error");
      if (providerError) {
        // Only logged, and only a standard-looking code: anyone can put an error in a link.
        const code = /^[a-z_]{1,40}$/.test(providerError) ? providerError : "error";
        throw failed(
          "provider_refused",
          new Error(`provider answered ${code}: ${query.get("error_description") ?? "no description"}`),
        );
      }
      if (!attempt || deps.clock.now() - attempt.created_at > signInWindowMs) {
        throw failed(
          "expired",
          new Error(attempt ? "state older than 10 minutes" : "unknown or missing state"),
        );
      }
      // Someone finishing their own sign-in in another person's browser would have them work as the wrong person.
      if (startedState !== attempt.state) {
        throw failed("other_browser", new Error("the state does not match this browser's sign-in cookie"));
      }
      const config = await configuration();

      // The redirect URI the provider saw, not the URL this server was reached at (a proxy may sit between).
      const currentUrl = new URL(redirectUri);
      currentUrl.search = query.toString();
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, currentUrl, {
          pkceCodeVerifier: attempt.code_verifier,
          expectedState: attempt.state,
          expectedNonce: attempt.nonce,
          idTokenExpected: true,
        });
      } catch (err) {
        throw failed("unverifiable", err);
      }
      const idToken = tokens.claims();
      if (!idToken) throw failed("no_id_token", new Error("no id_token"));

      // Email and its verification come from one source: the ID token if it has the email, else userinfo.
      let claims: Record<string, unknown> = idToken;
      if (typeof idToken.email !== "string") {
        try {
          claims = await client.fetchUserInfo(config, tokens.access_token, idToken.sub);
        } catch (err) {
          throw failed("no_identity", err);
        }
      }
      const email = typeof claims.email === "string" ? claims.email.trim().toLowerCase() : "";
      if (!/^[^@\s]+@[^@\s]+$/.test(email)) {
        throw failed("no_email", new Error(`no usable email claim for subject ${idToken.sub}`));
      }
      // Some providers let anyone register any address: only a verified one identifies a person.
      if (claims.email_verified !== true) {
        throw failed(
          "email_unverified",
          new Error(`email_verified is ${String(claims.email_verified)} for ${email}`),
        );
      }
      return { person: { email, name: nameOf(claims, email) }, next: attempt.next };
    },
  };
}

function nameOf(claims: Record<string, unknown>, email: string): string {
  for (const key of ["name", "preferred_username"]) {
    const value = claims[key];
    if (typeof value === "string" && value.trim()) return value.trim().slice(0, 200);
  }
  return email.slice(0, email.indexOf("@"));
}

/** What to log about a failed sign-in: messages and codes only, never the provider's codes or tokens. */
export function signInFailureReason(err: unknown): { reason: string; code?: string; oauthError?: string } {
  const cause = err instanceof JitflowError && err.cause !== undefined ? err.cause : err;
  // openid-client's errors carry a code of their own and, when the provider refused, its OAuth error code.
  const { code, error } = (cause ?? {}) as { code?: unknown; error?: unknown };
  return {
    reason: messageOf(cause),
    ...(typeof code === "string" ? { code } : {}),
    ...(typeof error === "string" ? { oauthError: error } : {}),
  };
}
