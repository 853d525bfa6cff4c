// The zod schema of jitflow.config.ts: what each option accepts, its default, and cross-field rules.

import { z } from "zod";
import { durationProblem, parseDuration } from "../lib/duration.ts";
import { emailConfig } from "./email.ts";
import { secretRef } from "./secret-ref.ts";
import { defaultShutdownGraceMs } from "./server-defaults.ts";

export { secretRef } from "./secret-ref.ts";

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const seconds = parseDuration(value);
  if (seconds === undefined) {
    ctx.addIssue({ code: "custom", message: durationProblem(value) });
    return z.NEVER;
  }
  return seconds;
});

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "use letters, digits, '_', '-' or '.' (at most 63 characters)");

const email = z.email().transform((e) => e.toLowerCase());

export const fieldTypes = [
  "string",
  "text",
  "int",
  "bool",
  "duration",
  "user",
  "user_list",
  "str_list",
  "int_list",
] as const;
export type FieldType = (typeof fieldTypes)[number];

const field = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, "field names are identifiers"),
    label: z.string().min(1).max(200).optional(),
    description: z.string().max(2000).optional(),
    type: z.enum(fieldTypes),
    required: z.boolean().default(true),
    default: z.unknown().optional(),
    allowedValues: z
      .array(z.union([z.string(), z.number()]))
      .min(1)
      .max(100)
      .optional(),
    prefetch: z.boolean().default(false),
    visible: z.boolean().default(true),
  })
  .superRefine((f, ctx) => {
    if (f.allowedValues && f.prefetch) {
      ctx.addIssue({
        code: "custom",
        path: ["prefetch"],
        message: "a field has either allowedValues or prefetch",
      });
    }
    if (
      f.allowedValues &&
      (f.type === "bool" || f.type === "user" || f.type === "user_list" || f.type === "text")
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["allowedValues"],
        message: `a ${f.type} field cannot have allowedValues`,
      });
    }
    const numeric = f.type === "int" || f.type === "int_list";
    f.allowedValues?.forEach((v, i) => {
      if (numeric && !Number.isSafeInteger(v)) {
        ctx.addIssue({
          code: "custom",
          path: ["allowedValues", i],
          message: `${JSON.stringify(v)} is not an integer`,
        });
      }
      if (!numeric && typeof v !== "string") {
        ctx.addIssue({
          code: "custom",
          path: ["allowedValues", i],
          message: `${JSON.stringify(v)} is not a string`,
        });
      }
    });
    if (!f.visible && f.required && f.default === undefined) {
      ctx.addIssue({ code: "custom", path: ["visible"], message: "a hidden required field needs a default" });
    }
  });
export type FieldConfig = z.output<typeof field>;

const slackChannel = z.string().regex(/^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{2,})$/, {
  error: 'a Slack channel is "#name" (lower case) or a channel id such as "C0123ABCD"',
});

/** The request as a step's `when` condition sees it. */
export interface StepConditionInput {
  flow: string;
  target: string | null;
  /** Seconds asked for. */
  duration: number;
  fields: Record<string, unknown>;
  requester: { email: string; role: string };
}
export type StepCondition = (request: StepConditionInput) => boolean | Promise<boolean>;

const reminders = z.strictObject({
  /** The first reminder, this long after the step began (with onTimeout: "remind", at the step's timeout instead); then the interval between reminders. */
  after: duration,
  /** Each later reminder waits this many times longer than the one before. */
  backoff: z.number().min(1).max(10).default(2),
  /** At most this many reminders per step. */
  max: z.int().min(1).max(50).default(3),
});

const destination = z
  .strictObject({
    /** The Slack channel the approval message is posted to. */
    channel: slackChannel.optional(),
    /** People told directly, who may then decide too (backup approvers). */
    users: z.array(email).default([]),
    /** How long the request waits here before it is forwarded to the next destination (or expires, after the last). */
    timeout: duration.optional(),
  })
  .refine((d) => d.channel !== undefined || d.users.length > 0, {
    message: "a destination needs a channel or users",
  });
export type DestinationConfig = z.output<typeof destination>;

const quorum = z.union([z.literal("any"), z.literal("all"), z.int().min(1).max(20)]);

const stepName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,62}$/, "a step name is letters, digits, spaces, '_', '-' or '.'");

