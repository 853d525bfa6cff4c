// Who may do what: roles, who may request a flow, and who may decide a request, as tables of cases.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ConfigInput, configSchema, type ParsedConfig } from "../../config/schema.ts";
import type { Permissions, Person, Role, Source } from "../../model/types.ts";
import type { TokenRole } from "../../store/tokens.ts";
import { compileFlow, type LoadedFlow } from "../load-config.ts";
import {
  assertMayDecide,
  assertMayRequest,
  type DeciderRules,
  deciderRules,
  isDecider,
  mayRequest,
  personOf,
  requestableFlows,
  roleOf,
} from "./policy.ts";

type FlowInput = NonNullable<ConfigInput["flows"]>[number];

/** A flow as the loader makes it, with the schema's defaults filled in. */
function loadedFlow(input: Omit<FlowInput, "name"> = {}): LoadedFlow {
  const config = configSchema.parse({ flows: [{ name: "f", ...input }] }).flows[0];
  assert.ok(config);
  return { ...compileFlow(config, undefined), label: config.name };
}

const withDomains: ParsedConfig["users"] = configSchema.parse({
  users: { admins: ["Ops@Example.com"], memberDomains: ["Example.com", "corp.example.org"] },
}).users;
const withoutDomains: ParsedConfig["users"] = configSchema.parse({
  users: { admins: ["ops@example.com"] },
}).users;

const person = (email: string, role: Role): Person => ({ email, name: email.split("@")[0] ?? email, role });

describe("roleOf", () => {
  const cases: [string, ParsedConfig["users"], TokenRole | undefined, Role][] = [
    ["ops@example.com", withDomains, undefined, "admin"],
    ["OPS@example.COM", withDomains, "member", "admin"],
    ["ops@example.com", withoutDomains, "member", "admin"],
    ["alice@example.com", withDomains, "admin", "admin"],
    ["eve@outside.org", withDomains, "admin", "admin"],
    ["ci@example.com", withDomains, "bot", "bot"],
    ["ci@outside.org", withDomains, "bot", "bot"],
    ["ops@example.com", withDomains, "bot", "bot"],
    ["alice@example.com", withDomains, "member", "member"],
    ["alice@example.com", withDomains, undefined, "member"],
    ["Alice@EXAMPLE.com", withDomains, "member", "member"],
    ["bob@corp.example.org", withDomains, "member", "member"],
    ["eve@outside.org", withDomains, "member", "guest"],
    ["eve@outside.org", withDomains, undefined, "guest"],
    ["eve@sub.example.com", withDomains, "member", "guest"],
    ["eve@example.com.evil.org", withDomains, "member", "guest"],
    ["eve@evilexample.com", withDomains, "member", "guest"],
    ["eve@outside.org", withoutDomains, "member", "member"],
    ["eve@outside.org", withoutDomains, undefined, "member"],
  ];
  for (const [email, users, tokenRole, role] of cases) {
    const where = users.memberDomains ? "memberDomains" : "no memberDomains";
    test(`${email} with a ${tokenRole ?? "no"} token and ${where} is ${role}`, () => {
      assert.equal(roleOf(email, users, tokenRole), role);
    });
  }

  test("personOf lowercases the email and names the person after it", () => {
    assert.deepEqual(personOf("Alice@Example.com", withDomains, "member"), {
      email: "alice@example.com",
      name: "alice",
      role: "member",
    });
  });
});

