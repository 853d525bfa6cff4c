// The `aws_iam_group` target: membership of an IAM user in an IAM group, through the AWS SDK.

import type * as IamSdk from "@aws-sdk/client-iam";
import { z } from "zod";
import {
  type AwsIntegration,
  awsClientConfig,
  awsIntegration,
  classifyAwsError,
  isAwsError,
} from "./aws-common.ts";
import {
  type BoundValueCall,
  type ConnectorType,
  OwnIdentityError,
  PermanentTargetError,
  type TargetOption,
} from "./target.ts";

// IAM's own patterns: names of letters, digits and + = , . @ _ -.
const groupNamePattern = /^[\w+=,.@-]{1,128}$/;
const userNamePattern = /^[\w+=,.@-]{1,64}$/;

const settings = z.strictObject({
  /** The IAM group the user is added to (its name, not its ARN). */
  groupName: z.string().regex(groupNamePattern, {
    error: "groupName must be an IAM group name (1-128 letters, digits and + = , . @ _ -)",
  }),
});

export type AwsIamGroupSettings = z.output<typeof settings>;

/**
 * The most groups options() offers: it stops paging once it has them, since a picker may ask on every
 * keystroke. IAM cannot filter groups by name, so jitflow filters them by what was typed and keeps the first 100.
 */
const optionsCap = 500;

let sdk: Promise<typeof IamSdk> | undefined;

