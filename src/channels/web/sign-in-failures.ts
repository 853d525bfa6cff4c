// Why a sign-in failed: the code the sign-in page is sent (`/signin?error=CODE`) and the one sentence shown
// for it. Pure and free of Node: the web app bundles it too, so the page words only these sentences and
// never shows text that came in a link.

export const signInFailures = {
  not_configured: "single sign-on is not set up correctly on this server; tell an admin",
  provider_unavailable:
    "the identity provider could not be reached or answered unexpectedly; try again in a moment",
  provider_refused: "the identity provider did not sign you in",
  expired: "this sign-in has expired or was already used; sign in again",
  other_browser: "this sign-in was started in another browser or tab; sign in again",
  unverifiable: "the identity provider's answer could not be verified; sign in again",
  no_id_token: "the identity provider sent no ID token",
  no_identity: "the identity provider did not say who you are; sign in again",
  no_email: "the identity provider did not share your email address",
  email_unverified: "your email address is not verified at the identity provider",
} as const;

export type SignInFailure = keyof typeof signInFailures;

/** What the sign-in page says for `?error=code`: its sentence when the code is known, else a general one. */
export function signInFailureMessage(code: string): string {
  return Object.hasOwn(signInFailures, code)
    ? signInFailures[code as SignInFailure]
    : "something went wrong; sign in again";
}