describe("assertMayRequest", () => {
  const everywhere = loadedFlow();
  const webOnly = loadedFlow({ allowedSources: ["web"] });
  const notSlack = loadedFlow({ allowedSources: ["api", "web"] });
  const cases: [Role, LoadedFlow, Source, string | undefined][] = [
    ["member", everywhere, "api", undefined],
    ["member", everywhere, "slack", undefined],
    ["member", everywhere, "web", undefined],
    ["admin", everywhere, "api", undefined],
    ["bot", everywhere, "api", undefined],
    ["guest", everywhere, "api", "GUEST_NOT_ALLOWED"],
    ["guest", everywhere, "web", "GUEST_NOT_ALLOWED"],
    ["guest", webOnly, "api", "GUEST_NOT_ALLOWED"],
    ["member", webOnly, "web", undefined],
    ["member", webOnly, "api", "SOURCE_NOT_ALLOWED"],
    ["member", webOnly, "slack", "SOURCE_NOT_ALLOWED"],
    ["admin", webOnly, "api", "SOURCE_NOT_ALLOWED"],
    ["member", notSlack, "slack", "SOURCE_NOT_ALLOWED"],
    ["member", notSlack, "api", undefined],
  ];
  for (const [role, flow, source, code] of cases) {
    test(`a ${role} asking from ${source} for a flow allowed from ${flow.config.allowedSources.join("+")}: ${code ?? "allowed"}`, () => {
      const who = person(`${role}@example.com`, role);
      if (code) assert.throws(() => assertMayRequest(who, flow, source), { name: "JitflowError", code });
      else assert.doesNotThrow(() => assertMayRequest(who, flow, source));
      assert.equal(mayRequest(who, flow, source), code === undefined);
    });
  }

  test("the refusal names the allowed sources", () => {
    assert.throws(() => assertMayRequest(person("a@example.com", "member"), webOnly, "api"), {
      message: 'flow "f" cannot be requested from api (allowed: web)',
    });
  });

  test("requestableFlows keeps exactly the flows mayRequest allows, in order", () => {
    const named = (name: string, input: Omit<FlowInput, "name"> = {}) => {
      const f = loadedFlow(input);
      return { ...f, config: { ...f.config, name } };
    };
    const flows = [
      named("a"),
      named("web", { allowedSources: ["web"] }),
      named("b", { allowedSources: ["api"] }),
    ];
    const names = (role: Role, source: Source) =>
      requestableFlows(flows, person(`${role}@example.com`, role), source).map((f) => f.config.name);
    assert.deepEqual(names("member", "api"), ["a", "b"]);
    assert.deepEqual(names("bot", "api"), ["a", "b"]);
    assert.deepEqual(names("admin", "web"), ["a", "web"]);
    assert.deepEqual(names("member", "slack"), ["a"]);
    assert.deepEqual(names("guest", "api"), []);
  });
});

describe("deciderRules", () => {
  const noApprovers = loadedFlow();
  const listed = loadedFlow({ approvers: { users: ["DBA@example.com", "lead@example.com"] } });
  const selfOk = loadedFlow({ approvers: { users: ["dba@example.com"], allowSelfApproval: true } });
  const cases: [
    string,
    LoadedFlow | undefined,
    string[] | undefined,
    Permissions | undefined,
    DeciderRules,
  ][] = [
    ["no approvers: admins only", noApprovers, undefined, undefined, rules([], "admin", false)],
    ["flow no longer configured: admins only", undefined, undefined, undefined, rules([], "admin", false)],
    [
      "config users, lowercased by the schema",
      listed,
      undefined,
      undefined,
      rules(["dba@example.com", "lead@example.com"], "admin", false),
    ],
    ["config allowSelfApproval", selfOk, undefined, undefined, rules(["dba@example.com"], "admin", true)],
    [
      "getApprovers replaces the config users",
      listed,
      ["Oncall@Example.com"],
      undefined,
      rules(["oncall@example.com"], "admin", false),
    ],
    ["getApprovers may name nobody", listed, [], undefined, rules([], "admin", false)],
    [
      "getPermissions list replaces config users and getApprovers",
      listed,
      ["oncall@example.com"],
      { approveDeny: ["Sec@Example.com"] },
      rules(["sec@example.com"], "admin", false),
    ],
    [
      "getPermissions level keeps the users",
      listed,
      undefined,
      { approveDeny: "member" },
      rules(["dba@example.com", "lead@example.com"], "member", false),
    ],
    ["getPermissions level all", noApprovers, undefined, { approveDeny: "all" }, rules([], "all", false)],
    [
      "getPermissions allowSelfApproval overrides the config (on)",
      listed,
      undefined,
      { allowSelfApproval: true },
      rules(["dba@example.com", "lead@example.com"], "admin", true),
    ],
    [
      "getPermissions allowSelfApproval overrides the config (off)",
      selfOk,
      undefined,
      { allowSelfApproval: false },
      rules(["dba@example.com"], "admin", false),
    ],
    [
      "getPermissions without allowSelfApproval keeps the config's",
      selfOk,
      undefined,
      { approveDeny: "member" },
      rules(["dba@example.com"], "member", true),
    ],
  ];
  for (const [name, flow, fromGetApprovers, fromGetPermissions, want] of cases) {
    test(name, () => {
      assert.deepEqual(deciderRules(flow, fromGetApprovers, fromGetPermissions), want);
    });
  }
});

