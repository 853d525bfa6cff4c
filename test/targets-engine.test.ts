// Real targets through the running server (a real OpenLDAP slapd): identities (getIdentity, per-user
// mapping, the default), the identity stored with the grant, field bindings, and drift detection with
// `jitflow drift`, the audit log and the error channel.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Attribute, Change } from "ldapts";
import { reconcileTarget } from "../src/engine/drift.ts";
import { FakeSlack } from "./support/fake-slack.ts";
import {
  eventually,
  importJitflow,
  startTestServer,
  type TestServer,
  waitForState,
} from "./support/harness.ts";
import { runCli } from "./support/server-process.ts";
import {
  asAdmin,
  baseDn,
  groupMembers,
  groups,
  type Slapd,
  slapdSkipReason,
  startSlapd,
} from "./support/slapd.ts";

const skip = slapdSkipReason();
const dn = (uid: string) => `uid=${uid},ou=people,${baseDn}`;
const people = `ou=people,${baseDn}`;

const config = (s: Slapd) => `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  slack: { errorChannel: "#jitflow-errors" },
  integrations: {
    directory: {
      type: "ldap",
      url: "${s.url}",
      bindDn: "${s.serviceDn}",
      bindPassword: env("TEST_LDAP_PASSWORD"),
      // Per-user mapping shared by the integration's targets.
      identities: { "dave@example.com": "${dn("erin")}" },
    },
  },
  targets: {
    ops: {
      type: "ldap_group",
      label: "Ops group",
      integration: "directory",
      groupDn: "${groups.names}",
      userSearchBase: "${people}",
      identities: { "carol@example.com": "${dn("dave")}" },
      // Written as a person would; compared in the form the directory lists it.
      drift: { mode: "revoke", interval: "1h", standing: ["UID=erin, ou=people,${baseDn}"] },
    },
    any_group: {
      type: "ldap_group",
      label: "A group of your choice",
      integration: "directory",
      userSearchBase: "${people}",
      groupSearchBase: "ou=groups,${baseDn}",
      fieldBindings: ["groupDn"],
      drift: { mode: "revoke", interval: "1h" },
    },
  },
  flows: [
    { name: "ops", targets: ["ops"], durations: ["1h"], implementation: "./flows/auto.ts" },
    {
      name: "group",
      targets: ["any_group"],
      durations: ["1h"],
      fields: [{ name: "groupDn", type: "string", prefetch: true }],
      implementation: "./flows/auto.ts",
    },
  ],
});
`;

const autoFlow = `import { approve } from "jitflow";
import type { FlowEvent } from "jitflow";
export async function onRequest() {
  return approve({ reason: "automatic" });
}
// bob is known to the directory by another entry: getIdentity wins over every mapping.
export async function getIdentity(evt: FlowEvent) {
  return evt.requester.email === "bob@example.com" ? "${dn("carol")}" : undefined;
}
`;

