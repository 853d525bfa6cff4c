// The `ldap_group` target: adds a person's DN to an LDAP group's member (or uniqueMember) attribute, and removes it.

import type { Client, Filter } from "ldapts";
import { z } from "zod";
import { secretRef } from "../config/schema.ts";
import { readSecret } from "../config/secrets.ts";
import {
  type BoundValueCall,
  type ConnectorType,
  OwnIdentityError,
  PermanentTargetError,
  type TargetCall,
} from "./target.ts";

/** One attribute=value pair of an RDN: the value unescaped, or kept as `#hex` when given as BER. */
interface Ava {
  type: string;
  value: string;
  ber: boolean;
}

const attributeType = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)$/;

/**
 * Parses a DN string (RFC 4514; spaces around `=`, `,` and `+` tolerated) into its RDNs, each a
 * list of attribute=value pairs, or undefined when it is not a DN.
 */
export function parseDn(dn: string): Ava[][] | undefined {
  const rdns: Ava[][] = [];
  if (dn.trim() === "") return rdns;
  let rdn: Ava[] = [];
  let i = 0;
  for (;;) {
    const eq = dn.indexOf("=", i);
    if (eq < 0) return undefined;
    const type = dn.slice(i, eq).trim();
    if (!attributeType.test(type)) return undefined;
    i = eq + 1;
    while (dn[i] === " ") i++;
    const ber = /^#(?:[0-9A-Fa-f]{2})+/.exec(dn.slice(i))?.[0];
    if (ber !== undefined) {
      i += ber.length;
      while (dn[i] === " ") i++;
      if (i < dn.length && dn[i] !== "," && dn[i] !== "+") return undefined;
      rdn.push({ type, value: ber.toLowerCase(), ber: true });
    } else {
      const bytes: number[] = [];
      // Unescaped trailing spaces are not part of the value: keep bytes up to the last escaped or non-space one.
      let keep = 0;
      for (; i < dn.length && dn[i] !== "," && dn[i] !== "+"; i++) {
        const c = dn[i] as string;
        if (c === "\\") {
          const pair = dn.slice(i + 1, i + 3);
          const next = dn[i + 1] ?? "";
          if (/^[0-9A-Fa-f]{2}$/.test(pair)) {
            bytes.push(Number.parseInt(pair, 16));
            i += 2;
          } else if (next !== "" && ' "#+,;<=>\\'.includes(next)) {
            bytes.push(next.charCodeAt(0));
            i += 1;
          } else {
            return undefined;
          }
          keep = bytes.length;
        } else if ('";<>\0'.includes(c)) {
          return undefined;
        } else {
          const char = String.fromCodePoint(dn.codePointAt(i) as number);
          bytes.push(...Buffer.from(char));
          if (char !== " ") keep = bytes.length;
          i += char.length - 1;
        }
      }
      rdn.push({ type, value: Buffer.from(bytes.slice(0, keep)).toString("utf8"), ber: false });
    }
    if (dn[i] !== "+") {
      rdns.push(rdn);
      rdn = [];
    }
    if (i >= dn.length) return rdns;
    i += 1;
  }
}

