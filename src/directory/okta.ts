// Okta lookups for approval policies and hooks: who is in a group (Management API, @okta/okta-sdk-nodejs).

import type { Client, User } from "@okta/okta-sdk-nodejs";
import type { OktaIntegration } from "../config/integrations.ts";
import { readSecret } from "../config/secrets.ts";
import { type OktaFailure, signalledExecutor, withOktaSignal } from "../lib/okta-signal.ts";
import { LookupError, retryHint } from "./lookup-error.ts";

export interface OktaLookups {
  /** The members' emails (profile.email, else profile.login), lower-cased, each once. */
  usersInGroup(groupId: string): Promise<string[]>;
  /** Whether the user with this email or login (any case) is a member of the group. */
  isUserInGroup(user: string, groupId: string): Promise<boolean>;
}

type OktaSdk = typeof import("@okta/okta-sdk-nodejs");
let sdk: Promise<OktaSdk> | undefined;

/** Okta's largest page of group members. */
const pageSize = 1000;
const groupIdPattern = /^[A-Za-z0-9]{1,64}$/;

export function createOktaLookups(integration: OktaIntegration): OktaLookups {
  let current: { token: string; client: Client } | undefined;

  /** The client for the token in the environment now: a rotated token gets a new client. */
  async function client(): Promise<Client> {
    let token: string;
    try {
      token = readSecret(integration.token);
    } catch (err) {
      throw new LookupError(`Okta: ${(err as Error).message}`, { cause: err });
    }
    if (current?.token !== token) {
      sdk ??= import("@okta/okta-sdk-nodejs");
      const loaded = await sdk;
      const Executor = signalledExecutor(loaded);
      const client = new loaded.Client({
        orgUrl: integration.orgUrl,
        token,
        authorizationMode: "SSWS",
        requestExecutor: new Executor(),
        // The default cache answers GETs from memory: someone removed from the group would still be in it.
        cacheMiddleware: null,
      });
      current = { token, client };
    }
    return current.client;
  }

  /**
   * Calls `visit` with each member of the group, page after page, until it returns true; within the
   * integration's time limit.
   */
  async function eachMember(groupId: string, visit: (user: User) => boolean): Promise<void> {
    const doing = `listing the members of the Okta group ${groupId}`;
    if (!groupIdPattern.test(groupId)) {
      throw new LookupError(`"${groupId}" is not an Okta group id (such as 00g1emaKYZTWRYYRRTSK)`);
    }
    const c = await client();
    const signal = AbortSignal.timeout(integration.timeoutMs);
    try {
      await withOktaSignal(signal, async () => {
        // The collection follows the Link: rel="next" pages itself.
        for await (const user of await c.groupApi.listGroupUsers({ groupId, limit: pageSize })) {
          if (user && visit(user)) return;
        }
      });
    } catch (err) {
      throw failure(err, doing, groupId, signal.aborted ? integration.timeoutMs : undefined);
    }
  }

  return {
    async usersInGroup(groupId) {
      const emails = new Set<string>();
      await eachMember(groupId, (user) => {
        const email = (user.profile?.email || user.profile?.login)?.trim().toLowerCase();
        if (email) emails.add(email);
        return false;
      });
      return [...emails];
    },

    // Matches the email or the login, since either may be what a policy names; stops at the first match.
    async isUserInGroup(user, groupId) {
      const wanted = user.trim().toLowerCase();
      let found = false;
      await eachMember(groupId, (member) => {
        found = [member.profile?.email, member.profile?.login].some(
          (v) => v?.trim().toLowerCase() === wanted,
        );
        return found;
      });
      return found;
    },
  };
}

/** Turns what the SDK threw into a LookupError saying what went wrong, without the token. */
function failure(err: unknown, doing: string, groupId: string, timedOutAfterMs?: number): LookupError {
  const options = { cause: err };
  if (timedOutAfterMs !== undefined) {
    return new LookupError(`Okta did not answer within ${timedOutAfterMs} ms while ${doing}`, options);
  }
  const { errorCode, errorSummary, headers } = (err ?? {}) as OktaFailure;
  const status = Number((err as OktaFailure | null)?.status);
  if (!Number.isInteger(status)) {
    return new LookupError(`Okta could not be reached while ${doing}: ${(err as Error)?.message}`, options);
  }
  const said = errorCode ? ` (${errorCode} ${errorSummary ?? ""})`.replace(" )", ")") : "";
  if (status === 401) return new LookupError(`Okta answered 401: the API token was refused${said}`, options);
  if (status === 403) {
    return new LookupError(`Okta answered 403: the API token may not do this: ${doing}${said}`, options);
  }
  if (status === 404) return new LookupError(`Okta group ${groupId} not found`, options);
  if (status === 429) {
    // X-Rate-Limit-Reset is when the limit resets, in epoch seconds.
    const reset = Number(headers?.get("x-rate-limit-reset"));
    const hint = retryHint(reset - Date.now() / 1000);
    return new LookupError(`Okta answered 429: rate limited while ${doing}${hint}`, options);
  }
  return new LookupError(`Okta answered ${status} while ${doing}${said}`, options);
}
