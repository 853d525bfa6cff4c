// The aws_sso and aws_iam_group targets: the official AWS SDK v3 clients talking to a local fake of AWS.

import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { RetryLaterError } from "../src/errors.ts";
import { type AwsIntegration, awsIntegration } from "../src/targets/aws-common.ts";
import { type AwsIamGroupSettings, awsIamGroupTarget } from "../src/targets/aws-iam-group.ts";
import { type AwsSsoSettings, awsSsoTarget, checkAwsSsoSettings } from "../src/targets/aws-sso.ts";
import { OwnIdentityError, PermanentTargetError, type TargetConnector } from "../src/targets/target.ts";
import { FakeAws } from "./support/fake-aws.ts";
import { eventually } from "./support/harness.ts";
import { type ContractPerson, callFor, targetContract } from "./support/target-contract.ts";

const accessKeyId = "AKIAJITFLOWTEST00001";
const keyEnv = `JITFLOW_TEST_AWS_KEY_${randomBytes(4).toString("hex")}`;
const secretEnv = `JITFLOW_TEST_AWS_SECRET_${randomBytes(4).toString("hex")}`;
process.env[keyEnv] = accessKeyId;
process.env[secretEnv] = "test-secret-access-key";
after(() => {
  delete process.env[keyEnv];
  delete process.env[secretEnv];
});

const accountId = "111122223333";

function integrationFor(fake: FakeAws, extra: Partial<AwsIntegration> = {}): AwsIntegration {
  return awsIntegration.parse({
    type: "aws",
    region: "eu-west-1",
    endpoint: fake.endpoint,
    accessKeyId: { env: keyEnv },
    secretAccessKey: { env: secretEnv },
    // Two attempts and a short time limit keep "AWS is down" tests fast; the defaults are 3 and 10 s.
    maxAttempts: 2,
    timeoutMs: 2_000,
    ...extra,
  });
}

function info(type: string) {
  return { name: `t_${type}`, type, label: type, settings: {} };
}

function sso(
  fake: FakeAws,
  s: AwsSsoSettings,
  extra: Partial<AwsIntegration> = {},
): TargetConnector<AwsSsoSettings> {
  return awsSsoTarget.create(info("aws_sso"), s, integrationFor(fake, extra));
}

function iamGroup(fake: FakeAws, s: AwsIamGroupSettings, extra: Partial<AwsIntegration> = {}) {
  return awsIamGroupTarget.create(info("aws_iam_group"), s, integrationFor(fake, extra));
}

function person(email: string, canonical: string, identity = email): ContractPerson {
  return { email, identity, canonical };
}

const list = (c: TargetConnector<unknown>, settings: unknown) =>
  c.list?.({ module: undefined, signal: AbortSignal.timeout(20_000), settings }) ?? Promise.resolve([]);

const isRetried = (err: unknown) => err instanceof Error && !(err instanceof PermanentTargetError);

/** A permission set ARN of the right shape that the fake does not know. */
const unknownPermissionSet = "arn:aws:sso:::permissionSet/ssoins-1111222233334444/ps-0000000000000000";

targetContract("aws_sso (account assignment)", async () => {
  const fake = await FakeAws.start(accessKeyId);
  fake.addAccount(accountId);
  const permissionSetArn = fake.addPermissionSet();
  // alice's userName is not her email: found through emails.value. bob's userName is his email.
  fake.addUser("alice", "alice@example.com");
  fake.addUser("bob@example.com", "bob@example.com");
  fake.addUser("carol", "carol@example.com");
  fake.assign(accountId, permissionSetArn, "carol"); // a third holder: list() needs two pages
  const settings = {
    instanceArn: fake.instanceArn,
    identityStoreId: fake.identityStoreId,
    permissionSetArn,
    accountId,
  };
  const connector = sso(fake, settings);
  return {
    connector,
    settings,
    people: [person("alice@example.com", "alice"), person("bob@example.com", "bob@example.com")],
    holders: async () => fake.assignmentHolders(accountId, permissionSetArn),
    makeUnavailable: () => fake.stop(),
    restore: () => fake.start(),
    unknownSettings: { ...settings, permissionSetArn: unknownPermissionSet },
    close: async () => {
      await connector.close?.();
      await fake.close();
    },
  };
});

targetContract("aws_sso (group membership)", async () => {
  const fake = await FakeAws.start(accessKeyId);
  const groupId = fake.addGroup("Admins");
  fake.addUser("alice", "alice@example.com");
  fake.addUser("bob", "bob@example.com");
  fake.addUser("carol", "carol@example.com");
  fake.addGroupMember(groupId, "carol");
  const settings = { instanceArn: fake.instanceArn, identityStoreId: fake.identityStoreId, groupId };
  const connector = sso(fake, settings);
  return {
    connector,
    settings,
    people: [person("alice@example.com", "alice"), person("bob@example.com", "bob", "bob")],
    holders: async () => fake.groupHolders(groupId),
    makeUnavailable: async () => fake.inject("unavailable", { times: Infinity }),
    restore: async () => fake.clearFaults(),
    unknownSettings: { ...settings, groupId: randomUUID() },
    close: async () => {
      await connector.close?.();
      await fake.close();
    },
  };
});

