// A reference to a secret in the environment: its own module so option schemas in other folders can use it without a cycle.

import { z } from "zod";

export const secretRef = z.strictObject(
  { env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) },
  {
    error: 'a secret must be a reference: env("NAME") or { env: "NAME" }; secrets are never written inline',
  },
);
