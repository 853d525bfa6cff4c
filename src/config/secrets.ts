// Resolves secret references ({ env: "NAME" }) at the moment they are used.

import { JitflowError } from "../errors.ts";
import type { SecretRef } from "./schema.ts";

export function isSecretRef(value: unknown): value is SecretRef {
  return (
    typeof value === "object" &&
    value !== null &&
    Object.keys(value).length === 1 &&
    typeof (value as { env?: unknown }).env === "string"
  );
}

export function readSecret(ref: SecretRef, environment: NodeJS.ProcessEnv = process.env): string {
  const value = environment[ref.env];
  if (value === undefined || value === "") {
    throw new JitflowError("CONFIG_INVALID", `environment variable ${ref.env} is not set`);
  }
  return value;
}

/** Settings with every secret reference replaced by a marker, safe to show to hooks and the API. */
export function redactSecrets(settings: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    out[key] = isSecretRef(value) ? `[secret ${value.env}]` : value;
  }
  return out;
}
