// The ldap_group connector against a real OpenLDAP slapd, bound as a least-privilege service account.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { isBelow, type LdapGroupSettings, ldapGroupTarget, normalizeDn } from "../src/targets/ldap-group.ts";
import { OwnIdentityError, PermanentTargetError, type TargetConnector } from "../src/targets/target.ts";
import {
  asAdmin,
  baseDn,
  groupMembers,
  groups,
  oddMail,
  type Slapd,
  slapdSkipReason,
  startSlapd,
} from "./support/slapd.ts";
import { type ContractPerson, callFor, targetContract } from "./support/target-contract.ts";

const userSearchBase = `ou=people,${baseDn}`;
const dnOf = (uid: string) => `uid=${uid},ou=people,${baseDn}`;
const person = (uid: string): ContractPerson => ({
  email: `${uid}@example.com`,
  identity: `${uid}@example.com`,
  canonical: dnOf(uid),
});

const isPermanent = (pattern: RegExp) => (err: unknown) =>
  err instanceof PermanentTargetError && pattern.test(err.message);
const isRetried = (err: unknown) => err instanceof Error && !(err instanceof PermanentTargetError);

function settingsFor(input: Record<string, unknown>): LdapGroupSettings {
  return ldapGroupTarget.settings.parse({ userSearchBase, ...input });
}

/** A connector bound as the service account, its password in a fresh environment variable. */
function connect(slapd: Slapd, password = slapd.servicePassword) {
  const env = `JITFLOW_TEST_LDAP_${randomBytes(6).toString("hex").toUpperCase()}`;
  process.env[env] = password;
  const integration = ldapGroupTarget.integration?.settings.parse({
    type: "ldap",
    url: slapd.url,
    bindDn: slapd.serviceDn,
    bindPassword: { env },
    timeoutMs: 3000,
  });
  assert.ok(integration);
  const settings = settingsFor({ groupDn: groups.names });
  const connector = ldapGroupTarget.create(
    { name: "ldap", type: "ldap_group", label: "LDAP", settings: {} },
    settings,
    integration,
  );
  return {
    connector,
    async close() {
      await connector.close?.();
      delete process.env[env];
    },
  };
}

describe("ldap_group settings", () => {
  test("DNs are normalised to one form", () => {
    const cases: [string, string | undefined][] = [
      [dnOf("alice"), dnOf("alice")],
      ["UID=Alice, ou=People ,DC=example,dc=com", "uid=Alice,ou=People,dc=example,dc=com"],
      ["cn=Smith\\2C John,dc=example", "cn=Smith\\, John,dc=example"],
      ["cn=Smith\\, John,dc=example", "cn=Smith\\, John,dc=example"],
      ["SN=y + cn=x,dc=example", "cn=x+sn=y,dc=example"],
      ["cn=\\ lead,dc=example", "cn=\\ lead,dc=example"],
      ["cn=trail\\ ,dc=example", "cn=trail\\ ,dc=example"],
      ["cn=caf\\C3\\A9,dc=example", "cn=café,dc=example"],
      ["cn=#04024869,dc=example", "cn=#04024869,dc=example"],
      ["", ""],
      ["alice@example.com", undefined],
      ["a*)(uid=*@example.com", undefined],
      ["cn=a,", undefined],
      ["cn=a\\zz,dc=example", undefined],
      ["cn=a;b,dc=example", undefined],
      ["=a,dc=example", undefined],
    ];
    for (const [input, expected] of cases) assert.equal(normalizeDn(input), expected, input);
  });

  test("below a base means RDN by RDN, without case", () => {
    const base = `ou=groups,${baseDn}`;
    const cases: [string, boolean][] = [
      [`cn=ops,${base}`, true],
      ["CN=ops , OU=Groups,DC=Example,dc=com", true],
      [`cn=a,cn=b,${base}`, true],
      [base, false],
      [`cn=ops,ou=privileged,${baseDn}`, false],
      [`cn=x\\,ou=groups,${baseDn}`, false],
      [`cn=ops,ou=groups,dc=example,dc=org`, false],
      ["not a dn", false],
    ];
    for (const [dn, below] of cases) assert.equal(isBelow(dn, base), below, dn);
  });

  test("settings and integration are checked at load", () => {
    const ok = settingsFor({ groupDn: groups.names });
    assert.equal(ok.memberAttribute, "member");
    assert.equal(ok.userFilter, "(mail={email})");
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ groupDn: "ops" }, /groupDn must be a DN/],
      [{ groupDn: groups.names, memberAttribute: "members" }, /memberAttribute must be/],
      [{ groupDn: groups.names, userFilter: "(mail=alice@example.com)" }, /containing \{email\}/],
      [{ groupDn: groups.names, userSearchBase: "people" }, /userSearchBase must be a DN/],
      [{ groupDn: groups.names, group: "ops" }, /group/],
    ];
    for (const [input, message] of bad) {
      const result = ldapGroupTarget.settings.safeParse({ userSearchBase, ...input });
      assert.ok(!result.success, JSON.stringify(input));
      assert.match(result.error.message, message);
    }
    const integration = ldapGroupTarget.integration?.settings;
    assert.ok(integration);
    const good = {
      type: "ldap",
      url: "ldaps://ldap.example.com",
      bindDn: "cn=jitflow,dc=example",
      bindPassword: { env: "X" },
    };
    assert.ok(integration.safeParse(good).success);
    assert.match(
      String(integration.safeParse({ ...good, url: "http://ldap.example.com" }).error?.issues[0]?.message),
      /ldap:\/\/ or ldaps:\/\//,
    );
    assert.match(
      String(integration.safeParse({ ...good, bindPassword: "secret" }).error?.issues[0]?.message),
      /secrets are never written inline/,
    );
  });
});

