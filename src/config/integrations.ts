// Integrations that targets and directory look-ups both use: an Okta org.

import { z } from "zod";
import { secretRef } from "./secret-ref.ts";

export const oktaIntegration = z.strictObject({
  type: z.literal("okta"),
  /** The org's URL, such as https://example.okta.com (no /api/v1). */
  orgUrl: z.url({
    protocol: /^https?$/,
    error: "orgUrl must be the org's URL, such as https://example.okta.com",
  }),
  /** An API token (SSWS), created by an admin holding the Group Membership Administrator role. */
  token: secretRef,
  /** Time limit of one call, all its requests included. */
  timeoutMs: z.int().min(100).max(120_000).default(10_000),
});

export type OktaIntegration = z.output<typeof oktaIntegration>;