function escapeDnValue(value: string): string {
  const escaped = value.replace(/["+,;<>\\\0]/g, (c) => (c === "\0" ? "\\00" : `\\${c}`));
  return escaped.replace(/^[ #]/, (c) => `\\${c}`).replace(/ $/, "\\ ");
}

/**
 * A DN in the one form jitflow stores and compares: attribute types lowercased, spaces around
 * separators removed, values escaped the same way (their case is kept). Undefined if not a DN.
 */
export function normalizeDn(dn: string): string | undefined {
  return normalizedRdns(dn)?.join(",");
}

/** A DN's RDNs, each in the form normalizeDn writes it. */
function normalizedRdns(dn: string): string[] | undefined {
  return parseDn(dn)?.map((rdn) =>
    rdn
      .map(({ type, value, ber }) => `${type.toLowerCase()}=${ber ? value : escapeDnValue(value)}`)
      .sort()
      .join("+"),
  );
}

const isDn = (value: string) => (parseDn(value)?.length ?? 0) > 0;

/**
 * An identity that names an entry itself rather than an email: a DN of two RDNs or more, from a mapping,
 * getIdentity or the grant's record. The requester's own email is never one, however it is shaped.
 */
function namesEntry(identity: string, identityIsEmail = false): boolean {
  return !identityIsEmail && (parseDn(identity)?.length ?? 0) >= 2;
}

/** The two DNs name the same entry (compared without case, as directories compare names like uid and cn). */
function sameDn(a: string, b: string): boolean {
  const x = normalizeDn(a)?.toLowerCase();
  return x !== undefined && x === normalizeDn(b)?.toLowerCase();
}

/** `dn` is strictly below `base`, RDN by RDN (an escaped comma in a value is no separator), without case. */
export function isBelow(dn: string, base: string): boolean {
  const entry = normalizedRdns(dn)?.map((rdn) => rdn.toLowerCase());
  const under = normalizedRdns(base)?.map((rdn) => rdn.toLowerCase());
  if (!entry || !under || under.length === 0 || entry.length <= under.length) return false;
  const tail = entry.slice(entry.length - under.length);
  return under.every((rdn, i) => rdn === tail[i]);
}

const integration = z.strictObject({
  type: z.literal("ldap"),
  /** The directory: ldap://host:389 or ldaps://host:636 (scheme, host and port only). */
  url: z.url({ protocol: /^ldaps?$/, error: "url must be an ldap:// or ldaps:// URL" }),
  /** The service account jitflow binds as. */
  bindDn: z
    .string()
    .refine(isDn, { error: "bindDn must be a DN, like cn=jitflow,ou=services,dc=example,dc=com" }),
  /** Its password. */
  bindPassword: secretRef,
  /** TLS options for ldaps://. */
  tls: z
    .strictObject({
      /** Check the server's certificate against the trusted CAs (NODE_EXTRA_CA_CERTS adds yours). */
      rejectUnauthorized: z.boolean({ error: "tls.rejectUnauthorized must be true or false" }).default(true),
    })
    .optional(),
  /** Time limit of one connection attempt and of each LDAP operation. */
  timeoutMs: z
    .int({ error: "timeoutMs must be a whole number of milliseconds" })
    .min(100)
    .max(120_000)
    .default(10_000),
});

const settings = z.strictObject({
  /** The group people are added to, e.g. cn=ops,ou=groups,dc=example,dc=com. */
  groupDn: z
    .string()
    .refine(isDn, { error: "groupDn must be a DN, like cn=ops,ou=groups,dc=example,dc=com" }),
  /** "member" for groupOfNames, "uniqueMember" for groupOfUniqueNames. */
  memberAttribute: z
    .enum(["member", "uniqueMember"], { error: 'memberAttribute must be "member" or "uniqueMember"' })
    .default("member"),
  /**
   * Where groups are searched for when `groupDn` comes from a request field with `prefetch: true`,
   * e.g. ou=groups,dc=example,dc=com. Without it, there is nothing to offer.
   */
  groupSearchBase: z
    .string()
    .refine(isDn, { error: "groupSearchBase must be a DN, like ou=groups,dc=example,dc=com" })
    .optional(),
  /** Where people are searched for, e.g. ou=people,dc=example,dc=com. */
  userSearchBase: z
    .string()
    .refine(isDn, { error: "userSearchBase must be a DN, like ou=people,dc=example,dc=com" }),
  /** The filter that finds one person; {email} is replaced by the email, escaped (RFC 4515). */
  userFilter: z
    .string()
    .refine((f) => f.startsWith("(") && f.endsWith(")") && f.includes("{email}"), {
      error: "userFilter must be an LDAP filter in parentheses containing {email}, like (mail={email})",
    })
    .default("(mail={email})"),
});

export type LdapGroupSettings = z.output<typeof settings>;
export type LdapIntegration = z.output<typeof integration>;

type Ldapts = typeof import("ldapts");
let ldapts: Promise<Ldapts> | undefined;
const loadLdapts = () => {
  ldapts ??= import("ldapts");
  return ldapts;
};

/** LDAP result codes after which retrying cannot help (RFC 4511 §4.1.9). */
const permanentCodes = new Set([
  8, // strongerAuthRequired
  13, // confidentialityRequired
  17, // undefinedAttributeType
  21, // invalidAttributeSyntax
  32, // noSuchObject
  34, // invalidDNSyntax
  48, // inappropriateAuthentication
  49, // invalidCredentials
  50, // insufficientAccessRights
  65, // objectClassViolation
]);

/** The LDAP result code of an ldapts ResultCodeError (socket errors have string codes, like ECONNREFUSED). */
function resultCode(err: unknown): number | undefined {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === "number" ? code : undefined;
}

/** An LDAP failure as the scheduler should see it: permanent for the codes above, retried otherwise. */
function failure(err: unknown, what: string): Error {
  if (err instanceof PermanentTargetError) return err;
  const message = `ldap_group: ${what} failed: ${(err as Error).message}`;
  const code = resultCode(err);
  return code !== undefined && permanentCodes.has(code)
    ? new PermanentTargetError(message, { cause: err })
    : new Error(message, { cause: err });
}

/** Placeholder member value kept in a group that would otherwise be empty (groupOfNames requires one). */
const placeholder = "";

/** A uniqueMember value's DN, without the optional `#'0101'B` unique identifier. */
function memberDn(value: string): string {
  return value.replace(/#'[01]*'B$/, "");
}

export const ldapGroupTarget: ConnectorType<LdapGroupSettings, LdapIntegration> = {
  type: "ldap_group",
  settings,
  bindable: { groupDn: (fixed) => fixed.groupSearchBase !== undefined },
  integration: { type: "ldap", settings: integration },
  create(_info, _settings, ldap) {
    const open = new Set<Client>();

    /** Runs fn on a fresh bound connection, then unbinds; an abort closes the connection at once. */
    async function session<T>(
      signal: AbortSignal,
      fn: (client: Client, lib: Ldapts) => Promise<T>,
    ): Promise<T> {
      signal.throwIfAborted();
      const lib = await loadLdapts();
      const client = new lib.Client({
        url: ldap.url,
        timeout: ldap.timeoutMs,
        connectTimeout: ldap.timeoutMs,
        ...(ldap.url.startsWith("ldaps:")
          ? { tlsOptions: { rejectUnauthorized: ldap.tls?.rejectUnauthorized ?? true } }
          : {}),
      });
      open.add(client);
      let onAbort = () => {};
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(new Error(`ldap_group: aborted: ${String(signal.reason)}`));
        signal.addEventListener("abort", onAbort, { once: true });
      });
      const work = (async () => {
        try {
          await client.bind(ldap.bindDn, readSecret(ldap.bindPassword));
        } catch (err) {
          const { protocol, host } = new URL(ldap.url); // the URL without anything else someone put in it
          throw failure(err, `bind as ${ldap.bindDn} to ${protocol}//${host}`);
        }
        return fn(client, lib);
      })();
      work.catch(() => {});
      try {
        return await Promise.race([work, aborted]);
      } finally {
        signal.removeEventListener("abort", onAbort);
        open.delete(client);
        await client.unbind().catch(() => {});
      }
    }

    /**
     * The DN of the entry the identity names, normalised; undefined when there is none. The requester's
     * email is always searched for with userFilter, never read as a DN.
     */
    async function findPerson(client: Client, lib: Ldapts, call: TargetCall<LdapGroupSettings>) {
      const { identity, settings: s } = call;
      if (namesEntry(identity, call.identityIsEmail)) {
        try {
          const { searchEntries } = await client.search(identity, { scope: "base", attributes: ["1.1"] });
          return searchEntries[0] ? normalizeDn(searchEntries[0].dn) : undefined;
        } catch (err) {
          if (resultCode(err) === 32) return undefined;
          throw failure(err, `looking up ${identity}`);
        }
      }
      const filterText = s.userFilter.replaceAll("{email}", lib.Filter.escape(identity));
      let filter: Filter;
      try {
        filter = lib.FilterParser.parseString(filterText);
      } catch (err) {
        throw new PermanentTargetError(`ldap_group: userFilter ${s.userFilter} is not a valid LDAP filter`, {
          cause: err,
        });
      }
      let found: string[];
      try {
        const { searchEntries } = await client.search(s.userSearchBase, {
          scope: "sub",
          filter,
          attributes: ["1.1"],
          sizeLimit: 2,
        });
        found = searchEntries.map((e) => e.dn);
      } catch (err) {
        if (resultCode(err) === 32) {
          throw new PermanentTargetError(`ldap_group: userSearchBase ${s.userSearchBase} does not exist`, {
            cause: err,
          });
        }
        throw failure(err, `searching ${s.userSearchBase} for ${identity}`);
      }
      if (found.length > 1) {
        throw new PermanentTargetError(
          `ldap_group: several LDAP entries under ${s.userSearchBase} match ${identity}; userFilter must find one`,
        );
      }
      return found[0] === undefined ? undefined : normalizeDn(found[0]);
    }

    /** Applies a modify to the group, naming the group in the errors that concern it. */
    async function modifyGroup(
      client: Client,
      lib: Ldapts,
      s: LdapGroupSettings,
      changes: { operation: "add" | "delete"; value: string }[],
    ) {
      try {
        await client.modify(
          s.groupDn,
          changes.map(
            ({ operation, value }) =>
              new lib.Change({
                operation,
                modification: new lib.Attribute({ type: s.memberAttribute, values: [value] }),
              }),
          ),
        );
      } catch (err) {
        const code = resultCode(err);
        if (code === 32) {
          throw new PermanentTargetError(`ldap_group: group ${s.groupDn} does not exist`, { cause: err });
        }
        if (code === 50) {
          throw new PermanentTargetError(
            `ldap_group: ${ldap.bindDn} may not change ${s.memberAttribute} of ${s.groupDn}`,
            { cause: err },
          );
        }
        throw err;
      }
    }

    /**
     * Refuses jitflow's own entry (the bind DN) as the one to add or remove: checked on the identity
     * before connecting when it is a DN, and on the entry found for it before the group is changed.
     */
    function notSelf(call: TargetCall<LdapGroupSettings>, found?: string): void {
      const dn = found ?? (namesEntry(call.identity, call.identityIsEmail) ? call.identity : undefined);
      if (dn !== undefined && sameDn(dn, ldap.bindDn)) {
        throw new OwnIdentityError(
          "ldap_group",
          call.identity,
          `jitflow's own entry (the bind DN ${ldap.bindDn})`,
        );
      }
    }

    /** The group's member and uniqueMember values as DNs, or undefined when it cannot be read. */
    async function membersOf(client: Client, groupDn: string): Promise<string[] | undefined> {
      try {
        const { searchEntries } = await client.search(groupDn, {
          scope: "base",
          attributes: ["member", "uniqueMember"],
        });
        const entry: Record<string, unknown> = searchEntries[0] ?? {};
        return Object.entries(entry)
          .filter(([k]) => /^(member|uniquemember)$/i.test(k))
          .flatMap(([, v]) => (Array.isArray(v) ? v : [v]))
          .map((v) => memberDn(String(v)));
      } catch (err) {
        if (resultCode(err) === 32) return undefined;
        throw failure(err, `reading ${groupDn}`);
      }
    }

    return {
      identityFor: (email) => email,
      canonical: (identity) => normalizeDn(identity) ?? identity,

      /** A bound groupDn: a groupOfNames or groupOfUniqueNames entry below groupSearchBase, as options() lists. */
      async offers(call: BoundValueCall<LdapGroupSettings>) {
        const base = call.settings.groupSearchBase;
        if (call.key !== "groupDn" || base === undefined || !isBelow(call.value, base)) return false;
        return session(call.signal, async (client) => {
          try {
            const { searchEntries } = await client.search(call.value, {
              scope: "base",
              filter: "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
              attributes: ["1.1"],
            });
            return searchEntries.length === 1;
          } catch (err) {
            if (resultCode(err) === 32) return false;
            throw failure(err, `looking up ${call.value}`);
          }
        });
      },

      /** Never jitflow's own entry, nor a group it is a member of: joining that gives what jitflow has. */
      async refuses(call: BoundValueCall<LdapGroupSettings>) {
        if (call.key !== "groupDn") return undefined;
        if (sameDn(call.value, ldap.bindDn)) return "it is jitflow's own entry (the bind DN)";
        return session(call.signal, async (client) => {
          const members = (await membersOf(client, call.value)) ?? [];
          return members.some((m) => sameDn(m, ldap.bindDn))
            ? `jitflow's own entry (${ldap.bindDn}) is a member: the group gives what jitflow has`
            : undefined;
        });
      },

      async escalate(call: TargetCall<LdapGroupSettings>) {
        const s = call.settings;
        notSelf(call);
        return session(call.signal, async (client, lib) => {
          const dn = await findPerson(client, lib, call);
          if (dn === undefined) {
            throw new PermanentTargetError(
              `ldap_group: no LDAP entry for ${call.identity}${namesEntry(call.identity, call.identityIsEmail) ? "" : ` under ${s.userSearchBase}`}`,
            );
          }
          notSelf(call, dn);
          try {
            await modifyGroup(client, lib, s, [{ operation: "add", value: dn }]);
          } catch (err) {
            if (resultCode(err) !== 20) throw failure(err, `adding ${dn} to ${s.groupDn}`); // 20: already a member
          }
          return { identity: dn };
        });
      },

      async deescalate(call: TargetCall<LdapGroupSettings>) {
        const s = call.settings;
        notSelf(call);
        await session(call.signal, async (client, lib) => {
          // A DN is removed without looking it up: the person may have left the directory since.
          const dn = namesEntry(call.identity, call.identityIsEmail)
            ? normalizeDn(call.identity)
            : await findPerson(client, lib, call);
          if (dn === undefined) return;
          notSelf(call, dn);
          try {
            await modifyGroup(client, lib, s, [{ operation: "delete", value: dn }]);
          } catch (err) {
            const code = resultCode(err);
            if (code === 16) return; // noSuchAttribute: not a member
            if (code !== 65) throw failure(err, `removing ${dn} from ${s.groupDn}`);
            // objectClassViolation: the last member; groupOfNames and groupOfUniqueNames need one, so leave the placeholder.
            try {
              await modifyGroup(client, lib, s, [
                { operation: "delete", value: dn },
                { operation: "add", value: placeholder },
              ]);
            } catch (retryErr) {
              throw failure(retryErr, `removing the last member ${dn} from ${s.groupDn}`);
            }
          }
        });
      },

      async list(call) {
        const s = call.settings;
        return session(call.signal, async (client) => {
          let values: unknown;
          try {
            const { searchEntries } = await client.search(s.groupDn, {
              scope: "base",
              attributes: [s.memberAttribute],
            });
            const entry: Record<string, unknown> = searchEntries[0] ?? {};
            const key = Object.keys(entry).find((k) => k.toLowerCase() === s.memberAttribute.toLowerCase());
            values = key === undefined ? [] : entry[key];
          } catch (err) {
            if (resultCode(err) === 32) {
              throw new PermanentTargetError(`ldap_group: group ${s.groupDn} does not exist`, { cause: err });
            }
            throw failure(err, `reading ${s.groupDn}`);
          }
          const members = (Array.isArray(values) ? values : [values])
            .map((value) => normalizeDn(memberDn(String(value))))
            .filter((dn) => dn !== undefined && dn !== placeholder);
          return [...new Set(members as string[])];
        });
      },

      async options(call) {
        const base = call.settings.groupSearchBase;
        if (call.key !== "groupDn" || base === undefined) return [];
        return session(call.signal, async (client) => {
          try {
            const { searchEntries } = await client.search(base, {
              scope: "sub",
              filter: "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
              attributes: ["1.1"],
              paged: { pageSize: 100 },
            });
            // Labelled by the first RDN's value (cn=ops → ops): reading the entry needs no more access.
            return searchEntries.slice(0, 500).map((entry) => {
              const first = parseDn(entry.dn)?.[0]?.[0];
              return { value: entry.dn, label: first && !first.ber ? first.value : entry.dn };
            });
          } catch (err) {
            if (resultCode(err) === 32) {
              throw new PermanentTargetError(`ldap_group: groupSearchBase ${base} does not exist`, {
                cause: err,
              });
            }
            throw failure(err, `searching ${base} for groups`);
          }
        });
      },

      async close() {
        await Promise.all([...open].map((client) => client.unbind().catch(() => {})));
        open.clear();
      },
    };
  },
};
