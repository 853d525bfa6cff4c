// The quickstart: two flows on a custom target that writes current grants to .jitflow/grants.json.
import { defineConfig } from "jitflow";

export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  // Sign in to the web app by typing any email: for trying jitflow on this machine only.
  web: { auth: "dev" },
  targets: {
    staging_db: { type: "custom", label: "Staging database (demo)" },
    admin_console: { type: "custom", label: "Admin console (demo)" },
  },
  flows: [
    {
      name: "staging_db",
      label: "Staging database",
      targets: ["staging_db"],
      durations: ["1m", "15m", "1h"],
      fields: [
        { name: "reason", label: "Why?", type: "text" },
        {
          name: "urgency",
          label: "Urgency",
          type: "string",
          allowedValues: ["Normal", "Emergency"],
          default: "Normal",
        },
      ],
      implementation: "./flows/demo.ts",
      vars: { grantsFile: process.env.JITFLOW_GRANTS_FILE ?? ".jitflow/grants.json" },
    },
    {
      name: "admin_console",
      label: "Admin console",
      targets: ["admin_console"],
      durations: ["30m", "2h"],
      fields: [{ name: "ticket", label: "Ticket", type: "string" }],
      // No approvers listed: only admins may decide.
      implementation: "./flows/demo.ts",
      vars: { grantsFile: process.env.JITFLOW_GRANTS_FILE ?? ".jitflow/grants.json" },
    },
  ],
});
