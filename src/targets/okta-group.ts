// The `okta_group` target: membership of one Okta group, through the Okta Management API (@okta/okta-sdk-nodejs).

import type { Client } from "@okta/okta-sdk-nodejs";
import { z } from "zod";
import { type OktaIntegration, oktaIntegration } from "../config/integrations.ts";
import { readSecret } from "../config/secrets.ts";
import { RetryLaterError } from "../errors.ts";
import { type OktaFailure, signalledExecutor, withOktaSignal } from "../lib/okta-signal.ts";
import {
  type BoundValueCall,
  type ConnectorType,
  OwnIdentityError,
  PermanentTargetError,
  type TargetOption,
} from "./target.ts";

const settings = z.strictObject({
  /** The group's id (`00g…`, the last part of the group's URL in the Admin Console). */
  groupId: z
    .string({ error: "groupId is required: the Okta group's id, such as 00g1emaKYZTWRYYRRTSK" })
    .regex(/^[A-Za-z0-9]{1,64}$/, "groupId must be an Okta group id, such as 00g1emaKYZTWRYYRRTSK"),
});

/**
 * The most groups options() offers: it stops paging (200 a page, as Okta recommends) once it has them, since
 * a picker may ask on every keystroke. jitflow filters them by what was typed and keeps the first 100.
 */
const optionsCap = 500;

export type OktaGroupSettings = z.output<typeof settings>;

type OktaSdk = typeof import("@okta/okta-sdk-nodejs");
let sdk: Promise<OktaSdk> | undefined;

const statusOf = (err: unknown): number | undefined => {
  const status = Number((err as OktaFailure | null)?.status);
  return Number.isInteger(status) ? status : undefined;
};

/** Milliseconds until an epoch-seconds reset, measured against the server's Date when it sent one. */
function untilReset(reset: string | null, date: string | null): number | undefined {
  if (!reset || !/^\d+$/.test(reset)) return undefined;
  const now = date ? Date.parse(date) : Number.NaN;
  const ms = Number(reset) * 1000 - (Number.isNaN(now) ? Date.now() : now);
  return Math.min(Math.max(ms, 1000), 86_400_000);
}

/** Turns what the SDK threw into a permanent, retry-later or (retried) plain error, without secrets. */
function classify(err: unknown, doing: string, notFound?: string): Error {
  if (err instanceof PermanentTargetError || err instanceof RetryLaterError) return err;
  const status = statusOf(err);
  const { errorCode, errorSummary, headers } = (err ?? {}) as OktaFailure;
  const said = errorCode ? ` (${errorCode} ${errorSummary ?? ""})`.replace(" )", ")") : "";
  const options = { cause: err };
  if (status === undefined) {
    return new Error(`okta_group: ${doing} failed: ${(err as Error)?.message ?? String(err)}`, options);
  }
  if (status === 429) {
    const wait =
      untilReset(headers?.get("x-rate-limit-reset") ?? null, headers?.get("date") ?? null) ?? 60_000;
    return new RetryLaterError(`okta_group: Okta rate limit reached while ${doing}${said}`, wait, options);
  }
  if (status === 401) {
    return new PermanentTargetError(`okta_group: Okta refused the API token${said}`, options);
  }
  if (status === 403) {
    return new PermanentTargetError(
      `okta_group: the API token may not do this: ${doing}${said}; its admin needs the Group Membership Administrator role on the group`,
      options,
    );
  }
  if (status === 404 && notFound) return new PermanentTargetError(`okta_group: ${notFound}`, options);
  if (status >= 400 && status < 500 && status !== 409) {
    return new PermanentTargetError(`okta_group: Okta answered ${status} while ${doing}${said}`, options);
  }
  return new Error(`okta_group: Okta answered ${status} while ${doing}${said}`, options);
}

