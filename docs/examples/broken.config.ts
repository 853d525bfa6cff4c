// A configuration with mistakes, to show what `jitflow check` says (docs/configuration.md).
import { defineConfig, env } from "jitflow";

export default defineConfig({
  targets: {
    gate: { type: "webhook", url: "https://gate.example.com/hook", secret: env("GATE_SECRET") },
  },
  flows: [
    {
      name: "deploy",
      targets: ["gate", "prod_db"],
      durations: ["1 hour"],
      fields: [{ name: "approved", type: "bool", allowedValues: ["yes"] }],
    },
  ],
});
