// Sign in: the dev sign-in (type an email), single sign-on, or why there is no way in; then back to where
// the person was going.

import { type FormEvent, useState } from "react";
import { signInFailureMessage } from "../../../src/channels/web/sign-in-failures.ts";
import { api, isApiError } from "../api.ts";
import { ErrorNotice, Notice } from "../components/notice.tsx";
import { Page } from "../components/page.tsx";
import { navigate, safeNext, useLocation } from "../router.tsx";
import { useSession } from "../session.tsx";
import type { AuthConfig } from "../types.ts";

export function SignInPage({ config, expired }: { config: AuthConfig; expired: boolean }) {
  const { search } = useLocation();
  const next = safeNext(search.get("next"));
  const failed = search.get("error");
  return (
    <div className="signin">
      <Page title="Sign in" intro="jitflow: ask for the access you need, for as long as you need it.">
        {expired ? (
          <Notice tone="warning">Your sign-in has expired. Sign in again to carry on.</Notice>
        ) : null}
        {failed ? (
          // Only jitflow's own words for the code: anyone can send a link with any text in it.
          <ErrorNotice error={new Error(`Signing in did not work: ${signInFailureMessage(failed)}.`)} />
        ) : null}
        {config.mode === "dev" ? <DevSignIn next={next} /> : null}
        {config.mode === "oidc" ? (
          <p>
            <a className="button primary wide" href={`/auth/login?next=${encodeURIComponent(next)}`}>
              Sign in with single sign-on
            </a>
          </p>
        ) : null}
        {config.mode === "none" ? (
          <div className="notice notice-info">
            <p>
              Signing in to the web app is not set up on this server: <code>web.auth</code> is not configured.
            </p>
            <p>
              An admin sets it in <code>jitflow.config.ts</code>:{" "}
              <code>
                web: {"{"} auth: "oidc", oidc: {"{ … }"} {"}"}
              </code>{" "}
              for single sign-on, or{" "}
              <code>
                web: {"{"} auth: "dev" {"}"}
              </code>{" "}
              to try jitflow on this machine. The API, the CLI and Slack work without it.
            </p>
          </div>
        ) : null}
      </Page>
    </div>
  );
}

function DevSignIn({ next }: { next: string }) {
  const { signedIn } = useSession();
  const [email, setEmail] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [sending, setSending] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSending(true);
    setError(null);
    try {
      await signedIn(await api.devSignIn(email.trim()));
      navigate(next, { replace: true });
    } catch (caught) {
      // The server's refusal of a malformed address is worded for scripts ('send { "email": … }').
      const malformed = isApiError(caught) && caught.code === "VALIDATION_FAILED";
      setError(
        malformed ? new Error("That is not an email address; type one such as alice@example.com.") : caught,
      );
      setSending(false);
    }
  };

  return (
    <form className="form" onSubmit={submit} noValidate>
      {error ? <ErrorNotice error={error} action="sign in" /> : null}
      <div className="field">
        <label htmlFor="signin-email">Email address</label>
        <p className="hint" id="signin-email-hint">
          Development sign-in: type any address to act as that person.
        </p>
        <input
          id="signin-email"
          type="email"
          autoComplete="email"
          aria-describedby="signin-email-hint"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
      </div>
      <button type="submit" className="button primary wide" disabled={sending}>
        {sending ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