const step = z
  .strictObject({
    name: stepName.optional(),
    /** Named approvers. */
    users: z.array(email).default([]),
    /** The configured admins (users.admins). */
    admins: z.boolean().default(false),
    /** The members of a Slack channel, looked up when the step begins. */
    slackChannel: slackChannel.optional(),
    /** The members of an Okta group, through an `okta` integration. */
    oktaGroup: z.strictObject({ integration: z.string().min(1), group: z.string().min(1) }).optional(),
    /** Whoever is on call in a PagerDuty schedule (id or name), through a `pagerduty` integration. */
    pagerduty: z.strictObject({ integration: z.string().min(1), schedule: z.string().min(1) }).optional(),
    /** The emails the flow module's getApprovers returns. */
    getApprovers: z.boolean().default(false),
    /** How many of them must approve: "any" (one), "all", or a number. */
    quorum: quorum.default("any"),
    /** The step applies only when this returns true (evaluated once, at submission). */
    when: z
      .custom<StepCondition>((v) => typeof v === "function", {
        error: "when must be a function of the request",
      })
      .optional(),
    /** The Slack channel this step's approval message is posted to (otherwise its approvers get it directly). */
    channel: slackChannel.optional(),
    /** How long the step waits for its quorum before onTimeout happens. */
    timeout: duration.optional(),
    /** At the timeout: "remind" the approvers, "escalate" to the next destination, or "expire" the request. */
    onTimeout: z.enum(["remind", "escalate", "expire"]).default("expire"),
    /** Where the approval message goes, in turn: each waits its timeout, then the next is tried. */
    destinations: z.array(destination).max(10).default([]),
    reminders: reminders.optional(),
  })
  .superRefine((s, ctx) => {
    const hasSource =
      s.users.length > 0 || s.admins || s.slackChannel || s.oktaGroup || s.pagerduty || s.getApprovers;
    if (!hasSource && s.destinations.every((d) => d.users.length === 0)) {
      ctx.addIssue({
        code: "custom",
        message:
          "a step needs approvers: users, admins, slackChannel, oktaGroup, pagerduty, getApprovers or destinations with users",
      });
    }
    if (s.onTimeout === "escalate" && s.destinations.length < 2) {
      ctx.addIssue({
        code: "custom",
        path: ["onTimeout"],
        message: 'onTimeout: "escalate" forwards to the next destination: list at least two destinations',
      });
    }
  });
export type StepConfig = z.output<typeof step>;

const approvers = z
  .strictObject({
    users: z.array(email).default([]),
    /** The Slack channel approval messages are posted to (otherwise the approvers get direct messages). */
    channel: slackChannel.optional(),
    minApprovals: z.int().min(1).max(20).default(1),
    allowSelfApproval: z.boolean().default(false),
    /** Approve and Deny in Slack open a box for a note to the requester before the decision is recorded. */
    decisionNote: z.boolean().default(false),
    /** Ordered approval steps; each must reach its quorum, by different people, before the next begins. */
    steps: z.array(step).min(1).max(10).optional(),
    /** Backup destinations of the single-step form. */
    destinations: z.array(destination).max(10).default([]),
    /** Reminders of the single-step form. */
    reminders: reminders.optional(),
  })
  .superRefine((a, ctx) => {
    if (a.steps && (a.users.length > 0 || a.minApprovals !== 1 || a.destinations.length > 0 || a.reminders)) {
      ctx.addIssue({
        code: "custom",
        path: ["steps"],
        message: "with steps, put users, minApprovals, destinations and reminders in the steps",
      });
    }
  });
export type ApproversConfig = z.output<typeof approvers>;

const extensions = z.strictObject({
  /** At most this many extensions per grant. */
  max: z.int().min(0).max(100).optional(),
  /** At most this much time added by extensions, in all. */
  maxTotal: duration.optional(),
  /** Extensions that take the total added above this need approval again (0: every extension). */
  approvalAbove: duration.optional(),
});

export const sources = ["slack", "web", "api"] as const;

const flow = z
  .strictObject({
    name,
    label: z.string().min(1).max(200).optional(),
    description: z.string().max(2000).optional(),
    targets: z.array(z.string()).default([]),
    durations: z.array(duration).max(20).default([]),
    fields: z.array(field).max(50).default([]),
    approvers: approvers.optional(),
    allowRevoke: z.boolean().default(true),
    scheduleDeescalation: z.boolean().default(true),
    allowedSources: z
      .array(z.enum(sources))
      .min(1)
      .default([...sources]),
    implementation: z.string().min(1).optional(),
    vars: z.record(z.string(), z.unknown()).default({}),
    requestTimeout: duration.default(86400),
    additionalHeaderText: z.string().max(3000).optional(),
    allowGuestInteraction: z.boolean().default(false),
    /** Requesters may approve their own request in an emergency, with a reason; it is announced loudly and listed for review. */
    allowBreakGlass: z.boolean().default(false),
    /** How far ahead a request may ask to start (startAt). */
    maxStartDelay: duration.default(7 * 86400),
    /** An approved request that has not started within this long of its start time expires. */
    activationWindow: duration.optional(),
    extensions: extensions.default({}),
  })
  .superRefine((f, ctx) => {
    if (f.targets.length > 0 && f.durations.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["durations"],
        message: "a flow with targets needs at least one duration",
      });
    }
    const seen = new Set<string>();
    f.fields.forEach((fd, i) => {
      if (seen.has(fd.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["fields", i, "name"],
          message: `field "${fd.name}" is defined twice`,
        });
      }
      if (["target", "target_id", "duration"].includes(fd.name)) {
        ctx.addIssue({ code: "custom", path: ["fields", i, "name"], message: `"${fd.name}" is reserved` });
      }
      seen.add(fd.name);
    });
  });
