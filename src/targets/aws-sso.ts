// The `aws_sso` target: an IAM Identity Center account assignment (a permission set in an account) or an
// Identity Store group membership, granted to the requester's Identity Center user.

import { setTimeout as sleep } from "node:timers/promises";
import type * as IdentityStoreSdk from "@aws-sdk/client-identitystore";
import type * as SsoAdminSdk from "@aws-sdk/client-sso-admin";
import { z } from "zod";
import {
  type AwsErrorShape,
  type AwsIntegration,
  awsClientConfig,
  awsIntegration,
  classifyAwsError,
  isAwsError,
} from "./aws-common.ts";
import {
  type BoundValueCall,
  type ConnectorType,
  PermanentTargetError,
  type TargetOption,
} from "./target.ts";

const partition = "aws(-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?";

const settings = z.strictObject({
  /** The Identity Center instance: `arn:aws:sso:::instance/ssoins-…` (`aws sso-admin list-instances`). */
  instanceArn: z.string().regex(new RegExp(`^arn:${partition}:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$`), {
    error: "instanceArn must be an IAM Identity Center instance ARN (arn:aws:sso:::instance/ssoins-…)",
  }),
  /** The instance's identity store: `d-…` (`aws sso-admin list-instances`). */
  identityStoreId: z
    .string()
    .regex(/^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/, {
      error: "identityStoreId must be an identity store ID (d-1234567890)",
    }),
  /** Account assignment: the permission set to assign, with accountId. */
  permissionSetArn: z
    .string()
    .regex(
      new RegExp(`^arn:${partition}:sso:::permissionSet/(sso)?ins-[a-zA-Z0-9-.]{16}/ps-[a-zA-Z0-9-./]{16}$`),
      {
        error: "permissionSetArn must be a permission set ARN (arn:aws:sso:::permissionSet/ssoins-…/ps-…)",
      },
    )
    .optional(),
  /** Account assignment: the 12-digit AWS account the permission set is assigned in. */
  accountId: z
    .string({ error: "accountId must be a 12-digit account ID as a string (it may start with 0)" })
    .regex(/^\d{12}$/, { error: "accountId must be a 12-digit account ID" })
    .optional(),
  /** Group membership: the Identity Store group to add the user to (instead of permissionSetArn and accountId). */
  groupId: z
    .string()
    .regex(/^([0-9a-f]{10}-)?[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$/, {
      error: "groupId must be an Identity Store group ID",
    })
    .optional(),
});

export type AwsSsoSettings = z.output<typeof settings>;

/**
 * Why the settings name neither or both of the two forms, or undefined when they are fine:
 * `permissionSetArn` + `accountId` (an account assignment) or `groupId` (a group membership).
 * `bound` lists keys a field binding fills in per request, which count as given.
 */
export function checkAwsSsoSettings(
  s: Partial<AwsSsoSettings>,
  bound: readonly string[] = [],
): string | undefined {
  const has = (key: keyof AwsSsoSettings) => s[key] !== undefined || bound.includes(key);
  const group = has("groupId");
  const account = has("permissionSetArn") || has("accountId");
  if (group && account) {
    return "aws_sso: give either permissionSetArn and accountId (an account assignment) or groupId (a group membership), not both";
  }
  if (group) return undefined;
  if (!account) {
    return "aws_sso: give permissionSetArn and accountId (an account assignment) or groupId (a group membership)";
  }
  if (!has("permissionSetArn"))
    return "aws_sso: an account assignment needs permissionSetArn as well as accountId";
  if (!has("accountId")) return "aws_sso: an account assignment needs accountId as well as permissionSetArn";
  return undefined;
}

type Grant =
  | { kind: "account"; permissionSetArn: string; accountId: string }
  | { kind: "group"; groupId: string };

function grantOf(s: AwsSsoSettings): Grant {
  const problem = checkAwsSsoSettings(s);
  if (problem !== undefined) throw new PermanentTargetError(problem);
  if (s.groupId !== undefined) return { kind: "group", groupId: s.groupId };
  return { kind: "account", permissionSetArn: s.permissionSetArn ?? "", accountId: s.accountId ?? "" };
}

interface Sdk {
  admin: typeof SsoAdminSdk;
  store: typeof IdentityStoreSdk;
}
let sdk: Promise<Sdk> | undefined;
function loadSdk(): Promise<Sdk> {
  sdk ??= Promise.all([import("@aws-sdk/client-sso-admin"), import("@aws-sdk/client-identitystore")]).then(
    ([admin, store]) => ({ admin, store }),
  );
  return sdk;
}

interface Clients {
  sdk: Sdk;
  admin: SsoAdminSdk.SSOAdminClient;
  store: IdentityStoreSdk.IdentitystoreClient;
}

/**
 * The most values options() offers: it stops paging once it has them, since a picker may ask on every
 * keystroke. Neither API filters by name, so jitflow filters them by what was typed and keeps the first 100.
 */
const optionsCap = 500;
/** DescribePermissionSet calls in flight at once, to stay inside Identity Center's request rate. */
const describeConcurrency = 10;

/** Assignment requests are asynchronous: poll their status this often at first, backing off to the cap. */
const firstPollMs = 100;
const maxPollMs = 5_000;

type AssignmentStatus = SsoAdminSdk.AccountAssignmentOperationStatus;

export const awsSsoTarget: ConnectorType<AwsSsoSettings, AwsIntegration> = {
  type: "aws_sso",
  settings,
  bindable: { permissionSetArn: () => true, groupId: () => true, accountId: () => false },
  integration: { type: "aws", settings: awsIntegration },
  check: (s, bound) => checkAwsSsoSettings(s, bound),
  create(_info, _settings, integration) {
    let clients: Promise<Clients> | undefined;
    function connect(): Promise<Clients> {
      clients ??= loadSdk()
        .then((sdk) => {
          const config = awsClientConfig(integration);
          return {
            sdk,
            admin: new sdk.admin.SSOAdminClient(config),
            store: new sdk.store.IdentitystoreClient(config),
          };
        })
        .catch((err: unknown) => {
          clients = undefined; // a missing secret: try again on the next call
          throw err;
        });
      return clients;
    }

    /** The Identity Center user `identity` names (its userName, else its email), or undefined if none. */
    async function findUser(
      c: Clients,
      s: AwsSsoSettings,
      identity: string,
      signal: AbortSignal,
    ): Promise<string | undefined> {
      const paths = identity.includes("@") ? ["userName", "emails.value"] : ["userName"];
      for (const path of paths) {
        try {
          const found = await c.store.send(
            new c.sdk.store.GetUserIdCommand({
              IdentityStoreId: s.identityStoreId,
              AlternateIdentifier: { UniqueAttribute: { AttributePath: path, AttributeValue: identity } },
            }),
            { abortSignal: signal },
          );
          if (found.UserId) return found.UserId;
        } catch (err) {
          if (!isNotFound(err, "USER")) throw classifyAwsError("aws_sso: GetUserId", err);
        }
      }
      return undefined;
    }

    /** The user's userName (the canonical identity), or undefined if the user is gone. */
    async function userNameOf(c: Clients, s: AwsSsoSettings, userId: string, signal: AbortSignal) {
      try {
        const user = await c.store.send(
          new c.sdk.store.DescribeUserCommand({ IdentityStoreId: s.identityStoreId, UserId: userId }),
          { abortSignal: signal },
        );
        return user.UserName;
      } catch (err) {
        if (isNotFound(err, "USER")) return undefined;
        throw classifyAwsError("aws_sso: DescribeUser", err);
      }
    }

    async function userNamesOf(c: Clients, s: AwsSsoSettings, userIds: string[], signal: AbortSignal) {
      const names: string[] = [];
      for (let i = 0; i < userIds.length; i += 10) {
        const batch = userIds.slice(i, i + 10).map((id) => userNameOf(c, s, id, signal));
        for (const name of await Promise.all(batch)) if (name !== undefined) names.push(name);
      }
      return names;
    }

    /** Polls an assignment request until it is no longer IN_PROGRESS; gives up (retried) when `signal` fires. */
    async function settle(
      c: Clients,
      s: AwsSsoSettings,
      kind: "Creation" | "Deletion",
      first: AssignmentStatus | undefined,
      signal: AbortSignal,
    ): Promise<AssignmentStatus> {
      let status = first;
      let wait = firstPollMs;
      while (status?.Status === "IN_PROGRESS" && status.RequestId) {
        const requestId: string = status.RequestId;
        const timedOut = (err: unknown) =>
          new Error(
            `aws_sso: account assignment ${kind.toLowerCase()} ${requestId} still in progress when the call timed out`,
            { cause: err },
          );
        try {
          await sleep(wait, undefined, { signal });
        } catch (err) {
          throw timedOut(err);
        }
        wait = Math.min(wait * 2, maxPollMs);
        try {
          status =
            kind === "Creation"
              ? (
                  await c.admin.send(
                    new c.sdk.admin.DescribeAccountAssignmentCreationStatusCommand({
                      InstanceArn: s.instanceArn,
                      AccountAssignmentCreationRequestId: requestId,
                    }),
                    { abortSignal: signal },
                  )
                ).AccountAssignmentCreationStatus
              : (
                  await c.admin.send(
                    new c.sdk.admin.DescribeAccountAssignmentDeletionStatusCommand({
                      InstanceArn: s.instanceArn,
                      AccountAssignmentDeletionRequestId: requestId,
                    }),
                    { abortSignal: signal },
                  )
                ).AccountAssignmentDeletionStatus;
        } catch (err) {
          // The time ran out while asking rather than while waiting: the same news, told the same way.
          if (signal.aborted) throw timedOut(err);
          throw classifyAwsError(`aws_sso: DescribeAccountAssignment${kind}Status`, err);
        }
      }
      if (status?.Status !== "SUCCEEDED" && status?.Status !== "FAILED") {
        throw new Error(
          `aws_sso: account assignment ${kind.toLowerCase()} answered status ${String(status?.Status)}`,
        );
      }
      return status;
    }

    function assignment(s: AwsSsoSettings, g: Grant & { kind: "account" }, userId: string) {
      return {
        InstanceArn: s.instanceArn,
        TargetId: g.accountId,
        TargetType: "AWS_ACCOUNT" as const,
        PermissionSetArn: g.permissionSetArn,
        PrincipalType: "USER" as const,
        PrincipalId: userId,
      };
    }

    return {
      identityFor: (email) => email,

      async escalate({ identity, settings: s, signal }) {
        const grant = grantOf(s);
        const c = await connect();
        const userId = await findUser(c, s, identity, signal);
        if (userId === undefined) {
          throw new PermanentTargetError(
            `aws_sso: there is no user ${JSON.stringify(identity)} (by userName or email) in identity store ${s.identityStoreId}`,
          );
        }
        const userName = await userNameOf(c, s, userId, signal);
        if (userName === undefined)
          throw new Error(`aws_sso: user ${userId} disappeared while being granted access`);

        if (grant.kind === "group") {
          try {
            await c.store.send(
              new c.sdk.store.CreateGroupMembershipCommand({
                IdentityStoreId: s.identityStoreId,
                GroupId: grant.groupId,
                MemberId: { UserId: userId },
              }),
              { abortSignal: signal },
            );
          } catch (err) {
            // UNIQUENESS_CONSTRAINT_VIOLATION: already a member. CONCURRENT_MODIFICATION is retried.
            if (
              isAwsError(err, "ConflictException") &&
              (err as ConflictShape).Reason !== "CONCURRENT_MODIFICATION"
            ) {
              return { identity: userName };
            }
            if (isNotFound(err, "GROUP")) {
              throw new PermanentTargetError(
                `aws_sso: group ${grant.groupId} does not exist in identity store ${s.identityStoreId}`,
                { cause: err },
              );
            }
            throw classifyAwsError("aws_sso: CreateGroupMembership", err);
          }
          return { identity: userName };
        }

        let created: AssignmentStatus | undefined;
        try {
          const answer = await c.admin.send(
            new c.sdk.admin.CreateAccountAssignmentCommand(assignment(s, grant, userId)),
            { abortSignal: signal },
          );
          created = answer.AccountAssignmentCreationStatus;
        } catch (err) {
          if (isAwsError(err, "ConflictException") && /already exists/i.test((err as Error).message)) {
            return { identity: userName };
          }
          throw classifyAwsError("aws_sso: CreateAccountAssignment", err);
        }
        const done = await settle(c, s, "Creation", created, signal);
        if (done.Status === "FAILED" && !/already exists/i.test(done.FailureReason ?? "")) {
          throw assignmentFailed(
            `could not assign permission set ${grant.permissionSetArn} in account ${grant.accountId} to ${userName}`,
            done.FailureReason,
          );
        }
        return { identity: userName };
      },

      async deescalate({ identity, settings: s, signal }) {
        const grant = grantOf(s);
        const c = await connect();
        const userId = await findUser(c, s, identity, signal);
        if (userId === undefined) return; // the user is gone, and with it what it held

        if (grant.kind === "group") {
          let membershipId: string | undefined;
          try {
            const found = await c.store.send(
              new c.sdk.store.GetGroupMembershipIdCommand({
                IdentityStoreId: s.identityStoreId,
                GroupId: grant.groupId,
                MemberId: { UserId: userId },
              }),
              { abortSignal: signal },
            );
            membershipId = found.MembershipId;
          } catch (err) {
            if (isNotFound(err, "GROUP_MEMBERSHIP", "GROUP", "USER")) return;
            throw classifyAwsError("aws_sso: GetGroupMembershipId", err);
          }
          if (membershipId === undefined) return;
          try {
            await c.store.send(
              new c.sdk.store.DeleteGroupMembershipCommand({
                IdentityStoreId: s.identityStoreId,
                MembershipId: membershipId,
              }),
              { abortSignal: signal },
            );
          } catch (err) {
            if (isNotFound(err, "GROUP_MEMBERSHIP")) return;
            throw classifyAwsError("aws_sso: DeleteGroupMembership", err);
          }
          return;
        }

        let deleting: AssignmentStatus | undefined;
        try {
          const answer = await c.admin.send(
            new c.sdk.admin.DeleteAccountAssignmentCommand(assignment(s, grant, userId)),
            { abortSignal: signal },
          );
          deleting = answer.AccountAssignmentDeletionStatus;
        } catch (err) {
          if (isAwsError(err, "ResourceNotFoundException")) return;
          throw classifyAwsError("aws_sso: DeleteAccountAssignment", err);
        }
        const done = await settle(c, s, "Deletion", deleting, signal);
        if (done.Status === "FAILED" && !/not found|does not exist/i.test(done.FailureReason ?? "")) {
          throw assignmentFailed(
            `could not remove permission set ${grant.permissionSetArn} in account ${grant.accountId} from ${identity}`,
            done.FailureReason,
          );
        }
      },

      async list({ settings: s, signal }) {
        const grant = grantOf(s);
        const c = await connect();
        const userIds: string[] = [];
        let nextToken: string | undefined;
        do {
          try {
            if (grant.kind === "group") {
              const page = await c.store.send(
                new c.sdk.store.ListGroupMembershipsCommand({
                  IdentityStoreId: s.identityStoreId,
                  GroupId: grant.groupId,
                  MaxResults: 100,
                  NextToken: nextToken,
                }),
                { abortSignal: signal },
              );
              for (const m of page.GroupMemberships ?? []) {
                const id = m.MemberId && "UserId" in m.MemberId ? m.MemberId.UserId : undefined;
                if (id !== undefined) userIds.push(id);
              }
              nextToken = page.NextToken;
            } else {
              const page = await c.admin.send(
                new c.sdk.admin.ListAccountAssignmentsCommand({
                  InstanceArn: s.instanceArn,
                  AccountId: grant.accountId,
                  PermissionSetArn: grant.permissionSetArn,
                  MaxResults: 100,
                  NextToken: nextToken,
                }),
                { abortSignal: signal },
              );
              for (const a of page.AccountAssignments ?? []) {
                if (a.PrincipalType === "USER" && a.PrincipalId) userIds.push(a.PrincipalId);
              }
              nextToken = page.NextToken;
            }
          } catch (err) {
            throw classifyAwsError(
              `aws_sso: ${grant.kind === "group" ? "ListGroupMemberships" : "ListAccountAssignments"}`,
              err,
            );
          }
        } while (nextToken);
        return userNamesOf(c, s, userIds, signal);
      },

      /**
       * A bound `permissionSetArn`: a permission set of the instance (DescribePermissionSet); a bound
       * `groupId`: a group of the identity store (DescribeGroup). A bound `accountId` is never offered: it
       * comes from the target's `grantable` list only.
       */
      async offers({ key, value, settings: s, signal }: BoundValueCall<AwsSsoSettings>) {
        const c = await connect();
        try {
          if (key === "permissionSetArn") {
            await c.admin.send(
              new c.sdk.admin.DescribePermissionSetCommand({
                InstanceArn: s.instanceArn,
                PermissionSetArn: value,
              }),
              { abortSignal: signal },
            );
            return true;
          }
          if (key === "groupId") {
            await c.store.send(
              new c.sdk.store.DescribeGroupCommand({ IdentityStoreId: s.identityStoreId, GroupId: value }),
              { abortSignal: signal },
            );
            return true;
          }
          return false;
        } catch (err) {
          if (isAwsError(err, "ResourceNotFoundException")) return false;
          throw classifyAwsError(`aws_sso: looking up ${key} ${value}`, err);
        }
      },

      /**
       * For a bound `permissionSetArn`: the instance's permission sets, labelled by name. For a bound
       * `groupId`: the identity store's groups, labelled by display name. A bound `accountId` has none to
       * offer: listing accounts needs AWS Organizations.
       */
      async options({ key, settings: s, signal }) {
        if (key === "permissionSetArn" && s.instanceArn !== undefined) {
          return permissionSetOptions(await connect(), s.instanceArn, signal);
        }
        if (key === "groupId" && s.identityStoreId !== undefined) {
          return groupOptions(await connect(), s.identityStoreId, signal);
        }
        return [];
      },

      async close() {
        const pending = clients;
        clients = undefined;
        const c = await pending?.catch(() => undefined);
        c?.admin.destroy();
        c?.store.destroy();
      },
    };
  },
};

async function permissionSetOptions(
  c: Clients,
  instanceArn: string,
  signal: AbortSignal,
): Promise<TargetOption[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    try {
      const page = await c.admin.send(
        new c.sdk.admin.ListPermissionSetsCommand({
          InstanceArn: instanceArn,
          MaxResults: 100,
          NextToken: nextToken,
        }),
        { abortSignal: signal },
      );
      arns.push(...(page.PermissionSets ?? []));
      nextToken = page.NextToken;
    } catch (err) {
      throw classifyAwsError("aws_sso: ListPermissionSets", err);
    }
  } while (nextToken && arns.length < optionsCap);

  // ListPermissionSets answers ARNs only; the names people know them by take one call each.
  const describe = async (arn: string): Promise<TargetOption | undefined> => {
    try {
      const answer = await c.admin.send(
        new c.sdk.admin.DescribePermissionSetCommand({ InstanceArn: instanceArn, PermissionSetArn: arn }),
        { abortSignal: signal },
      );
      return { value: arn, label: answer.PermissionSet?.Name ?? arn };
    } catch (err) {
      if (isAwsError(err, "ResourceNotFoundException")) return undefined; // deleted since it was listed
      throw classifyAwsError("aws_sso: DescribePermissionSet", err);
    }
  };
  const options: TargetOption[] = [];
  const wanted = arns.slice(0, optionsCap);
  for (let i = 0; i < wanted.length; i += describeConcurrency) {
    const batch = await Promise.all(wanted.slice(i, i + describeConcurrency).map(describe));
    for (const option of batch) if (option !== undefined) options.push(option);
  }
  return options;
}

