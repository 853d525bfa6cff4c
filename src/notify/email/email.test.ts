// Email notifications against a real local SMTP server: delivery, login, refusals, payload checks, rendering, config.

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { inspect } from "node:util";
import { type SmtpServer, startSmtpServer } from "../../../test/support/smtp.ts";
import { emailConfig } from "../../config/email.ts";
import { PermanentDeliveryError } from "../../errors.ts";
import type { OutboxRow } from "../../store/schema.ts";
import { createEmailSender, createMailer, type EmailMessage, type Mailer } from "./mailer.ts";
import { type EmailNotice, renderEmail } from "./render.ts";

function settingsFor(port: number, smtp: Record<string, unknown> = {}) {
  return emailConfig.parse({
    from: "jitflow <jitflow@example.com>",
    smtp: { host: "127.0.0.1", port, ...smtp },
  });
}

function outboxRow(payload: unknown): OutboxRow {
  return {
    id: "msg-1",
    kind: "email",
    payload: JSON.stringify(payload),
    request_id: null,
    created_at: 0,
    due_at: 0,
    attempts: 0,
    last_error: null,
    lease_owner: null,
    lease_until: null,
    delivered_at: null,
    order_key: null,
    dedupe_key: null,
  };
}

/** A port nothing listens on: bound, read, released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const message: EmailMessage = {
  to: ["alice@example.com", "bob@example.com"],
  subject: "[jitflow] A test",
  text: "Plain body\n",
  html: "<p>HTML body</p>",
};

describe("email over SMTP", () => {
  let smtp: SmtpServer;
  const mailers: Mailer[] = [];
  const mailerFor = (port: number, options: Record<string, unknown> = {}): Mailer => {
    const mailer = createMailer(settingsFor(port, options));
    mailers.push(mailer);
    return mailer;
  };

  before(async () => {
    smtp = await startSmtpServer({ rejectRecipients: (address) => address.startsWith("nobody@") });
  });
  after(async () => {
    for (const mailer of mailers) mailer.close();
    await smtp?.close();
  });

  test("a message arrives with its sender, recipients, subject, text and HTML", async () => {
    await mailerFor(smtp.port).send(message);
    const got = await smtp.waitFor((m) => m.subject === message.subject);
    assert.equal(got.from, '"jitflow" <jitflow@example.com>');
    assert.deepEqual(got.to, ["alice@example.com", "bob@example.com"]);
    assert.equal(got.text.trim(), "Plain body");
    assert.match(got.html, /<p>HTML body<\/p>/);
  });

  test("the login and the password from the environment reach the server", async () => {
    process.env.JITFLOW_TEST_SMTP_PASSWORD = "s3cret-pw";
    const mailer = mailerFor(smtp.port, { user: "mailer", password: { env: "JITFLOW_TEST_SMTP_PASSWORD" } });
    await mailer.send({ ...message, subject: "with login" });
    await smtp.waitFor((m) => m.subject === "with login");
    assert.deepEqual(smtp.auths.at(-1), { user: "mailer", password: "s3cret-pw" });
  });

  test("a missing password variable fails when the mailer is made, naming the variable only", () => {
    delete process.env.JITFLOW_TEST_SMTP_MISSING;
    assert.throws(
      () =>
        createMailer(settingsFor(smtp.port, { user: "u", password: { env: "JITFLOW_TEST_SMTP_MISSING" } })),
      /JITFLOW_TEST_SMTP_MISSING is not set/,
    );
  });

  test("a recipient the server refuses with 550 is a permanent failure", async () => {
    const err = await mailerFor(smtp.port)
      .send({ ...message, to: ["nobody@example.com"] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof PermanentDeliveryError, `got ${String(err)}`);
    assert.match(err.message, /550/);
  });

  test("a temporary refusal (450) is retried, not dropped", async () => {
    const busy = await startSmtpServer({ rejectRecipients: () => true, rejectCode: 450 });
    try {
      const err = await mailerFor(busy.port)
        .send(message)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err instanceof Error && !(err instanceof PermanentDeliveryError), `got ${String(err)}`);
      assert.match(err.message, /450/);
    } finally {
      await busy.close();
    }
  });

  test("a refused login is retried (it is the settings, not the message) and the password is not in the error", async () => {
    const strict = await startSmtpServer({ rejectAuth: true });
    try {
      process.env.JITFLOW_TEST_SMTP_WRONG = "wrong-pw";
      const mailer = mailerFor(strict.port, { user: "mailer", password: { env: "JITFLOW_TEST_SMTP_WRONG" } });
      const err = await mailer.send(message).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof Error && !(err instanceof PermanentDeliveryError), `got ${String(err)}`);
      assert.match(err.message, /535/);
      assert.match(err.message, /\[redacted\]/);
      assert.doesNotMatch(inspect(err, { depth: 10 }), /wrong-pw/);
      assert.deepEqual(strict.auths, [{ user: "mailer", password: "wrong-pw" }]);
    } finally {
      await strict.close();
    }
  });

  test("a server that is not listening gives a retryable error", async () => {
    const port = await closedPort();
    const err = await mailerFor(port)
      .send(message)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof Error && !(err instanceof PermanentDeliveryError), `got ${String(err)}`);
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  });

  test("the outbox sender delivers an email payload and refuses a malformed one for good", async () => {
    const sender = createEmailSender(mailerFor(smtp.port));
    assert.equal(sender.markEach, true);
    const payload = { ...message, subject: "from the outbox" };
    await sender.deliver(payload, outboxRow(payload));
    await smtp.waitFor((m) => m.subject === "from the outbox");

    for (const bad of [
      {},
      { to: [], subject: "s", text: "t" },
      { to: "alice@example.com", subject: "s", text: "t" },
    ]) {
      await assert.rejects(sender.deliver(bad, outboxRow(bad)), (err: unknown) => {
        assert.ok(err instanceof PermanentDeliveryError, `got ${String(err)}`);
        assert.match(err.message, /msg-1 is not an email/);
        return true;
      });
    }
  });
});

describe("renderEmail", () => {
  const notice = (over: Partial<EmailNotice> = {}): EmailNotice => ({
    type: "request.created",
    audience: "approver",
    request: {
      id: "req-1",
      flow: "prod-db",
      flowLabel: "Production database",
      target: "prod_ro",
      targetLabel: null,
      requester: "alice@example.com",
      duration: 3600,
      state: "pending",
      expiresAt: null,
      startAt: null,
      breakGlass: null,
      fields: { ticket: "OPS-1" },
    },
    actor: "alice@example.com",
    reason: null,
    ...over,
  });

  test("subjects say who asks for what, who decided, and for how long", () => {
    const cases: [Partial<EmailNotice>, string][] = [
      [{}, "[jitflow] alice@example.com asks for Production database (prod_ro) for 1h"],
      [
        { type: "request.approved", audience: "requester", actor: "bob@example.com" },
        "[jitflow] Approved by bob@example.com: Production database (prod_ro) for 1h",
      ],
      [
        { type: "request.denied", actor: "hook:night-freeze" },
        "[jitflow] Denied by a rule (night-freeze): Production database (prod_ro) for 1h",
      ],
      [{ type: "request.expired" }, "[jitflow] Expired: Production database (prod_ro) for 1h"],
      [
        { type: "request.reminded" },
        "[jitflow] Reminder: alice@example.com's request for Production database (prod_ro) for 1h is waiting for your decision",
      ],
      [
        { type: "request.break_glass" },
        "[jitflow] BREAK-GLASS: alice@example.com took Production database (prod_ro) without approval",
      ],
    ];
    for (const [over, subject] of cases) assert.equal(renderEmail(notice(over)).subject, subject);
  });

  test("durations read as hours and minutes", () => {
    const n = notice();
    const mail = renderEmail({ ...n, request: { ...n.request, duration: 5400 } });
    assert.match(mail.subject, / for 1h 30m$/);
    assert.match(mail.text, /^Duration: 1h 30m$/m);
  });

  test("text and HTML name the step, the approvals, the reason and the link", () => {
    const mail = renderEmail(
      notice({
        type: "request.approval_recorded",
        actor: "bob@example.com",
        reason: "on call this week",
        step: { name: "manager", index: 2, count: 2 },
        approvals: { count: 1, needed: 2 },
        link: "https://jitflow.example.com/requests/req-1",
      }),
    );
    for (const body of [mail.text, mail.html]) {
      assert.match(body, /step 2 of 2: manager/);
      assert.match(body, /1 of 2 approvals/);
      assert.match(body, /on call this week/);
      assert.match(body, /https:\/\/jitflow\.example\.com\/requests\/req-1/);
      assert.match(body, /OPS-1/);
    }
    assert.match(mail.text, /^Open in jitflow: https:\/\/jitflow\.example\.com\/requests\/req-1$/m);
  });

  test("user input is escaped in the HTML and cannot break the subject line", () => {
    const n = notice({ reason: `<script>alert("r")</script>` });
    const mail = renderEmail({
      ...n,
      request: {
        ...n.request,
        targetLabel: "db\r\nBcc: evil@example.com",
        fields: { note: "<img src=x onerror=alert(1)>", "<b>key</b>": "v & w" },
      },
    });
    assert.doesNotMatch(mail.html, /<script|<img|<b>/);
    assert.match(mail.html, /&lt;script&gt;alert\(&quot;r&quot;\)&lt;\/script&gt;/);
    assert.match(mail.html, /&lt;img src=x onerror=alert\(1\)&gt;/);
    assert.match(mail.html, /&lt;b&gt;key&lt;\/b&gt;/);
    assert.match(mail.html, /v &amp; w/);
    assert.doesNotMatch(mail.subject, /[\r\n]/);
    // The plain text stays as typed: it is never interpreted.
    assert.match(mail.text, /<script>alert\("r"\)<\/script>/);
  });
});

describe("emailConfig", () => {
  test("the minimal form gets the defaults", () => {
    const settings = emailConfig.parse({ from: "jitflow@example.com", smtp: { host: "mail.example.com" } });
    assert.deepEqual(settings, {
      from: "jitflow@example.com",
      smtp: {
        host: "mail.example.com",
        port: 587,
        secure: false,
        requireTLS: false,
        ignoreTLS: false,
        rejectUnauthorized: true,
      },
    });
  });

  test("secure defaults the port to 465", () => {
    const settings = emailConfig.parse({
      from: "jitflow <jitflow@example.com>",
      smtp: { host: "mail.example.com", secure: true },
    });
    assert.equal(settings.smtp.port, 465);
  });

  test("refuses a password without a user, pointing at it", () => {
    const result = emailConfig.safeParse({
      from: "jitflow@example.com",
      smtp: { host: "mail.example.com", password: { env: "SMTP_PASSWORD" } },
    });
    assert.equal(result.success, false);
    assert.deepEqual(
      result.error?.issues.map((i) => [i.path.join("."), i.message]),
      [["smtp.password", "a password needs a user to log in with"]],
    );
  });

  test("refuses what is not an address, an inline password and unknown keys", () => {
    for (const bad of [
      { from: "jitflow", smtp: { host: "h" } },
      { from: "jitflow <not an address>", smtp: { host: "h" } },
      { from: "a@example.com", smtp: { host: "h", user: "u", password: "inline" } },
      { from: "a@example.com", smtp: { host: "h", port: 70000 } },
      { from: "a@example.com", smtp: { host: "h" }, webUrl: "ftp://example.com" },
      { from: "a@example.com", smtp: { host: "h", tls: true } },
    ]) {
      assert.equal(emailConfig.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});
