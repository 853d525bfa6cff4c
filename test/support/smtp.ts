// A real SMTP server on 127.0.0.1 for tests: records the mail it receives and the logins, refuses on demand.

import type { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  /** The From header, display name included: "jitflow <jitflow@example.com>". */
  from: string;
  /** The envelope's recipients: who the server accepted the message for. */
  to: string[];
  subject: string;
  text: string;
  html: string;
}

export interface SmtpServer {
  port: number;
  messages: ReceivedMail[];
  /** Every login attempt, accepted or not. */
  auths: { user: string; password: string }[];
  /** The first message, already here or still to come, that matches; rejects after timeoutMs (60 s: generous, for a busy machine). */
  waitFor(predicate: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

export interface SmtpServerOptions {
  /** Recipients answered with `rejectCode` at RCPT TO. */
  rejectRecipients?: (address: string) => boolean;
  /** The reply code for rejected recipients: 550 (mailbox unavailable) unless set, 450 for a temporary refusal. */
  rejectCode?: number;
  /** Refuse every login with 535, the reply repeating the user and password (after recording them). */
  rejectAuth?: boolean;
}

function refusal(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<SmtpServer> {
  const messages: ReceivedMail[] = [];
  const auths: SmtpServer["auths"] = [];
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    authOptional: true,
    // No STARTTLS, so no certificate is needed; and so logins over the plain connection must be allowed.
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      auths.push({ user: auth.username ?? "", password: auth.password ?? "" });
      if (options.rejectAuth) {
        // Echoes the credentials, like a careless server would, so a test can check they stay out of errors.
        return callback(refusal(`Invalid login ${auth.username}:${auth.password}`, 535));
      }
      callback(null, { user: auth.username });
    },
    onRcptTo(address, _session, callback) {
      if (options.rejectRecipients?.(address.address)) {
        return callback(refusal(`Mailbox unavailable: ${address.address}`, options.rejectCode ?? 550));
      }
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          messages.push({
            from: parsed.from?.text ?? "",
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? "",
            text: parsed.text ?? "",
            html: typeof parsed.html === "string" ? parsed.html : "",
          });
          for (const wake of waiters) wake();
          callback();
        },
        (err: Error) => callback(err),
      );
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    messages,
    auths,
    waitFor(predicate, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(predicate);
          if (!found) return;
          done();
          resolve(found);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching mail within ${timeoutMs} ms; received: ${JSON.stringify(messages)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