export const oktaGroupTarget: ConnectorType<OktaGroupSettings, OktaIntegration> = {
  type: "okta_group",
  settings,
  bindable: { groupId: () => true },
  integration: { type: "okta", settings: oktaIntegration },
  create(_info, _settings, okta) {
    let current: { token: string; client: Client; self?: Promise<string> } | undefined;

    /** The client for the token in the environment now: a rotated token gets a new client. */
    async function client(): Promise<Client> {
      const token = readSecret(okta.token);
      if (current?.token !== token) {
        sdk ??= import("@okta/okta-sdk-nodejs");
        const loaded = await sdk;
        const Executor = signalledExecutor(loaded);
        const client = new loaded.Client({
          orgUrl: okta.orgUrl,
          token,
          authorizationMode: "SSWS",
          requestExecutor: new Executor(),
          // The default cache answers GETs from memory: a deleted user would still be found.
          cacheMiddleware: null,
        });
        current = { token, client };
      }
      return current.client;
    }

    /** Runs `fn` with the SDK's requests bound to the call's signal and the integration's time limit. */
    async function withClient<T>(signal: AbortSignal, fn: (c: Client) => Promise<T>): Promise<T> {
      const c = await client();
      return withOktaSignal(AbortSignal.any([signal, AbortSignal.timeout(okta.timeoutMs)]), () => fn(c));
    }

    /** The id of the user the API token acts as (GET /api/v1/users/me), asked once per token. */
    function selfId(c: Client): Promise<string> {
      const entry = current;
      if (!entry) return Promise.reject(new Error("okta_group: no client"));
      entry.self ??= c.userApi.getUser({ userId: "me" }).then(
        (user) => {
          if (!user.id) throw new Error("Okta answered the token's user without an id");
          return user.id;
        },
        (err: unknown) => {
          throw classify(err, "looking up the API token's own user");
        },
      );
      entry.self.catch(() => {
        if (current === entry) entry.self = undefined;
      });
      return entry.self;
    }

    /**
     * Refuses the user the API token acts as: taking a group from it can take the token's own rights
     * (admin roles are given through groups), so jitflow never adds or removes it.
     */
    async function notSelf(c: Client, user: { id: string; login: string }): Promise<void> {
      if (user.id === (await selfId(c))) {
        throw new OwnIdentityError("okta_group", user.login, "the Okta user jitflow's API token acts as");
      }
    }

    /** The user by id, login or login short name; undefined when Okta has no such user. */
    async function findUser(c: Client, identity: string) {
      try {
        const user = await c.userApi.getUser({ userId: identity });
        if (!user.id || !user.profile?.login) throw new Error(`Okta answered a user without id or login`);
        return { id: user.id, login: user.profile.login };
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw classify(err, `looking up the user ${identity}`);
      }
    }

    return {
      async escalate({ identity, settings: { groupId }, signal }) {
        return withClient(signal, async (c) => {
          const user = await findUser(c, identity);
          if (!user) throw new PermanentTargetError(`okta_group: Okta has no user ${identity}`);
          await notSelf(c, user);
          try {
            // Idempotent: Okta answers 204 whether or not the user was already a member.
            await c.groupApi.assignUserToGroup({ groupId, userId: user.id });
          } catch (err) {
            throw classify(
              err,
              `adding ${user.login} to the group ${groupId}`,
              `group ${groupId} does not exist`,
            );
          }
          return { identity: user.login };
        });
      },

      async deescalate({ identity, settings: { groupId }, signal }) {
        await withClient(signal, async (c) => {
          const user = await findUser(c, identity);
          if (!user) return; // gone from Okta: so is the membership
          await notSelf(c, user);
          try {
            await c.groupApi.unassignUserFromGroup({ groupId, userId: user.id });
          } catch (err) {
            // The group or the user went away in the meantime: the membership is gone too.
            if (statusOf(err) !== 404)
              throw classify(err, `removing ${user.login} from the group ${groupId}`);
          }
        });
      },

      async list({ settings: { groupId }, signal }) {
        return withClient(signal, async (c) => {
          try {
            const logins: string[] = [];
            // The collection follows the Link: rel="next" pages itself.
            for await (const user of await c.groupApi.listGroupUsers({ groupId })) {
              if (user?.profile?.login) logins.push(user.profile.login);
            }
            return logins;
          } catch (err) {
            throw classify(
              err,
              `listing the members of the group ${groupId}`,
              `group ${groupId} does not exist`,
            );
          }
        });
      },

      /**
       * For a bound `groupId`: the groups whose membership the API can change (OKTA_GROUP: not Everyone, not
       * groups imported from an app or a directory). With a query, Okta's `q` matches the start of the name.
       */
      async options({ key, query, signal }) {
        if (key !== "groupId") return [];
        return withClient(signal, async (c) => {
          const q = query.trim();
          const groups: TargetOption[] = [];
          try {
            // The collection follows the Link: rel="next" pages itself (Okta answers a query in one page).
            for await (const group of await c.groupApi.listGroups({ ...(q ? { q } : {}), limit: 200 })) {
              if (group?.type === "OKTA_GROUP" && group.id && group.profile?.name) {
                groups.push({ value: group.id, label: group.profile.name });
              }
              if (groups.length >= optionsCap) break;
            }
          } catch (err) {
            throw classify(
              err,
              q ? `listing the groups whose name starts with "${q}"` : "listing the groups",
            );
          }
          return groups;
        });
      },

      /** A bound groupId: a group whose membership the API can change (OKTA_GROUP), as options() lists. */
      async offers(call: BoundValueCall<OktaGroupSettings>) {
        if (call.key !== "groupId") return false;
        return withClient(call.signal, async (c) => {
          try {
            const group = await c.groupApi.getGroup({ groupId: call.value });
            return group.type === "OKTA_GROUP";
          } catch (err) {
            if (statusOf(err) === 404) return false;
            throw classify(err, `looking up the group ${call.value}`);
          }
        });
      },

      /** Never a group that carries admin roles: its members administer Okta. */
      async refuses(call: BoundValueCall<OktaGroupSettings>) {
        if (call.key !== "groupId") return undefined;
        return withClient(call.signal, async (c) => {
          const roles: string[] = [];
          try {
            for await (const role of await c.roleAssignmentApi.listGroupAssignedRoles({
              groupId: call.value,
            })) {
              const type = (role as { type?: unknown } | null)?.type;
              roles.push(typeof type === "string" ? type : "a role");
            }
          } catch (err) {
            if (statusOf(err) === 404) return undefined; // no such group: offers() says no
            throw classify(err, `listing the admin roles of the group ${call.value}`);
          }
          return roles.length > 0
            ? `the group carries Okta admin roles (${[...new Set(roles)].join(", ")}): its members administer Okta`
            : undefined;
        });
      },

      async close() {
        current = undefined;
      },
    };
  },
};