describe("real targets through the server", { skip }, () => {
  let slapd: Slapd;
  let slack: FakeSlack;
  let t: TestServer;
  const members = () => groupMembers(slapd, groups.names, "member");

  before(async () => {
    slapd = await startSlapd();
    slack = await FakeSlack.start({
      users: ["alice", "bob", "carol", "dave", "admin"].map((n) => ({
        id: `U0${n.toUpperCase()}`,
        email: `${n}@example.com`,
      })),
    });
    t = await startTestServer({
      config: config(slapd),
      files: { "flows/auto.ts": autoFlow },
      env: {
        TEST_LDAP_PASSWORD: slapd.servicePassword,
        SLACK_BOT_TOKEN: slack.token,
        SLACK_SIGNING_SECRET: "drift-test-secret",
        SLACK_API_URL: slack.apiUrl,
      },
    });
  });
  after(async () => {
    await t?.close();
    await slack?.close();
    await slapd?.close();
  });

  async function ask(who: string, flow: string, fields?: Record<string, unknown>): Promise<string> {
    const res = await t
      .as(who)
      .post("/api/v1/requests", { flow, duration: "1h", ...(fields ? { fields } : {}) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await waitForState(t.as(who), res.body.id, ["active"]);
    return res.body.id;
  }

  test("identities: the email by default, the target's mapping, the integration's, getIdentity over all", async () => {
    const ids = [
      await ask("alice@example.com", "ops"), // mail=alice@example.com → uid=alice
      await ask("carol@example.com", "ops"), // the target maps carol to uid=dave
      await ask("dave@example.com", "ops"), // the integration maps dave to uid=erin
      await ask("bob@example.com", "ops"), // getIdentity answers uid=carol
    ];
    assert.deepEqual((await members()).sort(), [dn("alice"), dn("carol"), dn("dave"), dn("erin")].sort());
    // Revoking takes away what was granted: the identity stored with the grant.
    for (const id of ids) {
      const res = await t.as("admin@example.com").post(`/api/v1/requests/${id}/revoke`, {});
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    await Promise.all(ids.map((id) => waitForState(t.as("admin@example.com"), id, ["ended"])));
    // erin is a standing member: jitflow's own revocation leaves her access alone.
    assert.deepEqual(await members(), [dn("erin")]);
    const events = await t.as("admin@example.com").get(`/api/v1/requests/${ids[2]}/events`);
    const ended = events.body.items.find((e: { type: string }) => e.type === "grant.ended");
    assert.equal(ended.data.standing, true);
  });

  test("prefetch offers the groups the directory has, from the connector", async () => {
    const res = await t.as("alice@example.com").get("/api/v1/flows/group/fields/groupDn/options");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.items.map((o: { value: string; label: string }) => [o.label, o.value]).sort(), [
      ["dev", groups.uniqueNames],
      ["ops", groups.names],
      ["solo", groups.solo],
    ]);
    const typed = await t.as("alice@example.com").get("/api/v1/flows/group/fields/groupDn/options?q=CN%3DSo");
    assert.deepEqual(typed.body.items, [{ value: groups.solo, label: "solo" }]);
  });

  test("field bindings: the group comes from the request; different groups are different grants", async () => {
    const bad = await t.as("alice@example.com").post("/api/v1/requests", {
      flow: "group",
      duration: "1h",
      fields: { groupDn: "not a DN" },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "FIELD_INVALID");
    assert.equal(bad.body.error.details.fields[0].field, "groupDn");

    const inOps = await ask("alice@example.com", "group", { groupDn: groups.names });
    const inSolo = await ask("alice@example.com", "group", { groupDn: groups.solo });
    assert.ok((await members()).includes(dn("alice")));
    assert.ok((await groupMembers(slapd, groups.solo, "member")).includes(dn("alice")));
    await t.as("alice@example.com").post(`/api/v1/requests/${inOps}/revoke`, {});
    await waitForState(t.as("alice@example.com"), inOps, ["ended"]);
    assert.ok(!(await members()).includes(dn("alice")), "the ops grant ended");
    assert.ok(
      (await groupMembers(slapd, groups.solo, "member")).includes(dn("alice")),
      "the solo grant did not",
    );
    await t.as("alice@example.com").post(`/api/v1/requests/${inSolo}/revoke`, {});
    await waitForState(t.as("alice@example.com"), inSolo, ["ended"]);
    assert.ok(!(await groupMembers(slapd, groups.solo, "member")).includes(dn("alice")));
  });

  test("drift: removed by hand, added by hand, standing, outlived; `jitflow drift` shows it", async () => {
    const admin = t.as("admin@example.com");
    const add = (uid: string) =>
      asAdmin(slapd, (c) =>
        c.modify(groups.names, [
          new Change({
            operation: "add",
            modification: new Attribute({ type: "member", values: [dn(uid)] }),
          }),
        ]),
      );
    const remove = (uid: string) =>
      asAdmin(slapd, (c) =>
        c.modify(groups.names, [
          new Change({
            operation: "delete",
            modification: new Attribute({ type: "member", values: [dn(uid)] }),
          }),
        ]),
      );
    // A baseline check: the first listing of a target only reports.
    await reconcileTarget(t.server.deps, "ops");

    const granted = await ask("alice@example.com", "ops");
    await remove("alice"); // removed by hand
    await add("bob"); // added by hand
    await add("carol"); // outlived: granted before, ended, and back by hand
    if (!(await members()).includes(dn("erin"))) await add("erin"); // standing

    const cli = await runCli(["drift", "--target", "ops", "--exit-code"], {
      JITFLOW_URL: t.url,
      JITFLOW_TOKEN: admin.token,
    });
    assert.equal(cli.code, 2, cli.stderr);
    assert.match(cli.stdout, new RegExp(`ops +missing +${dn("alice")} +request ${granted}`));
    assert.match(cli.stdout, new RegExp(`ops +unmanaged +${dn("bob")}`));
    assert.match(cli.stdout, new RegExp(`ops +outlived +${dn("carol")}`));
    assert.doesNotMatch(cli.stdout, /uid=erin/);
    assert.deepEqual(
      (await members()).sort(),
      [dn("bob"), dn("carol"), dn("erin")].sort(),
      "`jitflow drift` changes nothing",
    );

    const first = await reconcileTarget(t.server.deps, "ops");
    assert.equal(first.missing.length, 1);
    // Outlived access is taken away at once; access added by hand is revoked in mode "revoke".
    assert.deepEqual(await members(), [dn("erin")]);
    const audit = await admin.get("/api/v1/audit?limit=200");
    const types = audit.body.items.map((e: { type: string }) => e.type);
    assert.ok(types.includes("drift.unmanaged") && types.includes("drift.outlived"));
    const unmanaged = audit.body.items.find((e: { type: string }) => e.type === "drift.unmanaged");
    assert.deepEqual(unmanaged.data, { target: "ops", identity: dn("bob"), revoked: true });
    const missing = audit.body.items.find((e: { type: string }) => e.type === "grant.missing");
    assert.equal(missing.requestId, granted);

    // The error channel hears of access added by hand and of access that outlived its grant; the
    // requester hears that theirs was removed.
    const posts = await eventually(async () => {
      const texts = slack.messages("#jitflow-errors").map((m) => m.text);
      return texts.some((x) => x.includes("did not grant")) && texts.some((x) => x.includes("outlived"))
        ? texts
        : undefined;
    }, "the error channel posts");
    assert.ok(posts.some((x) => x.includes(dn("bob")) && x.includes("taken away")));
    await eventually(
      async () =>
        slack.dms("U0ALICE").find((m) => m.text.includes("someone removed it in the target by hand")),
      "alice's DM about her access removed by hand",
    );

    // Reported once: the same difference on the next check is not reported again.
    await reconcileTarget(t.server.deps, "ops");
    const again = await admin.get("/api/v1/audit?limit=200");
    assert.equal(again.body.items.filter((e: { type: string }) => e.type === "grant.missing").length, 1);

    const clean = await runCli(["drift", "--target", "ops"], {
      JITFLOW_URL: t.url,
      JITFLOW_TOKEN: admin.token,
    });
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /missing/);
    await admin.post(`/api/v1/requests/${granted}/revoke`, {});
    await waitForState(admin, granted, ["ended"]);
    const none = await runCli(["drift", "--target", "ops", "--exit-code"], {
      JITFLOW_URL: t.url,
      JITFLOW_TOKEN: admin.token,
    });
    assert.equal(none.code, 0, none.stdout);
    assert.match(none.stdout, /No drift: 1 target\(s\)/);
  });

  test("drift in revoke mode: a group listed for the first time only reports; a grant being made is never taken away", async () => {
    const db = t.server.deps.store.db;
    await t.server.drift.stop(); // the test's own checks only
    await db.deleteFrom("drift_scopes").where("target", "=", "any_group").execute();
    const solo = () => groupMembers(slapd, groups.solo, "member");
    const inSolo = (r: { unmanaged: { identity: string; scope?: unknown }[] }) =>
      r.unmanaged
        .filter((e) => (e.scope as { groupDn?: string })?.groupDn === groups.solo)
        .map((e) => e.identity);
    assert.ok((await solo()).includes(dn("carol")), "carol is in solo, not through jitflow");

    // Alice asked for solo before (that grant ended) and asks again now.
    const again = await ask("alice@example.com", "group", { groupDn: groups.solo });
    const first = await reconcileTarget(t.server.deps, "any_group");
    assert.deepEqual(inSolo(first), [dn("carol")]);
    assert.ok((await solo()).includes(dn("carol")), "the first listing of a group revokes nothing");

    // The new grant as it is while being made: granted in the directory, its identity not yet recorded.
    await db.updateTable("grants").set({ identity: null }).where("request_id", "=", again).execute();
    const unsettled = await reconcileTarget(t.server.deps, "any_group");
    assert.deepEqual(inSolo(unsettled), [], "nothing is called unmanaged while a grant has no identity yet");
    assert.ok(
      !unsettled.outlived.some((e) => e.identity === dn("alice")),
      "alice's ended grant is not outlived while she has a live one",
    );
    assert.deepEqual((await solo()).sort(), [dn("alice"), dn("carol")].sort());

    await db
      .updateTable("grants")
      .set({ identity: dn("alice") })
      .where("request_id", "=", again)
      .execute();
    const settled = await reconcileTarget(t.server.deps, "any_group");
    assert.deepEqual(inSolo(settled), [dn("carol")]);
    assert.deepEqual(
      await solo(),
      [dn("alice")],
      "in a group listed before, access added by hand is revoked",
    );

    await t.as("alice@example.com").post(`/api/v1/requests/${again}/revoke`, {});
    await waitForState(t.as("alice@example.com"), again, ["ended"]);
    await asAdmin(slapd, (c) =>
      c.modify(groups.solo, [
        new Change({
          operation: "add",
          modification: new Attribute({ type: "member", values: [dn("carol")] }),
        }),
      ]),
    );
  });

  test("a grant made to another identity (the mapping changed) is revoked even while a newer one lives", async () => {
    const db = t.server.deps.store.db;
    const has = async (uid: string) => (await members()).includes(dn(uid));
    assert.ok(!(await has("alice")) && !(await has("bob")));
    const older = await ask("alice@example.com", "ops");
    // As if the older grant had been made to bob's entry under a mapping since changed.
    await db
      .updateTable("grants")
      .set({ identity: dn("bob") })
      .where("request_id", "=", older)
      .execute();
    await asAdmin(slapd, (c) =>
      c.modify(groups.names, [
        new Change({
          operation: "add",
          modification: new Attribute({ type: "member", values: [dn("bob")] }),
        }),
      ]),
    );
    const newer = await ask("alice@example.com", "ops");
    assert.ok((await has("alice")) && (await has("bob")));

    await t.as("alice@example.com").post(`/api/v1/requests/${older}/revoke`, {});
    await waitForState(t.as("alice@example.com"), older, ["ended"]);
    assert.ok(!(await has("bob")), "bob's entry lost it");
    assert.ok(await has("alice"), "alice's newer grant kept it");

    await t.as("alice@example.com").post(`/api/v1/requests/${newer}/revoke`, {});
    await waitForState(t.as("alice@example.com"), newer, ["ended"]);
    assert.ok(!(await has("alice")));
  });

  test("the reconciler runs on its own, and only admins may look", async () => {
    const member = await t.as("alice@example.com").get("/api/v1/admin/drift");
    assert.equal(member.status, 403);
    const unknown = await t.as("admin@example.com").get("/api/v1/admin/drift?target=nope");
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, "TARGET_NOT_FOUND");
    await t.server.drift.runOnce();
    const runs = await t.server.deps.store.db
      .selectFrom("drift_runs")
      .selectAll()
      .orderBy("target")
      .execute();
    assert.deepEqual(
      runs.map((r) => r.target),
      ["any_group", "ops"],
    );
    assert.ok(runs.every((r) => Number(r.last_run_at) > 0 && r.lease_owner === null));
  });
});