targetContract("aws_iam_group", async () => {
  const fake = await FakeAws.start(accessKeyId);
  fake.addIamGroup("Deployers");
  fake.addIamUser("alice@example.com");
  fake.addIamUser("Bob@Example.com"); // IAM matches names case-insensitively and reports them as created
  fake.addIamUser("ci-deployer");
  fake.addIamGroupMember("Deployers", "ci-deployer");
  const settings = { groupName: "Deployers" };
  const connector = iamGroup(fake, settings);
  return {
    connector,
    settings,
    people: [person("alice@example.com", "alice@example.com"), person("bob@example.com", "Bob@Example.com")],
    holders: async () => fake.iamGroupHolders("Deployers"),
    makeUnavailable: async () => fake.inject("internal", { times: Infinity }),
    restore: async () => fake.clearFaults(),
    unknownSettings: { groupName: "NoSuchGroup" },
    close: async () => {
      await connector.close?.();
      await fake.close();
    },
  };
});

describe("aws_sso account assignments", () => {
  let fake: FakeAws;
  let permissionSetArn: string;
  let settings: AwsSsoSettings;
  let connector: TargetConnector<AwsSsoSettings>;
  const dana = person("dana@example.com", "dana");
  before(async () => {
    fake = await FakeAws.start(accessKeyId);
    fake.addAccount(accountId);
    permissionSetArn = fake.addPermissionSet();
    fake.addUser("dana", "dana@example.com");
    settings = {
      instanceArn: fake.instanceArn,
      identityStoreId: fake.identityStoreId,
      permissionSetArn,
      accountId,
    };
    connector = sso(fake, settings);
  });
  after(async () => {
    await connector?.close?.();
    await fake?.close();
  });

  test("waits for the assignment to leave IN_PROGRESS, polling its status", async () => {
    fake.pollsInProgress = 2;
    try {
      const before = fake.requests.length;
      await connector.escalate(callFor(dana, settings));
      const ops = fake.requests.slice(before).map((r) => r.operation);
      assert.equal(ops.filter((o) => o === "DescribeAccountAssignmentCreationStatus").length, 3);
      assert.deepEqual(fake.assignmentHolders(accountId, permissionSetArn), ["dana"]);

      const beforeDelete = fake.requests.length;
      await connector.deescalate(callFor(dana, settings, "dana"));
      const deletes = fake.requests.slice(beforeDelete).map((r) => r.operation);
      assert.equal(deletes.filter((o) => o === "DescribeAccountAssignmentDeletionStatus").length, 3);
      assert.deepEqual(fake.assignmentHolders(accountId, permissionSetArn), []);
    } finally {
      fake.pollsInProgress = 0;
    }
  });

  test("an assignment that never settles gives up when the call's signal fires, to be retried", async () => {
    fake.pollsInProgress = 1_000;
    try {
      // The signal fires once the assignment is being polled, not after a time that a slow machine could
      // spend looking the user up.
      const polls = () =>
        fake.requests.filter((r) => r.operation === "DescribeAccountAssignmentCreationStatus").length;
      const before = polls();
      const controller = new AbortController();
      const escalating = assert.rejects(
        () => connector.escalate({ ...callFor(dana, settings), signal: controller.signal }),
        (err: unknown) => isRetried(err) && /still in progress/.test((err as Error).message),
      );
      await eventually(async () => (polls() > before ? true : undefined), "the assignment to be polled");
      controller.abort();
      await escalating;
    } finally {
      fake.pollsInProgress = 0;
    }
  });

  test("an assignment that FAILs is a permanent failure carrying AWS's reason", async () => {
    const reason = "Received a 400 status error: The permission set is not provisioned in the account";
    fake.failNextAssignment(reason);
    await assert.rejects(
      () => connector.escalate(callFor(dana, settings)),
      (err: unknown) => err instanceof PermanentTargetError && err.message.includes(reason),
    );
    assert.deepEqual(fake.assignmentHolders(accountId, permissionSetArn), []);
  });

  test("an assignment that FAILs on a conflict inside Identity Center is retried", async () => {
    fake.failNextAssignment("Received a 409 status error: Another operation is in progress for this account");
    await assert.rejects(() => connector.escalate(callFor(dana, settings)), isRetried);
  });

  test("an account outside the organization is a permanent failure", async () => {
    await assert.rejects(
      () => connector.escalate(callFor(dana, { ...settings, accountId: "999999999999" })),
      (err: unknown) => err instanceof PermanentTargetError && /999999999999/.test(err.message),
    );
  });

  test("ConflictException 'already exists' on create is success", async () => {
    fake.conflictOnExisting = true;
    try {
      await connector.escalate(callFor(dana, settings));
      const result = await connector.escalate(callFor(dana, settings));
      assert.equal(result?.identity, "dana");
      assert.equal(fake.requests.at(-1)?.status, 400, "the fake did answer ConflictException");
      assert.deepEqual(fake.assignmentHolders(accountId, permissionSetArn), ["dana"]);
    } finally {
      fake.conflictOnExisting = false;
      await connector.deescalate(callFor(dana, settings, "dana"));
    }
  });

  test("someone with no Identity Center user: escalate fails for good, deescalate succeeds", async () => {
    const ghost = person("ghost@example.com", "ghost");
    await assert.rejects(
      () => connector.escalate(callFor(ghost, settings)),
      (err: unknown) => err instanceof PermanentTargetError && err.message.includes("ghost@example.com"),
    );
    await connector.deescalate(callFor(ghost, settings, "ghost"));
  });

  test("a user deleted from the identity store after the grant: deescalate is success", async () => {
    fake.addUser("erin", "erin@example.com");
    await connector.escalate(callFor(person("erin@example.com", "erin"), settings));
    fake.removeUser("erin");
    await connector.deescalate(callFor(person("erin@example.com", "erin"), settings, "erin"));
  });

  test("throttling is retried by the SDK; persistent throttling fails for now, with Retry-After honoured", async () => {
    fake.inject("throttle", { operation: "CreateAccountAssignment", times: 1 });
    await connector.escalate(callFor(dana, settings));
    const creates = fake.requests.filter((r) => r.operation === "CreateAccountAssignment").slice(-2);
    assert.deepEqual(
      creates.map((r) => r.status),
      [400, 200],
    );

    fake.inject("throttle", { operation: "DeleteAccountAssignment", times: Infinity });
    try {
      await assert.rejects(
        () => connector.deescalate(callFor(dana, settings, "dana")),
        (err: unknown) =>
          isRetried(err) && !(err instanceof RetryLaterError) && /ThrottlingException/.test(String(err)),
      );
      fake.clearFaults();
      fake.inject("throttle", {
        operation: "DeleteAccountAssignment",
        times: Infinity,
        retryAfterSeconds: 1,
      });
      await assert.rejects(
        () => connector.deescalate(callFor(dana, settings, "dana")),
        (err: unknown) => err instanceof RetryLaterError && err.retryAfterMs === 1000,
      );
    } finally {
      fake.clearFaults();
    }
    await connector.deescalate(callFor(dana, settings, "dana"));
    assert.deepEqual(fake.assignmentHolders(accountId, permissionSetArn), []);
  });

  test("a 500 is retried by the SDK", async () => {
    fake.inject("internal", { operation: "GetUserId", times: 1 });
    await connector.escalate(callFor(dana, settings));
    assert.deepEqual(fake.assignmentHolders(accountId, permissionSetArn), ["dana"]);
    await connector.deescalate(callFor(dana, settings, "dana"));
  });

  test("access denied is permanent, on escalate and deescalate", async () => {
    fake.inject("accessDenied", { operation: "CreateAccountAssignment", times: 1 });
    await assert.rejects(
      () => connector.escalate(callFor(dana, settings)),
      (err: unknown) =>
        err instanceof PermanentTargetError &&
        /AccessDeniedException.*sso:CreateAccountAssignment/.test(err.message),
    );
    fake.inject("accessDenied", { operation: "DeleteAccountAssignment", times: 1 });
    fake.assign(accountId, permissionSetArn, "dana");
    await assert.rejects(
      () => connector.deescalate(callFor(dana, settings, "dana")),
      (err: unknown) => err instanceof PermanentTargetError,
    );
    await connector.deescalate(callFor(dana, settings, "dana"));
  });

  test("list() follows NextToken through every page", async () => {
    const names = ["u1", "u2", "u3", "u4", "u5"];
    for (const n of names) {
      fake.addUser(n, `${n}@example.com`);
      fake.assign(accountId, permissionSetArn, n);
    }
    const before = fake.requests.length;
    assert.deepEqual((await list(connector, settings)).sort(), names);
    const pages = fake.requests.slice(before).filter((r) => r.operation === "ListAccountAssignments");
    assert.equal(pages.length, 3);
    assert.equal(pages[0]?.params.NextToken, undefined);
    assert.ok(pages[1]?.params.NextToken && pages[2]?.params.NextToken);
  });

  test("every request is signed with SigV4 and the integration's access key", async () => {
    assert.ok(fake.requests.length > 0);
    for (const r of fake.requests) {
      assert.match(
        r.authorization ?? "",
        /^AWS4-HMAC-SHA256 Credential=AKIAJITFLOWTEST00001\/\d{8}\/eu-west-1\//,
      );
      assert.equal(r.accessKeyId, accessKeyId);
      assert.equal(r.signingService, r.service === "sso-admin" ? "sso" : "identitystore");
      assert.equal(
        r.target?.split(".")[0],
        r.service === "sso-admin" ? "SWBExternalService" : "AWSIdentityStore",
      );
    }
    // The fake does check the key: another one is refused, and nothing is granted.
    const otherEnv = `JITFLOW_TEST_AWS_OTHER_${randomBytes(4).toString("hex")}`;
    process.env[otherEnv] = "AKIASOMEONEELSE00001";
    const other = sso(fake, settings, { accessKeyId: { env: otherEnv } });
    try {
      await assert.rejects(
        () => other.escalate(callFor(dana, settings)),
        (err: unknown) =>
          err instanceof PermanentTargetError && /UnrecognizedClientException/.test(err.message),
      );
      assert.ok(!fake.assignmentHolders(accountId, permissionSetArn).includes("dana"));
    } finally {
      await other.close?.();
      delete process.env[otherEnv];
    }
  });

  test("settings of neither or both forms are refused before calling AWS", async () => {
    const base = { instanceArn: fake.instanceArn, identityStoreId: fake.identityStoreId };
    const before = fake.requests.length;
    await assert.rejects(
      () => connector.escalate(callFor(dana, { ...base, accountId })),
      (err: unknown) => err instanceof PermanentTargetError && /permissionSetArn/.test(err.message),
    );
    assert.equal(fake.requests.length, before);
  });
});