export type FlowConfig = z.output<typeof flow>;

/** Per-user identities: email → the person's name in the target (a login, a user name, a DN). */
const identities = z.record(
  z.email({ error: "identities are keyed by the person's email" }).transform((e) => e.toLowerCase()),
  z.string().min(1).max(512),
);

const drift = z.strictObject({
  /**
   * What to do with access the target reports and jitflow did not grant: "report" it (audit log,
   * metrics, error channel), "revoke" it as well, or "off" (no reconciliation of this target).
   */
  mode: z.enum(["report", "revoke", "off"]).default("report"),
  /** How often the target is compared with jitflow's grants. */
  interval: duration.default(15 * 60),
  /** Identities (as the target lists them) that hold the access permanently: never reported, never revoked. */
  standing: z.array(z.string().min(1)).default([]),
});
export type DriftConfig = z.output<typeof drift>;

const target = z.looseObject({
  type: z.string().min(1),
  label: z.string().min(1).max(200).optional(),
  /** The integration (credentials, connection) the connector uses, by name. */
  integration: z.string().min(1).optional(),
  /** Settings whose value comes from the request field of the same name (e.g. the repository). */
  fieldBindings: z.array(z.string().min(1)).default([]),
  /**
   * Per bound setting, values a request may name beyond those the connector offers (options()): an
   * explicit allow-list. A value the connector refuses outright (a superuser role) stays refused.
   */
  grantable: z
    .record(
      z.string().min(1),
      z.array(z.string().min(1)).min(1, { error: "a grantable list names at least one value" }),
    )
    .default({}),
  identities: identities.default({}),
  drift: drift.default({ mode: "report", interval: 15 * 60, standing: [] }),
});
export type TargetConfig = z.output<typeof target>;

const integration = z.looseObject({
  type: z.string().min(1),
  /** Per-user identities shared by every target of this integration. */
  identities: identities.default({}),
});

/** Where a signed POST goes: http(s), and no credentials in the URL, which fetch refuses on every call. */
export const webhookUrl = z
  .url({ protocol: /^https?$/, error: "url must be an http(s) URL" })
  .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), {
    error:
      "url must not hold a user or password (fetch refuses it): your endpoint checks the signature instead",
  });

const webhookNotify = z.strictObject({
  url: webhookUrl,
  secret: secretRef,
  events: z.array(z.string()).optional(),
});

const slack = z.strictObject({
  /** The bot token (xoxb-…); defaults to the SLACK_BOT_TOKEN environment variable. */
  botToken: secretRef.optional(),
  /** The app's signing secret; defaults to SLACK_SIGNING_SECRET. */
  signingSecret: secretRef.optional(),
  /** The slash command, as set in the Slack app. */
  command: z
    .string()
    .regex(/^\/[a-z0-9_-]{1,31}$/, { error: 'a slash command looks like "/jitflow"' })
    .default("/jitflow"),
  /** Where flows' errors (hooks that throw, targets that keep refusing) are posted. */
  errorChannel: slackChannel.optional(),
  /** How long before expiry the requester is told their access is about to end; 0 turns it off. */
  expiryWarning: z.union([z.literal(0), duration]).default(600),
});

const web = z
  .strictObject({
    /**
     * How people sign in to the web app: "oidc" (single sign-on), or "dev" (type any email; for trying
     * jitflow on your own machine: the server then binds to 127.0.0.1 only).
     */
    auth: z.enum(["oidc", "dev"]),
    oidc: z
      .strictObject({
        /** The provider's issuer URL; its /.well-known/openid-configuration is read at start. */
        issuer: z.url(),
        clientId: z.string().min(1),
        clientSecret: secretRef,
        /** Scopes asked for; the email must come back verified. */
        scopes: z.array(z.string()).default(["openid", "email", "profile"]),
      })
      .optional(),
    /** The URL people open (https://jitflow.example.com): the OIDC redirect URI is built from it. */
    publicUrl: z.url().optional(),
    /** How long a sign-in lasts. */
    sessionTtl: duration.default(12 * 3600),
  })
  .superRefine((w, ctx) => {
    if (w.auth === "oidc" && !w.oidc) {
      ctx.addIssue({
        code: "custom",
        path: ["oidc"],
        message: 'auth: "oidc" needs oidc: { issuer, clientId, clientSecret }',
      });
    }
    if (w.auth === "oidc" && !w.publicUrl) {
      ctx.addIssue({
        code: "custom",
        path: ["publicUrl"],
        message: 'auth: "oidc" needs publicUrl, to build the redirect URI',
      });
    }
  });

