// What configs and flow modules import from "jitflow".

import type { ConfigInput, SecretRef } from "../config/schema.ts";

export type { ConfigInput as JitflowConfig, SecretRef } from "../config/schema.ts";
export type * from "../model/types.ts";
export { PermanentTargetError } from "../targets/target.ts";
export { approve, deny, ignore } from "./decisions.ts";
export { type CountEventsQuery, type EmailToSend, email, okta, pagerduty, slack } from "./helpers.ts";

/** Declares the configuration; the identity function that gives editors the types. */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config;
}

/** A reference to a secret held in an environment variable; read when it is used, never logged. */
export function env(name: string): SecretRef {
  return { env: name };
}
