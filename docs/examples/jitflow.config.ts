// The reference configuration of docs/configuration.md: every option, with the defaults written out.
import { defineConfig, env } from "jitflow";

export default defineConfig({
  users: {
    admins: ["ops-lead@example.com"],
    memberDomains: ["example.com"],
  },
  database: { url: "sqlite:./.jitflow/jitflow.db" },
  server: { port: 8080, host: "127.0.0.1", maxBodyBytes: 65536 },
  hooks: { timeoutMs: 5000 },
  scheduler: {
    sweepIntervalMs: 2000,
    leaseMs: 60_000,
    targetTimeoutMs: 30_000,
    retryBaseMs: 1000,
    retryMaxMs: 300_000,
    concurrency: 64,
  },
  notify: {
    webhooks: [
      {
        url: process.env.AUDIT_FEED_URL ?? "https://audit-feed.example.com/jitflow",
        secret: env("AUDIT_FEED_SECRET"),
        events: ["request.created", "request.denied", "grant.active", "grant.ended", "request.failed"],
      },
    ],
  },
  audit: { publishInterval: "15m" },
  targets: {
    deploy_gate: {
      type: "webhook",
      label: "Production deploy gate",
      url: process.env.DEPLOY_GATE_URL ?? "https://deploy-gate.example.com/jitflow",
      secret: env("DEPLOY_GATE_SECRET"),
      timeoutMs: 10_000,
    },
    sandbox_admin: {
      type: "custom",
      label: "Sandbox project admin",
      stateFile: process.env.SANDBOX_STATE_FILE ?? ".jitflow/sandbox.json",
    },
  },
  flows: [
    {
      name: "deploy",
      label: "Production deploy",
      description: "Lets you run the production deploy pipeline.",
      targets: ["deploy_gate"],
      durations: ["15m", "1h", "4h"],
      fields: [
        { name: "reason", label: "Why?", type: "text" },
        {
          name: "urgency",
          label: "Urgency",
          type: "string",
          allowedValues: ["Normal", "Emergency"],
          default: "Normal",
        },
        { name: "ticket", label: "Change ticket", type: "string", required: false },
      ],
      approvers: {
        users: ["sre-lead@example.com", "release-manager@example.com"],
        minApprovals: 1,
        allowSelfApproval: false,
      },
      allowRevoke: true,
      scheduleDeescalation: true,
      allowedSources: ["api", "web", "slack"],
      implementation: "./flows/deploy.ts",
      requestTimeout: "4h",
    },
    {
      name: "sandbox",
      label: "Sandbox project admin",
      targets: ["sandbox_admin"],
      durations: ["1h", "8h"],
      fields: [
        { name: "project", label: "Project", type: "string", prefetch: true },
        { name: "reason", label: "Why?", type: "text", required: false },
      ],
      implementation: "./flows/sandbox.ts",
      vars: {
        owners: {
          webshop: ["web-lead@example.com"],
          warehouse: ["data-lead@example.com"],
          legacy: ["web-lead@example.com"],
        },
      },
    },
    {
      name: "vendor_access",
      label: "Vendor access sign-off",
      description: "Approval only: nothing is granted, the signed-off request is the record.",
      fields: [
        { name: "vendor", label: "Vendor", type: "string" },
        { name: "systems", type: "str_list", allowedValues: ["crm", "billing", "support"] },
        { name: "contact", label: "Vendor's contact at our company", type: "user" },
        { name: "watchers", type: "user_list", required: false },
        { name: "days", label: "For how many days", type: "int", default: 30 },
        { name: "ports", type: "int_list", allowedValues: [22, 443], required: false },
        { name: "nda_signed", label: "NDA signed?", type: "bool" },
        { name: "review_every", type: "duration", default: "1w", description: "How often to re-check" },
        { name: "form_version", type: "int", visible: false, default: 2 },
      ],
      approvers: { minApprovals: 2 },
      allowRevoke: false,
      implementation: "./flows/vendor-access.ts",
      vars: { blockedVendors: ["Shady Data Brokers Ltd"] },
    },
  ],
});