export const configSchema = z
  .strictObject({
    users: z
      .strictObject({
        admins: z.array(email).default([]),
        memberDomains: z
          .array(
            z
              .string()
              .min(1)
              .transform((d) => d.toLowerCase()),
          )
          .optional(),
      })
      .default({ admins: [] }),
    database: z.strictObject({ url: z.string().min(1).optional() }).default({}),
    server: z
      .strictObject({
        port: z.int().min(0).max(65535).optional(),
        host: z.string().optional(),
        maxBodyBytes: z.int().min(1024).max(10_000_000).default(65536),
        metricsPort: z.int().min(0).max(65535).optional(),
        metricsHost: z.string().optional(),
        metricsToken: secretRef.optional(),
        shutdownGraceMs: z.int().min(1000).max(600_000).default(defaultShutdownGraceMs),
      })
      .default({ maxBodyBytes: 65536, shutdownGraceMs: defaultShutdownGraceMs }),
    hooks: z
      .strictObject({ timeoutMs: z.int().min(10).max(600_000).default(5000) })
      .default({ timeoutMs: 5000 }),
    scheduler: z
      .strictObject({
        sweepIntervalMs: z.int().min(50).max(600_000).default(2000),
        leaseMs: z.int().min(1000).max(3_600_000).default(60_000),
        targetTimeoutMs: z.int().min(100).max(600_000).default(30_000),
        retryBaseMs: z.int().min(10).max(600_000).default(1000),
        retryMaxMs: z.int().min(100).max(86_400_000).default(300_000),
        concurrency: z.int().min(1).max(1000).default(64),
      })
      .refine((s) => s.leaseMs > s.targetTimeoutMs, {
        message:
          "leaseMs must be longer than targetTimeoutMs, or a slow target call could be run twice at once",
        path: ["leaseMs"],
      })
      .default({
        sweepIntervalMs: 2000,
        leaseMs: 60_000,
        targetTimeoutMs: 30_000,
        retryBaseMs: 1000,
        retryMaxMs: 300_000,
        concurrency: 64,
      }),
    notify: z
      .strictObject({
        webhooks: z
          .array(webhookNotify)
          .default([])
          .superRefine((hooks, ctx) => {
            hooks.forEach((h, i) => {
              if (hooks.findIndex((o) => o.url === h.url) !== i) {
                ctx.addIssue({ code: "custom", path: [i, "url"], message: `${h.url} is listed twice` });
              }
            });
          }),
        /** How long delivered outbox messages are kept (for inspection) before they are deleted. */
        retainDelivered: duration.default(7 * 86400),
      })
      .default({ webhooks: [], retainDelivered: 7 * 86400 }),
    audit: z
      .strictObject({
        /**
         * How often the audit chain's head (seq and hash) is published, to be kept outside the database: a
         * log line, the jitflow_audit_head metric, and notify.webhooks that list "audit.head". 0: never.
         */
        publishInterval: z.union([z.literal(0), duration]).default(900),
      })
      .default({ publishInterval: 900 }),
    slack: slack.optional(),
    /** Email notifications over SMTP. */
    email: emailConfig.optional(),
    web: web.optional(),
    integrations: z.record(name, integration).default({}),
    /** Where temporary logins' passwords are sealed until their requester reads them. */
    credentials: z
      .strictObject({
        /** 32 bytes, base64 or hex (`openssl rand -base64 32`), from the environment. */
        encryptionKey: secretRef,
      })
      .optional(),
    targets: z.record(name, target).default({}),
    flows: z.array(flow).default([]),
  })
  .superRefine((c, ctx) => {
    const flowNames = new Set<string>();
    c.flows.forEach((f, i) => {
      if (flowNames.has(f.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["flows", i, "name"],
          message: `flow "${f.name}" is defined twice`,
        });
      }
      flowNames.add(f.name);
      f.targets.forEach((t, j) => {
        if (!(t in c.targets)) {
          ctx.addIssue({
            code: "custom",
            path: ["flows", i, "targets", j],
            message: `target "${t}" is not defined under targets (defined: ${Object.keys(c.targets).join(", ") || "none"})`,
          });
        }
      });
    });
  });

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type SecretRef = z.output<typeof secretRef>;