describe("aws_sso group membership", () => {
  let fake: FakeAws;
  let groupId: string;
  let settings: AwsSsoSettings;
  let connector: TargetConnector<AwsSsoSettings>;
  const dana = person("dana@example.com", "dana");
  before(async () => {
    fake = await FakeAws.start(accessKeyId);
    groupId = fake.addGroup("Admins");
    fake.addUser("dana", "dana@example.com");
    settings = { instanceArn: fake.instanceArn, identityStoreId: fake.identityStoreId, groupId };
    connector = sso(fake, settings);
  });
  after(async () => {
    await connector?.close?.();
    await fake?.close();
  });

  test("throttling answered by Identity Store is retried, and a persistent one fails for now", async () => {
    fake.inject("throttle", { operation: "CreateGroupMembership", times: 1 });
    await connector.escalate(callFor(dana, settings));
    assert.deepEqual(fake.groupHolders(groupId), ["dana"]);
    fake.inject("throttle", { operation: "GetGroupMembershipId", times: Infinity });
    try {
      await assert.rejects(() => connector.deescalate(callFor(dana, settings, "dana")), isRetried);
    } finally {
      fake.clearFaults();
    }
    await connector.deescalate(callFor(dana, settings, "dana"));
    assert.deepEqual(fake.groupHolders(groupId), []);
  });

  test("access denied is permanent", async () => {
    fake.inject("accessDenied", { operation: "CreateGroupMembership" });
    await assert.rejects(
      () => connector.escalate(callFor(dana, settings)),
      (err: unknown) =>
        err instanceof PermanentTargetError && /identitystore:CreateGroupMembership/.test(err.message),
    );
  });

  test("list() follows NextToken through every page", async () => {
    const names = ["g1", "g2", "g3", "g4", "g5"];
    for (const n of names) {
      fake.addUser(n);
      fake.addGroupMember(groupId, n);
    }
    const before = fake.requests.length;
    assert.deepEqual((await list(connector, settings)).sort(), names);
    assert.equal(fake.requests.slice(before).filter((r) => r.operation === "ListGroupMemberships").length, 3);
  });
});