export const awsIamGroupTarget: ConnectorType<AwsIamGroupSettings, AwsIntegration> = {
  type: "aws_iam_group",
  settings,
  bindable: { groupName: () => true },
  integration: { type: "aws", settings: awsIntegration },
  create(_info, _settings, integration) {
    let client: Promise<{ iam: typeof IamSdk; client: IamSdk.IAMClient }> | undefined;
    function connect() {
      sdk ??= import("@aws-sdk/client-iam");
      client ??= sdk
        .then((iam) => ({ iam, client: new iam.IAMClient(awsClientConfig(integration)) }))
        .catch((err: unknown) => {
          client = undefined; // a missing secret: try again on the next call
          throw err;
        });
      return client;
    }

    /**
     * The IAM user jitflow's credentials belong to (GetUser without a name), or undefined when they are
     * a role's: asked once, and again after a failure.
     */
    let self: Promise<string | undefined> | undefined;
    function selfName(signal: AbortSignal): Promise<string | undefined> {
      self ??= connect().then(async ({ iam, client: c }) => {
        try {
          const user = await c.send(new iam.GetUserCommand({}), { abortSignal: signal });
          return user.User?.UserName;
        } catch (err) {
          // Role credentials: "Must specify userName when calling with non-User credentials".
          if (isAwsError(err, "ValidationError")) return undefined;
          throw classifyAwsError("aws_iam_group: GetUser (jitflow's own user)", err);
        }
      });
      self.catch(() => {
        self = undefined;
      });
      return self;
    }

    /** Refuses jitflow's own IAM user: taking a group from it can take away its own permissions. */
    async function notSelf(identity: string, signal: AbortSignal): Promise<void> {
      const own = await selfName(signal);
      if (own !== undefined && own.toLowerCase() === identity.toLowerCase()) {
        throw new OwnIdentityError("aws_iam_group", identity, "the IAM user jitflow's credentials belong to");
      }
    }

    return {
      identityFor: (email) => email,

      async escalate({ identity, settings: s, signal }) {
        if (!userNamePattern.test(identity)) {
          throw new PermanentTargetError(
            `aws_iam_group: ${JSON.stringify(identity)} cannot be an IAM user name`,
          );
        }
        await notSelf(identity, signal);
        const { iam, client: c } = await connect();
        let userName: string | undefined;
        try {
          // IAM matches user names case-insensitively; GetGroup reports them as created.
          const user = await c.send(new iam.GetUserCommand({ UserName: identity }), { abortSignal: signal });
          userName = user.User?.UserName;
        } catch (err) {
          if (isAwsError(err, "NoSuchEntity")) {
            throw new PermanentTargetError(
              `aws_iam_group: there is no IAM user ${JSON.stringify(identity)}`,
              {
                cause: err,
              },
            );
          }
          throw classifyAwsError("aws_iam_group: GetUser", err);
        }
        try {
          // Adding a member again is not an error in IAM.
          await c.send(
            new iam.AddUserToGroupCommand({ GroupName: s.groupName, UserName: userName ?? identity }),
            {
              abortSignal: signal,
            },
          );
        } catch (err) {
          if (isAwsError(err, "NoSuchEntity")) {
            throw new PermanentTargetError(`aws_iam_group: ${(err as Error).message}`, { cause: err });
          }
          throw classifyAwsError("aws_iam_group: AddUserToGroup", err);
        }
        return { identity: userName ?? identity };
      },

      async deescalate({ identity, settings: s, signal }) {
        if (!userNamePattern.test(identity)) return; // no such user can exist
        await notSelf(identity, signal);
        const { iam, client: c } = await connect();
        try {
          await c.send(new iam.RemoveUserFromGroupCommand({ GroupName: s.groupName, UserName: identity }), {
            abortSignal: signal,
          });
        } catch (err) {
          // No such user, group or membership: the access is gone either way.
          if (isAwsError(err, "NoSuchEntity")) return;
          throw classifyAwsError("aws_iam_group: RemoveUserFromGroup", err);
        }
      },

      async list({ settings: s, signal }) {
        const { iam, client: c } = await connect();
        const names: string[] = [];
        let marker: string | undefined;
        do {
          try {
            const page = await c.send(
              new iam.GetGroupCommand({ GroupName: s.groupName, Marker: marker, MaxItems: 1000 }),
              {
                abortSignal: signal,
              },
            );
            for (const u of page.Users ?? []) if (u.UserName) names.push(u.UserName);
            marker = page.IsTruncated ? page.Marker : undefined;
          } catch (err) {
            if (isAwsError(err, "NoSuchEntity")) {
              throw new PermanentTargetError(`aws_iam_group: ${(err as Error).message}`, { cause: err });
            }
            throw classifyAwsError("aws_iam_group: GetGroup", err);
          }
        } while (marker);
        return names;
      },

      /** For a bound `groupName`: the account's IAM groups, by name (ListGroups). */
      async options({ key, signal }) {
        if (key !== "groupName") return [];
        const { iam, client: c } = await connect();
        const groups: TargetOption[] = [];
        // IAM may answer fewer than MaxItems with more to come: follow Marker until the cap.
        let marker: string | undefined;
        do {
          try {
            const page = await c.send(new iam.ListGroupsCommand({ Marker: marker, MaxItems: optionsCap }), {
              abortSignal: signal,
            });
            for (const g of page.Groups ?? []) {
              if (g.GroupName) groups.push({ value: g.GroupName, label: g.GroupName });
            }
            marker = page.IsTruncated ? page.Marker : undefined;
          } catch (err) {
            throw classifyAwsError("aws_iam_group: ListGroups", err);
          }
        } while (marker && groups.length < optionsCap);
        return groups.slice(0, optionsCap);
      },

      /** A bound groupName: a group of the account (GetGroup), as options() lists. */
      async offers({ key, value, signal }: BoundValueCall<AwsIamGroupSettings>) {
        if (key !== "groupName" || !groupNamePattern.test(value)) return false;
        const { iam, client: c } = await connect();
        try {
          await c.send(new iam.GetGroupCommand({ GroupName: value, MaxItems: 1 }), { abortSignal: signal });
          return true;
        } catch (err) {
          if (isAwsError(err, "NoSuchEntity")) return false;
          throw classifyAwsError("aws_iam_group: GetGroup", err);
        }
      },

      /** Never a group jitflow's own IAM user is in: joining it gives what jitflow may do. */
      async refuses({ key, value, signal }: BoundValueCall<AwsIamGroupSettings>) {
        if (key !== "groupName") return undefined;
        const own = await selfName(signal);
        if (own === undefined) return undefined;
        const { iam, client: c } = await connect();
        let marker: string | undefined;
        do {
          let page: IamSdk.ListGroupsForUserCommandOutput;
          try {
            page = await c.send(new iam.ListGroupsForUserCommand({ UserName: own, Marker: marker }), {
              abortSignal: signal,
            });
          } catch (err) {
            throw classifyAwsError("aws_iam_group: ListGroupsForUser (jitflow's own user)", err);
          }
          if (page.Groups?.some((g) => g.GroupName?.toLowerCase() === value.toLowerCase())) {
            return `jitflow's own IAM user ${own} is in the group: it gives what jitflow may do`;
          }
          marker = page.IsTruncated ? page.Marker : undefined;
        } while (marker);
        return undefined;
      },

      async close() {
        self = undefined;
        const pending = client;
        client = undefined;
        (await pending?.catch(() => undefined))?.client.destroy();
      },
    };
  },
};