async function groupOptions(
  c: Clients,
  identityStoreId: string,
  signal: AbortSignal,
): Promise<TargetOption[]> {
  const groups: TargetOption[] = [];
  let nextToken: string | undefined;
  do {
    try {
      const page = await c.store.send(
        new c.sdk.store.ListGroupsCommand({
          IdentityStoreId: identityStoreId,
          MaxResults: 100,
          NextToken: nextToken,
        }),
        { abortSignal: signal },
      );
      for (const g of page.Groups ?? []) {
        if (g.GroupId) groups.push({ value: g.GroupId, label: g.DisplayName ?? g.GroupId });
      }
      nextToken = page.NextToken;
    } catch (err) {
      throw classifyAwsError("aws_sso: ListGroups", err);
    }
  } while (nextToken && groups.length < optionsCap);
  return groups.slice(0, optionsCap);
}

type ConflictShape = AwsErrorShape & { Reason?: string };

/** ResourceNotFoundException about one of these resource types (or not saying which). */
function isNotFound(err: unknown, ...types: string[]): boolean {
  if (!isAwsError(err, "ResourceNotFoundException")) return false;
  const type = (err as { ResourceType?: string }).ResourceType;
  return type === undefined || types.includes(type);
}

/**
 * A FAILED assignment request. AWS words the reason "Received a 409 status error: …": conflicts,
 * throttling and 5xx inside Identity Center are worth retrying; anything else will fail again.
 */
function assignmentFailed(what: string, reason: string | undefined): Error {
  const message = `aws_sso: ${what}: ${reason ?? "no reason given"}`;
  const status = Number(/Received an? (\d{3}) status error/i.exec(reason ?? "")?.[1]);
  if (status === 409 || status === 429 || status >= 500) return new Error(message);
  return new PermanentTargetError(message);
}
