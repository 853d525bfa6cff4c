// The `email` config option: the sender address, the SMTP server notifications go through, and the web app's address.

import { z } from "zod";
// From its own module, not schema.ts: schema.ts imports this file, and the cycle would leave secretRef undefined.
import { secretRef } from "./secret-ref.ts";

const mailbox = /^(?:[^<>]*<([^<>]+)>|([^<>]+))$/;

/** "jitflow@example.com" or "jitflow <jitflow@example.com>". */
const fromAddress = z
  .string()
  .trim()
  .refine(
    (value) => {
      const match = mailbox.exec(value);
      return z.email().safeParse((match?.[1] ?? match?.[2] ?? "").trim()).success;
    },
    { error: 'from is an address: "jitflow@example.com" or "jitflow <jitflow@example.com>"' },
  );

const smtp = z
  .strictObject({
    /** The SMTP server's host name or IP address. */
    host: z.string().min(1),
    /** The server's port: 587 (submission with STARTTLS) by default, 465 when `secure` is set. */
    port: z.int().min(1).max(65535).optional(),
    /**
     * TLS from the first byte (SMTPS, usually port 465). Leave it off for port 587 or 25: the connection then
     * upgrades with STARTTLS when the server offers it.
     */
    secure: z.boolean().default(false),
    /** The login, when the server wants one. */
    user: z.string().min(1).optional(),
    /** The login's password, as a secret reference: `env("SMTP_PASSWORD")`. Needs `user`. */
    password: secretRef.optional(),
    /** Refuse to send unless the server upgrades the connection with STARTTLS. */
    requireTLS: z.boolean().default(false),
    /** Never use STARTTLS, even when the server offers it (a local relay with a broken certificate). */
    ignoreTLS: z.boolean().default(false),
    /** Check the server's TLS certificate; turn off only for a test server with a self-signed one. */
    rejectUnauthorized: z.boolean().default(true),
  })
  .superRefine((s, ctx) => {
    if (s.password && !s.user) {
      ctx.addIssue({ code: "custom", path: ["password"], message: "a password needs a user to log in with" });
    }
    if (s.requireTLS && s.ignoreTLS) {
      ctx.addIssue({
        code: "custom",
        path: ["ignoreTLS"],
        message: "requireTLS and ignoreTLS contradict each other; set one",
      });
    }
  })
  .transform((s) => ({ ...s, port: s.port ?? (s.secure ? 465 : 587) }));

export const emailConfig = z.strictObject({
  /** The sender of every notification: "jitflow@example.com" or "jitflow <jitflow@example.com>". */
  from: fromAddress,
  /** The SMTP server that delivers the mail. */
  smtp,
  /** The web app's address (https://jitflow.example.com), for the "Open in jitflow" link in each email. */
  webUrl: z.url({ protocol: /^https?$/ }).optional(),
});

export type EmailSettings = z.output<typeof emailConfig>;