describe("aws_iam_group", () => {
  let fake: FakeAws;
  let connector: TargetConnector<AwsIamGroupSettings>;
  const settings = { groupName: "Ops" };
  const dana = person("dana@example.com", "dana@example.com");
  before(async () => {
    fake = await FakeAws.start(accessKeyId);
    fake.addIamGroup("Ops");
    fake.addIamUser("dana@example.com");
    connector = iamGroup(fake, settings);
  });
  after(async () => {
    await connector?.close?.();
    await fake?.close();
  });

  test("an unknown user or an impossible name fails for good on escalate and is success on deescalate", async () => {
    for (const identity of ["nobody@example.com", "not a user name"]) {
      await assert.rejects(
        () => connector.escalate(callFor(person(identity, identity), settings)),
        (err: unknown) =>
          err instanceof PermanentTargetError && err.message.includes(JSON.stringify(identity)),
      );
      await connector.deescalate(callFor(person(identity, identity), settings));
    }
    assert.deepEqual(fake.iamGroupHolders("Ops"), []);
  });

  test("the IAM user jitflow's key belongs to is never added or removed; with a role's key there is none", async () => {
    fake.addIamUser("jitflow");
    fake.addIamGroupMember("Ops", "jitflow");
    fake.callerUser = "jitflow";
    const own = iamGroup(fake, settings);
    const sent = fake.requests.length;
    try {
      for (const name of ["jitflow", "JitFlow"]) {
        await assert.rejects(
          () => own.escalate(callFor(person(name, name), settings)),
          (err: unknown) =>
            err instanceof OwnIdentityError &&
            err.message.includes("the IAM user jitflow's credentials belong to"),
        );
        await assert.rejects(() => own.deescalate(callFor(person(name, name), settings)), OwnIdentityError);
      }
      assert.deepEqual(fake.iamGroupHolders("Ops"), ["jitflow"]);
      const made = fake.requests.slice(sent).map((r) => r.operation);
      assert.ok(!made.includes("AddUserToGroup") && !made.includes("RemoveUserFromGroup"), String(made));
    } finally {
      await own.close?.();
      fake.callerUser = undefined;
      fake.removeIamUser("jitflow");
    }
    // A role's credentials: GetUser without a name is a ValidationError, and nobody is refused for it.
    await connector.escalate(callFor(dana, settings));
    await connector.deescalate(callFor(dana, settings));
    assert.deepEqual(fake.iamGroupHolders("Ops"), []);
  });

  test("a bound group is offered when it exists, and refused when jitflow's own user is in it", async () => {
    fake.addIamGroup("JitflowAdmins");
    fake.addIamUser("jitflow");
    fake.addIamGroupMember("JitflowAdmins", "jitflow");
    fake.callerUser = "jitflow";
    const own = iamGroup(fake, settings);
    const ask = (value: string) => ({
      key: "groupName",
      value,
      settings: { groupName: value },
      signal: AbortSignal.timeout(20_000),
    });
    try {
      assert.equal(await own.offers?.(ask("Ops")), true);
      assert.equal(await own.offers?.(ask("Nope")), false);
      assert.equal(await own.offers?.({ ...ask("Ops"), key: "userName" }), false);
      assert.equal(await own.refuses?.(ask("Ops")), undefined);
      assert.equal(
        await own.refuses?.(ask("jitflowadmins")),
        "jitflow's own IAM user jitflow is in the group: it gives what jitflow may do",
      );
    } finally {
      await own.close?.();
      fake.callerUser = undefined;
      fake.removeIamUser("jitflow");
    }
    // With a role's credentials there is no own user, and no group is refused for it.
    assert.equal(await connector.refuses?.(ask("JitflowAdmins")), undefined);
  });

  test("an unknown group is permanent, with IAM's message", async () => {
    await assert.rejects(
      () => connector.escalate(callFor(dana, { groupName: "Nope" })),
      (err: unknown) =>
        err instanceof PermanentTargetError && /group with name Nope cannot be found/.test(err.message),
    );
    await connector.deescalate(callFor(dana, { groupName: "Nope" }));
  });

  test("Throttling is retried by the SDK; a persistent one fails for now", async () => {
    fake.inject("throttle", { operation: "AddUserToGroup", times: 1 });
    await connector.escalate(callFor(dana, settings));
    assert.deepEqual(fake.iamGroupHolders("Ops"), ["dana@example.com"]);
    fake.inject("throttle", { operation: "RemoveUserFromGroup", times: Infinity });
    try {
      await assert.rejects(
        () => connector.deescalate(callFor(dana, settings)),
        (err: unknown) => isRetried(err) && /Throttling/.test(String(err)),
      );
    } finally {
      fake.clearFaults();
    }
    await connector.deescalate(callFor(dana, settings));
    assert.deepEqual(fake.iamGroupHolders("Ops"), []);
  });

  test("AccessDenied is permanent", async () => {
    fake.inject("accessDenied", { operation: "AddUserToGroup" });
    await assert.rejects(
      () => connector.escalate(callFor(dana, settings)),
      (err: unknown) =>
        err instanceof PermanentTargetError && /AccessDenied.*iam:AddUserToGroup/.test(err.message),
    );
  });

  test("list() follows Marker while IsTruncated", async () => {
    const names = ["i1", "i2", "i3", "i4", "i5"];
    for (const n of names) {
      fake.addIamUser(n);
      fake.addIamGroupMember("Ops", n);
    }
    const before = fake.requests.length;
    assert.deepEqual((await list(connector, settings)).sort(), names);
    const pages = fake.requests.slice(before).filter((r) => r.operation === "GetGroup");
    assert.deepEqual(
      pages.map((p) => p.params.Marker !== undefined),
      [false, true, true],
    );
  });

  test("requests are Query-protocol POSTs signed for IAM with the integration's key", () => {
    const iamRequests = fake.requests.filter((r) => r.service === "iam");
    assert.ok(iamRequests.length > 0);
    for (const r of iamRequests) {
      assert.equal(r.params.Version, "2010-05-08");
      assert.equal(r.accessKeyId, accessKeyId);
      assert.equal(r.signingService, "iam");
      assert.match(r.authorization ?? "", /^AWS4-HMAC-SHA256 /);
    }
  });
});