const skip = slapdSkipReason();
if (skip) {
  test("ldap_group against slapd", { skip }, () => {});
} else {
  for (const [memberAttribute, groupDn] of [
    ["member", groups.names],
    ["uniqueMember", groups.uniqueNames],
  ] as const) {
    targetContract(`ldap_group (${memberAttribute})`, async () => {
      const slapd = await startSlapd();
      const { connector, close } = connect(slapd);
      return {
        connector: connector as TargetConnector<LdapGroupSettings>,
        settings: settingsFor({ groupDn, memberAttribute }),
        people: [person("alice"), person("bob")],
        holders: () => groupMembers(slapd, groupDn, memberAttribute),
        makeUnavailable: () => slapd.stop(),
        restore: () => slapd.start(),
        unknownSettings: settingsFor({ groupDn: `cn=nope,ou=groups,${baseDn}`, memberAttribute }),
        async close() {
          await close();
          await slapd.close();
        },
      };
    });
  }

  describe("ldap_group against slapd", () => {
    let slapd: Slapd;
    let ldap: ReturnType<typeof connect>;
    const ops = settingsFor({ groupDn: groups.names });
    const opsMembers = () => groupMembers(slapd, groups.names, "member");
    const call = (identity: string, settings = ops) => callFor(person("x"), settings, identity);

    before(async () => {
      slapd = await startSlapd();
      ldap = connect(slapd);
    });
    after(async () => {
      await ldap?.close();
      await slapd?.close();
    });

    test("an email is escaped before it goes into the filter", async () => {
      // Unescaped, each of these would be a filter of its own: the first one matches alice.
      for (const email of ["alice@example.co*", "*", "a*)(uid=*@example.com"]) {
        await assert.rejects(ldap.connector.escalate(call(email)), isPermanent(/no LDAP entry for/), email);
      }
      assert.deepEqual(await opsMembers(), []);
      const granted = await ldap.connector.escalate(call(oddMail));
      assert.equal(granted?.identity, dnOf("obrien"));
      assert.deepEqual(await opsMembers(), [dnOf("obrien")]);
      await ldap.connector.deescalate(call(oddMail));
      assert.deepEqual(await opsMembers(), []);
    });

    test("an email that finds several entries is refused for good", async () => {
      await assert.rejects(
        ldap.connector.escalate(call("twin@example.com")),
        isPermanent(/several LDAP entries/),
      );
      assert.deepEqual(await opsMembers(), []);
    });

    test("a DN identity is used as is, in whatever spelling", async () => {
      const granted = await ldap.connector.escalate(call("UID=erin, ou=people,dc=example,dc=com"));
      assert.equal(granted?.identity, dnOf("erin"));
      assert.deepEqual(await opsMembers(), [dnOf("erin")]);
      await ldap.connector.deescalate(call("uid=erin , OU=people,dc=example,dc=com"));
      assert.deepEqual(await opsMembers(), []);
      await assert.rejects(
        ldap.connector.escalate(call(dnOf("nobody"))),
        isPermanent(/no LDAP entry for uid=nobody/),
      );
      assert.deepEqual(await opsMembers(), []);
    });

    test("the service account cannot change a group outside ou=groups", async () => {
      const privileged = settingsFor({ groupDn: groups.privileged });
      await assert.rejects(
        ldap.connector.escalate(call("alice@example.com", privileged)),
        isPermanent(/may not change member/),
      );
      await assert.rejects(
        ldap.connector.deescalate(call(dnOf("alice"), privileged)),
        (err) => err instanceof PermanentTargetError,
      );
      assert.deepEqual(await groupMembers(slapd, groups.privileged, "member"), []);
    });

    test("jitflow's own entry (the bind DN) is never added or removed, however it is spelled", async () => {
      const own = "CN=Jitflow, OU=services,dc=example,dc=com";
      await assert.rejects(
        ldap.connector.escalate(call(own)),
        (err: unknown) => err instanceof OwnIdentityError && err.message.includes("the bind DN"),
      );
      await assert.rejects(ldap.connector.deescalate(call(own)), OwnIdentityError);
      assert.deepEqual(await opsMembers(), []);
    });

    test("the requester's email is searched for, never read as a DN, however it is shaped", async () => {
      const asEmail = (identity: string) => ({ ...call(identity), identityIsEmail: true });
      await assert.rejects(
        ldap.connector.escalate(asEmail(dnOf("alice"))),
        isPermanent(new RegExp(`no LDAP entry for ${dnOf("alice")} under ${userSearchBase}`)),
      );
      assert.deepEqual(await opsMembers(), []);
      // Granted to alice's entry by a mapping, it is not taken away by an email that spells her DN.
      await ldap.connector.escalate(call(dnOf("alice")));
      await ldap.connector.deescalate(asEmail(dnOf("alice")));
      assert.deepEqual(await opsMembers(), [dnOf("alice")]);
      await ldap.connector.deescalate(call(dnOf("alice")));
      assert.deepEqual(await opsMembers(), []);
    });

    test("a bound group is offered when it is a group below groupSearchBase", async () => {
      const bound = settingsFor({ groupDn: groups.names, groupSearchBase: `ou=groups,${baseDn}` });
      const offers = (value: string, settings = bound) =>
        ldap.connector.offers?.({ key: "groupDn", value, settings, signal: AbortSignal.timeout(60_000) });
      assert.equal(await offers(groups.names), true);
      assert.equal(await offers("CN=dev, ou=Groups,dc=example,dc=com"), true);
      assert.equal(await offers(groups.privileged), false, "outside groupSearchBase");
      assert.equal(await offers(`cn=x\\,ou=groups,${baseDn}`), false, "an escaped comma is no separator");
      assert.equal(await offers(`cn=nope,ou=groups,${baseDn}`), false, "no such group");
      assert.equal(await offers(`ou=groups,${baseDn}`), false, "the base itself");
      assert.equal(await offers(groups.names, settingsFor({ groupDn: groups.names })), false, "no base");
    });

    test("a group jitflow's own entry belongs to, or that entry itself, is never granted", async () => {
      const writers = `cn=writers,ou=groups,${baseDn}`;
      await asAdmin(slapd, (admin) =>
        admin.add(writers, {
          objectClass: "groupOfUniqueNames",
          cn: "writers",
          uniqueMember: `CN=jitflow,ou=services,${baseDn}`,
        }),
      );
      const refuses = (value: string) =>
        ldap.connector.refuses?.({
          key: "groupDn",
          value,
          settings: settingsFor({ groupDn: value }),
          signal: AbortSignal.timeout(60_000),
        });
      assert.equal(await refuses(groups.names), undefined);
      assert.equal(await refuses(groups.solo), undefined);
      assert.match((await refuses(writers)) ?? "", /jitflow's own entry .* is a member/);
      assert.equal(await refuses(slapd.serviceDn), "it is jitflow's own entry (the bind DN)");
    });

    test("a person deleted from the directory after the grant is removed without error", async () => {
      const granted = await ldap.connector.escalate(call("dave@example.com"));
      assert.equal(granted?.identity, dnOf("dave"));
      await asAdmin(slapd, (admin) => admin.del(dnOf("dave")));
      // By email there is nobody left to find: nothing to do.
      await ldap.connector.deescalate(call("dave@example.com"));
      // By DN (what escalate returned) the dangling member value is removed.
      assert.deepEqual(await opsMembers(), [dnOf("dave")]);
      await ldap.connector.deescalate(call(dnOf("dave")));
      await ldap.connector.deescalate(call(dnOf("dave")));
      assert.deepEqual(await opsMembers(), []);
    });

    test("removing a group's last member leaves the empty placeholder groupOfNames needs", async () => {
      const solo = settingsFor({ groupDn: groups.solo });
      const list = () =>
        ldap.connector.list?.({ module: undefined, signal: AbortSignal.timeout(60_000), settings: solo });
      assert.deepEqual(await list(), [dnOf("carol")]);
      await ldap.connector.deescalate(call(dnOf("carol"), solo));
      assert.deepEqual(await list(), []);
      const raw = await asAdmin(slapd, (admin) =>
        admin.search(groups.solo, { scope: "base", attributes: ["member"] }),
      );
      assert.deepEqual(raw.searchEntries[0]?.member, "");
      await ldap.connector.escalate(call("carol@example.com", solo));
      assert.deepEqual(await list(), [dnOf("carol")]);
    });

    test("a wrong password or a missing search base is permanent; an aborted call is not", async () => {
      const wrong = connect(slapd, "not-the-password");
      try {
        await assert.rejects(
          wrong.connector.escalate(call("alice@example.com")),
          isPermanent(/bind as .* failed/),
        );
      } finally {
        await wrong.close();
      }
      await assert.rejects(
        ldap.connector.escalate(
          call(
            "alice@example.com",
            settingsFor({ groupDn: groups.names, userSearchBase: `ou=staff,${baseDn}` }),
          ),
        ),
        isPermanent(/userSearchBase ou=staff,dc=example,dc=com does not exist/),
      );
      const aborted = { ...call("alice@example.com"), signal: AbortSignal.abort() };
      await assert.rejects(ldap.connector.escalate(aborted), isRetried);
      assert.deepEqual(await opsMembers(), []);
    });
  });
}
