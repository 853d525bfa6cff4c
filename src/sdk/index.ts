// What configs and flow modules import from "jitflow".

import type { ConfigInput, SecretRef } from "../config/schema.ts";
import type { FlowModule } from "../model/types.ts";

export type { ConfigInput as JitflowConfig, SecretRef } from "../config/schema.ts";
export type * from "../model/types.ts";
export { PermanentTargetError } from "../targets/target.ts";
export { approve, deny, ignore } from "./decisions.ts";
export { type CountEventsQuery, type EmailToSend, email, okta, pagerduty, slack } from "./helpers.ts";

/**
 * Declares the configuration; the identity function that gives editors the types.
 *
 * @example
 * // jitflow.config.ts
 * import { defineConfig, env } from "jitflow";
 * export default defineConfig({
 *   users: { admins: ["ops@example.com"], memberDomains: ["example.com"] },
 *   targets: { prod_db: { type: "postgres_role", url: env("PROD_DB_URL"), role: "readonly" } },
 *   flows: [{ name: "prod_read", targets: ["prod_db"], durations: ["1h"] }],
 * });
 */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config;
}

/**
 * A reference to a secret held in an environment variable; read when it is used, never logged.
 *
 * @example
 * targets: { hook: { type: "webhook", url: "https://hooks.example.com/jit", secret: env("HOOK_SECRET") } }
 */
export function env(name: string): SecretRef {
  return { env: name };
}

/**
 * Declares a flow module's hooks with the types of the flow's fields, so that every hook's `evt.fields`
 * is typed. Export it as the module's default; the config names the module as the flow's `implementation`.
 *
 * @example
 * // flows/deploy.ts
 * import { approve, defineFlow } from "jitflow";
 * export default defineFlow<{ urgency: "Normal" | "Emergency" }>({
 *   async onRequest(evt) {
 *     if (evt.fields.urgency === "Emergency") return approve({ reason: "emergency" });
 *   },
 * });
 */
export function defineFlow<Fields extends Record<string, unknown> = Record<string, unknown>>(
  flow: FlowModule<Fields>,
): FlowModule<Fields> {
  return flow;
}