/** What a field bound to `key` with `prefetch: true` is offered. */
function optionsOf<S>(
  connector: TargetConnector<S>,
  key: string,
  settings: Partial<S>,
  signal = AbortSignal.timeout(20_000),
) {
  assert.ok(connector.options, "the connector lists options");
  return connector.options({ key, settings, query: "", signal });
}

const byLabel = (a: { label: string }, b: { label: string }) => a.label.localeCompare(b.label);

/** Answers once every request already sent to `fake` has been read: a request that was on its way has arrived. */
async function roundTrip(fake: FakeAws): Promise<void> {
  const probe = iamGroup(fake, { groupName: "Probe" });
  try {
    await probe.deescalate(callFor(person("probe@example.com", "probe"), { groupName: "Probe" }));
  } finally {
    await probe.close?.();
  }
}

describe("aws_iam_group options", () => {
  let fake: FakeAws;
  let connector: TargetConnector<AwsIamGroupSettings>;
  const names = ["Admins", "Deployers", "Ops", "ReadOnly", "Support"];
  before(async () => {
    fake = await FakeAws.start(accessKeyId);
    for (const n of names) fake.addIamGroup(n);
    connector = iamGroup(fake, { groupName: "Ops" });
  });
  after(async () => {
    await connector?.close?.();
    await fake?.close();
  });

  test("a bound groupName is offered the account's groups, following Marker while IsTruncated", async () => {
    const before = fake.requests.length;
    const options = await optionsOf(connector, "groupName", {});
    assert.deepEqual(
      options.sort(byLabel),
      names.map((n) => ({ value: n, label: n })),
    );
    const pages = fake.requests.slice(before);
    assert.deepEqual(
      pages.map((r) => [r.operation, r.status, r.params.Marker !== undefined]),
      [
        ["ListGroups", 200, false],
        ["ListGroups", 200, true],
        ["ListGroups", 200, true],
      ],
    );
    assert.ok(pages.every((r) => r.params.MaxItems === "500" && r.params.Version === "2010-05-08"));
  });

  test("another key offers nothing, and IAM is not called", async () => {
    const before = fake.requests.length;
    assert.deepEqual(await optionsOf(connector, "userName", {}), []);
    assert.equal(fake.requests.length, before);
  });

  test("throttling is retried, then fails for now; AccessDenied is permanent", async () => {
    fake.inject("throttle", { operation: "ListGroups", times: 1 });
    assert.equal((await optionsOf(connector, "groupName", {})).length, names.length);

    fake.inject("throttle", { operation: "ListGroups", times: Infinity });
    try {
      await assert.rejects(
        () => optionsOf(connector, "groupName", {}),
        (err: unknown) => isRetried(err) && /aws_iam_group: ListGroups failed: Throttling/.test(String(err)),
      );
    } finally {
      fake.clearFaults();
    }
    fake.inject("accessDenied", { operation: "ListGroups" });
    await assert.rejects(
      () => optionsOf(connector, "groupName", {}),
      (err: unknown) => err instanceof PermanentTargetError && /iam:ListGroups/.test(err.message),
    );
  });

  test("stops paging once it has 500 groups", async () => {
    const large = await FakeAws.start(accessKeyId);
    large.pageSize = 100;
    for (let i = 0; i < 730; i++) large.addIamGroup(`team-${i}`);
    const many = iamGroup(large, { groupName: "team-0" });
    try {
      const options = await optionsOf(many, "groupName", {});
      assert.equal(options.length, 500);
      assert.equal(new Set(options.map((o) => o.value)).size, 500);
      assert.equal(large.operations("iam").length, 5, "five pages of 100, not eight");
    } finally {
      await many.close?.();
      await large.close();
    }
  });

  test("the integration's timeoutMs ends a request IAM does not answer, with the signal still open", {
    timeout: 20_000,
  }, async () => {
    const quick = iamGroup(fake, { groupName: "Ops" }, { timeoutMs: 300, maxAttempts: 1 });
    try {
      fake.hold("ListGroups");
      const pending = optionsOf(quick, "groupName", {}, AbortSignal.timeout(60_000));
      await fake.waitForHeld(1);
      await assert.rejects(pending, (err: unknown) => isRetried(err));
    } finally {
      fake.release();
      await quick.close?.();
    }
  });

  test("the call's signal aborts a request IAM does not answer", { timeout: 20_000 }, async () => {
    fake.hold("ListGroups");
    const controller = new AbortController();
    const pending = optionsOf(connector, "groupName", {}, controller.signal);
    await fake.waitForHeld(1);
    controller.abort();
    await assert.rejects(pending, (err: unknown) => isRetried(err) && /aborted/.test(String(err)));
    await fake.stop();
    await fake.start();
  });
});

