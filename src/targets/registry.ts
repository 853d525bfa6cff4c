// The connector types jitflow knows, by `type`. Each connector loads its SDK or driver on first use.

import { awsIamGroupTarget } from "./aws-iam-group.ts";
import { awsSsoTarget } from "./aws-sso.ts";
import { customTarget } from "./custom.ts";
import { githubRepoTarget, githubTeamTarget } from "./github.ts";
import { ldapGroupTarget } from "./ldap-group.ts";
import { mysqlRoleTarget } from "./mysql-role.ts";
import { oktaGroupTarget } from "./okta-group.ts";
import { postgresRoleTarget } from "./postgres-role.ts";
import type { ConnectorType } from "./target.ts";
import { webhookTarget } from "./webhook.ts";

const all = [
  customTarget,
  webhookTarget,
  postgresRoleTarget,
  mysqlRoleTarget,
  ldapGroupTarget,
  awsSsoTarget,
  awsIamGroupTarget,
  oktaGroupTarget,
  githubRepoTarget,
  githubTeamTarget,
];

export const connectorTypes: ReadonlyMap<string, ConnectorType<unknown>> = new Map(
  all.map((c) => [c.type, c as unknown as ConnectorType<unknown>]),
);
