// A real OpenID provider (oidc-provider) on 127.0.0.1 for sign-in tests: jitflow is its one client, and its
// built-in login and consent forms sign in whoever is typed in.

import { generateKeyPairSync } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import Provider from "oidc-provider";

/** Someone the provider knows; their login name (the key of `accounts`) is typed into its form. */
export interface OidcAccount {
  email: string;
  email_verified: boolean;
  name?: string;
}

export interface OidcProviderOptions {
  port: number;
  /** jitflow's `web.publicUrl`: the client's redirect URI is `<publicUrl>/auth/callback`. */
  publicUrl: string;
  accounts: Record<string, OidcAccount>;
  clientSecret: string;
  /** Put the email in the ID token too, instead of only in userinfo. */
  emailInIdToken?: boolean;
}

export interface OidcProvider {
  issuer: string;
  close(): Promise<void>;
}

// Generated once here so the provider does not fall back to its development keys (and warn about it).
const signingKey = {
  ...generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }),
  kid: "test",
  use: "sig",
  alg: "RS256",
};

/** A port nothing listens on right now, for a server that must know its own URL before it starts. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProvider> {
  const { port, publicUrl, accounts, clientSecret, emailInIdToken = false } = options;
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: "jitflow",
        client_secret: clientSecret,
        redirect_uris: [`${publicUrl}/auth/callback`],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    async findAccount(_ctx, sub) {
      const account = accounts[sub];
      if (!account) return undefined;
      // The name says where the claims were read, so a test can tell the ID token from userinfo.
      return {
        accountId: sub,
        claims: async (use: string) => ({
          sub,
          ...account,
          name: account.name && `${account.name} (${use})`,
        }),
      };
    },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    pkce: { required: () => true },
    // By default scope claims go to userinfo only, whenever an access token is issued with the ID token.
    conformIdTokenClaims: !emailInIdToken,
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ["test-cookie-key"] },
    jwks: { keys: [signingKey] },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
    },
  });
  const server: Server = provider.listen(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  return {
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
