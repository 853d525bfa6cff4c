// Sends notification emails over SMTP, telling a refusal that retrying cannot fix from one that it can.

import { createTransport } from "nodemailer";
import { z } from "zod";
import type { EmailSettings } from "../../config/email.ts";
import { readSecret } from "../../config/secrets.ts";
import { PermanentDeliveryError } from "../../errors.ts";
import type { Sender } from "../../store/outbox.ts";
import type { OutboxRow } from "../../store/schema.ts";

export interface EmailMessage {
  to: string[];
  subject: string;
  text: string;
  html?: string;
}

export interface Mailer {
  /** Resolves once the server accepted the message; throws PermanentDeliveryError when it never will. */
  send(message: EmailMessage): Promise<void>;
  /** Closes the pooled connections. */
  close(): void;
}

/** What nodemailer puts on its errors (SMTP reply code, the command that got it). */
interface SmtpFailure {
  code?: string;
  responseCode?: number;
  command?: string;
}

// A 5xx reply to RCPT TO or DATA is about this message (no such mailbox, content refused): sending it again
// gets the same answer. A 5xx to AUTH or MAIL FROM is about our settings and hits every message alike, so those
// retry and go out once the settings are fixed, instead of every notification being dropped meanwhile.
const messageCommands = new Set(["RCPT TO", "DATA"]);

function deliveryError(err: unknown, where: string, password: string | undefined): Error {
  const failure = (err ?? {}) as SmtpFailure;
  const text = err instanceof Error ? err.message : String(err);
  // Servers are not supposed to echo credentials back, but error messages end up in logs and the database:
  // when one does, the password is cut out and the original error (which holds it) is not kept as the cause.
  const leaks = password !== undefined && text.includes(password);
  const message = `sending email through ${where} failed: ${leaks ? text.replaceAll(password, "[redacted]") : text}`;
  const options = leaks ? {} : { cause: err };
  const code = failure.responseCode;
  if (code !== undefined && code >= 500 && code < 600 && messageCommands.has(failure.command ?? "")) {
    return new PermanentDeliveryError(message, options);
  }
  return new Error(message, options);
}

/** One pooled SMTP transport for all notifications; reads the password once, so a missing one fails at start. */
export function createMailer(settings: EmailSettings): Mailer {
  const { smtp } = settings;
  const password = smtp.password ? readSecret(smtp.password) : undefined;
  const transport = createTransport({
    pool: true,
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.requireTLS,
    ignoreTLS: smtp.ignoreTLS,
    tls: { rejectUnauthorized: smtp.rejectUnauthorized },
    ...(smtp.user ? { auth: { user: smtp.user, pass: password ?? "" } } : {}),
    // A dead or silent server must fail the attempt in seconds, so the outbox retries, not hangs for minutes.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  const where = `${smtp.host}:${smtp.port}`;
  return {
    async send(message) {
      try {
        await transport.sendMail({
          from: settings.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          ...(message.html === undefined ? {} : { html: message.html }),
        });
      } catch (err) {
        throw deliveryError(err, where, password);
      }
    },
    close() {
      transport.close();
    },
  };
}

const emailPayload = z.object({
  to: z.array(z.string().min(1)).min(1),
  subject: z.string(),
  text: z.string(),
  html: z.string().optional(),
});

/** The outbox sender for messages of kind "email", whose payload is an EmailMessage. */
export function createEmailSender(mailer: Mailer): Sender {
  return {
    async deliver(payload: Record<string, unknown>, message: OutboxRow) {
      const parsed = emailPayload.safeParse(payload);
      if (!parsed.success) {
        throw new PermanentDeliveryError(
          `outbox message ${message.id} is not an email: ${z.prettifyError(parsed.error)}`,
        );
      }
      await mailer.send(parsed.data);
    },
    // Sending an email cannot be undone: mark each one delivered at once, so a crash re-sends as few as possible.
    markEach: true,
  };
}
