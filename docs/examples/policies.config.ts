// The approval policies of docs/policies.md: steps and quorums, conditions, where approvers come from,
// timeouts, backup destinations, reminders, break-glass, starting later, extensions and email.
import { defineConfig, env } from "jitflow";

export default defineConfig({
  users: {
    admins: ["ops-lead@example.com"],
    memberDomains: ["example.com"],
  },
  slack: { errorChannel: "#jitflow-errors" },
  email: {
    from: "jitflow <jitflow@example.com>",
    smtp: {
      host: "smtp.example.com",
      port: 587,
      requireTLS: true,
      user: "jitflow@example.com",
      password: env("SMTP_PASSWORD"),
    },
    webUrl: "https://jitflow.example.com",
  },
  integrations: {
    okta: { type: "okta", orgUrl: "https://example.okta.com", token: env("OKTA_API_TOKEN") },
    pagerduty: { type: "pagerduty", token: env("PAGERDUTY_API_KEY") },
  },
  targets: {
    prod_db: {
      type: "webhook",
      label: "Production database",
      url: "https://grants.example.com/prod-db",
      secret: env("GRANTS_SECRET"),
    },
    prod_shell: {
      type: "webhook",
      label: "Production shell",
      url: "https://grants.example.com/prod-shell",
      secret: env("GRANTS_SECRET"),
    },
    warehouse: {
      type: "webhook",
      label: "Customer data warehouse",
      url: "https://grants.example.com/warehouse",
      secret: env("GRANTS_SECRET"),
    },
  },
  flows: [
    {
      name: "prod_db",
      label: "Production database",
      targets: ["prod_db"],
      durations: ["1h", "4h", "8h"],
      approvers: {
        channel: "#db-approvals",
        steps: [
          { name: "team lead", users: ["bob@example.com", "carol@example.com"] },
          {
            name: "dba",
            users: ["carol@example.com", "dan@example.com", "erin@example.com"],
            quorum: 2,
            when: (request) => request.duration > 4 * 3600,
          },
        ],
      },
      maxStartDelay: "14d",
      activationWindow: "30m",
      extensions: { max: 3, maxTotal: "8h", approvalAbove: "2h" },
    },
    {
      name: "vendor_signoff",
      label: "Vendor sign-off",
      requestTimeout: "7d",
      approvers: {
        steps: [
          {
            name: "legal and security",
            users: ["legal@example.com", "security@example.com"],
            quorum: "all",
            timeout: "3d",
            onTimeout: "expire",
          },
        ],
      },
    },
    {
      name: "customer_data",
      label: "Customer data",
      targets: ["warehouse"],
      durations: ["1h", "1d"],
      fields: [{ name: "dataset", label: "Dataset", type: "string", allowedValues: ["orders", "payments"] }],
      implementation: "./flows/customer-data.ts",
      vars: { owners: { orders: ["orders-lead@example.com"], payments: ["payments-lead@example.com"] } },
      approvers: {
        steps: [
          { name: "data owner", getApprovers: true, slackChannel: "#data-stewards" },
          {
            name: "security",
            oktaGroup: { integration: "okta", group: "00g2securityteam0x1" },
            admins: true,
            timeout: "4h",
            onTimeout: "remind",
          },
        ],
      },
    },
    {
      name: "prod_shell",
      label: "Production shell",
      targets: ["prod_shell"],
      durations: ["30m", "2h"],
      requestTimeout: "2h",
      allowBreakGlass: true,
      approvers: {
        steps: [
          {
            name: "on-call",
            pagerduty: { integration: "pagerduty", schedule: "Production on-call" },
            timeout: "15m",
            onTimeout: "escalate",
            destinations: [
              { channel: "#sre-oncall" },
              { channel: "#sre-leads", users: ["sre-lead@example.com"], timeout: "30m" },
              { users: ["cto@example.com"], timeout: "1h" },
            ],
            reminders: { after: "4m", backoff: 2, max: 2 },
          },
        ],
      },
    },
  ],
});