function rules(users: string[], level: DeciderRules["level"], allowSelfApproval: boolean): DeciderRules {
  return { users, level, allowSelfApproval };
}

describe("isDecider and assertMayDecide", () => {
  const requester = "alice@example.com";
  const listed = rules(["dba@example.com", "ci@example.com", "eve@outside.org"], "admin", false);
  const cases: [string, Person, DeciderRules, string | undefined][] = [
    ["a listed member", person("dba@example.com", "member"), listed, undefined],
    ["an unlisted member", person("dave@example.com", "member"), listed, "NOT_AN_APPROVER"],
    ["an admin, listed or not", person("ops@example.com", "admin"), listed, undefined],
    [
      "an admin when only admins decide",
      person("ops@example.com", "admin"),
      rules([], "admin", false),
      undefined,
    ],
    [
      "a member when only admins decide",
      person("dba@example.com", "member"),
      rules([], "admin", false),
      "NOT_AN_APPROVER",
    ],
    ["a bot, even when listed", person("ci@example.com", "bot"), listed, "NOT_AN_APPROVER"],
    ["a bot when everyone may", person("ci@example.com", "bot"), rules([], "all", false), "NOT_AN_APPROVER"],
    ["a listed guest", person("eve@outside.org", "guest"), listed, undefined],
    [
      "an unlisted guest at level member",
      person("mallory@outside.org", "guest"),
      rules([], "member", false),
      "NOT_AN_APPROVER",
    ],
    ["a guest at level all", person("mallory@outside.org", "guest"), rules([], "all", false), undefined],
    [
      "any member at level member",
      person("dave@example.com", "member"),
      rules([], "member", false),
      undefined,
    ],
    [
      "the requester, without allowSelfApproval",
      person(requester, "member"),
      rules([requester], "admin", false),
      "SELF_APPROVAL",
    ],
    [
      "the requester at level member, without allowSelfApproval",
      person(requester, "member"),
      rules([], "member", false),
      "SELF_APPROVAL",
    ],
    [
      "the requester as admin, without allowSelfApproval",
      person(requester, "admin"),
      rules([], "admin", false),
      "SELF_APPROVAL",
    ],
    [
      "the requester, with allowSelfApproval",
      person(requester, "member"),
      rules([requester], "admin", true),
      undefined,
    ],
    [
      "the requester as admin, with allowSelfApproval",
      person(requester, "admin"),
      rules([], "admin", true),
      undefined,
    ],
    [
      "the requester who is no approver, with allowSelfApproval",
      person(requester, "member"),
      rules([], "admin", true),
      "NOT_AN_APPROVER",
    ],
  ];
  for (const [name, who, r, code] of cases) {
    test(`${name}: ${code ?? "may decide"}`, () => {
      if (code) assert.throws(() => assertMayDecide(who, requester, r), { name: "JitflowError", code });
      else assert.doesNotThrow(() => assertMayDecide(who, requester, r));
      assert.equal(isDecider(who, r), code !== "NOT_AN_APPROVER");
    });
  }

  test("through personOf and deciderRules: the flow's approver list with case-insensitive emails", () => {
    const flow = loadedFlow({ approvers: { users: ["DBA@Example.com"] } });
    const r = deciderRules(flow, undefined, undefined);
    assert.doesNotThrow(() =>
      assertMayDecide(personOf("Dba@example.COM", withDomains, "member"), requester, r),
    );
    assert.throws(() => assertMayDecide(personOf("dave@example.com", withDomains, "member"), requester, r), {
      code: "NOT_AN_APPROVER",
    });
    assert.throws(
      () => assertMayDecide(personOf("ops@example.com", withDomains, "member"), "ops@example.com", r),
      {
        code: "SELF_APPROVAL",
      },
    );
  });
});