describe("aws_sso options", () => {
  let fake: FakeAws;
  let connector: TargetConnector<AwsSsoSettings>;
  let base: Pick<AwsSsoSettings, "instanceArn" | "identityStoreId">;
  const permissionSets: Record<string, string> = {};
  const groups: Record<string, string> = {};
  before(async () => {
    fake = await FakeAws.start(accessKeyId);
    for (const name of ["AdministratorAccess", "Billing", "ReadOnlyAccess"]) {
      permissionSets[name] = fake.addPermissionSet(name);
    }
    for (const name of ["Auditors", "Developers", "Platform Admins"]) groups[name] = fake.addGroup(name);
    base = { instanceArn: fake.instanceArn, identityStoreId: fake.identityStoreId };
    connector = sso(fake, { ...base, groupId: groups.Auditors });
  });
  after(async () => {
    await connector?.close?.();
    await fake?.close();
  });

  test("a bound permissionSetArn is offered the instance's permission sets, by name", async () => {
    const before = fake.requests.length;
    const options = await optionsOf(connector, "permissionSetArn", { ...base, accountId });
    assert.deepEqual(
      options.sort(byLabel),
      Object.entries(permissionSets).map(([label, value]) => ({ value, label })),
    );
    // What AWS lists is a value the settings accept once the field fills it in.
    for (const o of options) {
      const filled = awsSsoTarget.settings.safeParse({ ...base, permissionSetArn: o.value, accountId });
      assert.equal(filled.success, true, o.value);
    }
    const sent = fake.requests.slice(before);
    const lists = sent.filter((r) => r.operation === "ListPermissionSets");
    assert.deepEqual(
      lists.map((r) => r.params.NextToken !== undefined),
      [false, true],
    );
    assert.ok(lists.every((r) => r.params.InstanceArn === fake.instanceArn && r.params.MaxResults === 100));
    const described = sent.filter((r) => r.operation === "DescribePermissionSet");
    assert.deepEqual(
      described.map((r) => r.params.PermissionSetArn).sort(),
      Object.values(permissionSets).sort(),
    );
    assert.ok(sent.every((r) => r.target?.startsWith("SWBExternalService.") && r.signingService === "sso"));
  });

  test("a bound groupId is offered the identity store's groups, by display name", async () => {
    const before = fake.requests.length;
    const options = await optionsOf(connector, "groupId", base);
    assert.deepEqual(
      options.sort(byLabel),
      Object.entries(groups).map(([label, value]) => ({ value, label })),
    );
    const sent = fake.requests.slice(before);
    assert.deepEqual(
      sent.map((r) => [r.operation, r.params.NextToken !== undefined]),
      [
        ["ListGroups", false],
        ["ListGroups", true],
      ],
    );
    assert.ok(
      sent.every(
        (r) =>
          r.target === "AWSIdentityStore.ListGroups" &&
          r.signingService === "identitystore" &&
          r.params.IdentityStoreId === fake.identityStoreId &&
          r.params.MaxResults === 100,
      ),
    );
  });

  test("a bound permission set or group is offered when the instance or store has it; an account never is", async () => {
    const ask = (key: string, value: string) => ({
      key,
      value,
      settings: { ...base, [key]: value } as AwsSsoSettings,
      signal: AbortSignal.timeout(20_000),
    });
    assert.equal(await connector.offers?.(ask("permissionSetArn", permissionSets.Billing as string)), true);
    assert.equal(await connector.offers?.(ask("permissionSetArn", unknownPermissionSet)), false);
    assert.equal(await connector.offers?.(ask("groupId", groups.Developers as string)), true);
    assert.equal(await connector.offers?.(ask("groupId", randomUUID())), false);
    const before = fake.requests.length;
    assert.equal(await connector.offers?.(ask("accountId", accountId)), false);
    assert.equal(fake.requests.length, before, "AWS is not asked about an account");
  });

  test("accountId, other keys, and settings without the instance or store offer nothing, without calling AWS", async () => {
    const before = fake.requests.length;
    assert.deepEqual(
      await optionsOf(connector, "accountId", { ...base, permissionSetArn: permissionSets.Billing }),
      [],
    );
    assert.deepEqual(await optionsOf(connector, "instanceArn", base), []);
    assert.deepEqual(
      await optionsOf(connector, "permissionSetArn", { identityStoreId: fake.identityStoreId }),
      [],
    );
    assert.deepEqual(await optionsOf(connector, "groupId", { instanceArn: fake.instanceArn }), []);
    assert.equal(fake.requests.length, before);
  });

  test("describes at most ten permission sets at once, skipping one deleted meanwhile", async () => {
    const large = await FakeAws.start(accessKeyId);
    large.pageSize = 100;
    const arns = Array.from({ length: 25 }, (_, i) =>
      large.addPermissionSet(`Set${String(i).padStart(2, "0")}`),
    );
    const many = sso(large, {
      instanceArn: large.instanceArn,
      identityStoreId: large.identityStoreId,
      groupId: randomUUID(),
    });
    try {
      large.hold("DescribePermissionSet");
      const pending = optionsOf(many, "permissionSetArn", { instanceArn: large.instanceArn });
      await large.waitForHeld(10);
      await roundTrip(large);
      assert.equal(
        large.heldCount,
        10,
        "no eleventh DescribePermissionSet before the first ten are answered",
      );
      const gone = arns[20] ?? "";
      large.removePermissionSet(gone);
      large.release();
      const options = await pending;
      assert.equal(options.length, 24);
      assert.ok(!options.some((o) => o.value === gone));
      assert.deepEqual(options[0], { value: arns[0], label: "Set00" });
    } finally {
      await many.close?.();
      await large.close();
    }
  });

  test("stops listing once it has 500 permission sets or groups", async () => {
    const large = await FakeAws.start(accessKeyId);
    large.pageSize = 100;
    for (let i = 0; i < 610; i++) {
      large.addPermissionSet(`Set${i}`);
      large.addGroup(`team-${i}`);
    }
    const settings = { instanceArn: large.instanceArn, identityStoreId: large.identityStoreId };
    const many = sso(large, { ...settings, groupId: randomUUID() });
    try {
      const sets = await optionsOf(many, "permissionSetArn", settings);
      assert.equal(sets.length, 500);
      assert.equal(large.operations().filter((o) => o === "ListPermissionSets").length, 5);
      assert.equal(large.operations().filter((o) => o === "DescribePermissionSet").length, 500);
      const teams = await optionsOf(many, "groupId", settings);
      assert.equal(teams.length, 500);
      assert.equal(new Set(teams.map((o) => o.value)).size, 500);
      assert.equal(large.operations("identitystore").length, 5);
    } finally {
      await many.close?.();
      await large.close();
    }
  });

  test("access denied is permanent; throttling with Retry-After is RetryLaterError", async () => {
    fake.inject("accessDenied", { operation: "ListPermissionSets" });
    await assert.rejects(
      () => optionsOf(connector, "permissionSetArn", base),
      (err: unknown) =>
        err instanceof PermanentTargetError &&
        /aws_sso: ListPermissionSets failed: AccessDeniedException.*sso:ListPermissionSets/.test(err.message),
    );
    fake.inject("accessDenied", { operation: "DescribePermissionSet" });
    await assert.rejects(
      () => optionsOf(connector, "permissionSetArn", base),
      (err: unknown) => err instanceof PermanentTargetError && /sso:DescribePermissionSet/.test(err.message),
    );
    fake.inject("accessDenied", { operation: "ListGroups" });
    await assert.rejects(
      () => optionsOf(connector, "groupId", base),
      (err: unknown) => err instanceof PermanentTargetError && /identitystore:ListGroups/.test(err.message),
    );
    fake.inject("throttle", { operation: "ListGroups", times: Infinity, retryAfterSeconds: 2 });
    try {
      await assert.rejects(
        () => optionsOf(connector, "groupId", base),
        (err: unknown) => err instanceof RetryLaterError && err.retryAfterMs === 2000,
      );
    } finally {
      fake.clearFaults();
    }
    assert.equal((await optionsOf(connector, "groupId", base)).length, 3);
  });

  test("the call's signal aborts a request AWS does not answer", { timeout: 20_000 }, async () => {
    fake.hold("ListGroups");
    const controller = new AbortController();
    const pending = optionsOf(connector, "groupId", base, controller.signal);
    await fake.waitForHeld(1);
    controller.abort();
    await assert.rejects(pending, (err: unknown) => isRetried(err) && /aborted/.test(String(err)));
    await fake.stop();
    await fake.start();
  });
});

describe("aws settings", () => {
  test("aws_sso takes exactly one form: an account assignment or a group", () => {
    const ps = unknownPermissionSet;
    const cases: [Partial<AwsSsoSettings>, string[], RegExp | undefined][] = [
      [{ permissionSetArn: ps, accountId }, [], undefined],
      [{ groupId: randomUUID() }, [], undefined],
      [{ permissionSetArn: ps }, ["accountId"], undefined],
      [{}, ["groupId"], undefined],
      [{}, [], /either|give permissionSetArn/],
      [{ permissionSetArn: ps }, [], /needs accountId/],
      [{ accountId }, [], /needs permissionSetArn/],
      [{ permissionSetArn: ps, accountId, groupId: randomUUID() }, [], /not both/],
    ];
    for (const [s, bound, problem] of cases) {
      const got = checkAwsSsoSettings(s, bound);
      if (problem === undefined) assert.equal(got, undefined, JSON.stringify(s));
      else assert.match(got ?? "", problem, JSON.stringify(s));
    }
  });

  test("aws_sso settings validate ARNs and ids, and stay a zod object", () => {
    assert.ok(awsSsoTarget.settings.partial());
    const ok = awsSsoTarget.settings.safeParse({
      instanceArn: "arn:aws:sso:::instance/ssoins-1111222233334444",
      identityStoreId: "d-1234567890",
      accountId: "012345678901",
      permissionSetArn: unknownPermissionSet,
    });
    assert.equal(ok.success, true);
    const bad = awsSsoTarget.settings.safeParse({
      instanceArn: "arn:aws:sso:::instance/ssoins-1111222233334444",
      identityStoreId: "d-1234567890",
      accountId: 12345678901,
    });
    assert.match(JSON.stringify(bad.error?.issues), /12-digit/);
  });

  test("the default identity is the email, for both connectors", () => {
    const integration = awsIntegration.parse({ type: "aws", region: "eu-west-1" });
    const s = {
      instanceArn: "arn:aws:sso:::instance/ssoins-1111222233334444",
      identityStoreId: "d-1234567890",
    };
    const ssoTarget = awsSsoTarget.create(info("aws_sso"), s, integration);
    const iamTarget = awsIamGroupTarget.create(info("aws_iam_group"), { groupName: "Ops" }, integration);
    assert.equal(ssoTarget.identityFor?.("alice@example.com", s), "alice@example.com");
    assert.equal(iamTarget.identityFor?.("alice@example.com", { groupName: "Ops" }), "alice@example.com");
  });

  test("the aws integration wants both keys or neither", () => {
    const base = { type: "aws", region: "eu-west-1" };
    assert.equal(awsIntegration.safeParse(base).success, true);
    assert.equal(awsIntegration.parse(base).maxAttempts, 3);
    const half = awsIntegration.safeParse({ ...base, accessKeyId: { env: "K" } });
    assert.match(JSON.stringify(half.error?.issues), /both accessKeyId and secretAccessKey/);
    const token = awsIntegration.safeParse({ ...base, sessionToken: { env: "T" } });
    assert.match(JSON.stringify(token.error?.issues), /sessionToken needs/);
    const inline = awsIntegration.safeParse({ ...base, accessKeyId: "AKIA…", secretAccessKey: { env: "S" } });
    assert.equal(inline.success, false);
  });
});
