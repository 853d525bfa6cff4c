// Which Slack messages each audit event causes, in which order queue and when, as tables of cases.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SlackSettings } from "../../config/loader.ts";
import { configSchema } from "../../config/schema.ts";
import { compileFlow, type LoadedConfig } from "../../engine/load-config.ts";
import type { EventInfo, OutboxMessage } from "../../store/outbox.ts";
import { type AccessRequest, plainPolicyColumns } from "../../store/requests.ts";
import { type SlackOp, slackMessagesFor } from "./planner.ts";

const settings: SlackSettings = {
  botToken: { env: "SLACK_BOT_TOKEN" },
  signingSecret: { env: "SLACK_SIGNING_SECRET" },
  apiUrl: "https://slack.com/api/",
  command: "/jitflow",
  errorChannel: "#jitflow-errors",
  expiryWarning: 600,
};

function configWith(slack: SlackSettings | undefined): LoadedConfig {
  const config = configSchema.parse({
    flows: [
      { name: "chan", approvers: { users: ["bob@example.com"], channel: "#access" } },
      { name: "direct", approvers: { users: ["bob@example.com"] } },
      { name: "open" },
    ],
  });
  return {
    file: "jitflow.config.ts",
    config,
    flows: new Map(
      config.flows.map((f) => [f.name, { ...compileFlow(f, undefined), label: f.name, maxDuration: 0 }]),
    ),
    targets: new Map(),
    slack,
  };
}

const now = Date.UTC(2024, 0, 2, 3, 4, 5);

const row = (over: Partial<AccessRequest> = {}): AccessRequest => ({
  ...plainPolicyColumns,
  id: "req-1",
  flow: "chan",
  target: null,
  requester: "alice@example.com",
  grant: null,
  requesterName: "Alice",
  requesterRole: "member",
  state: "active",
  duration: 3600,
  fields: {},
  context: {},
  source: "slack",
  createdAt: now,
  updatedAt: now,
  decidedAt: null,
  activatedAt: now,
  expiresAt: now + 3600_000,
  endedAt: null,
  endedReason: null,
  error: null,
  dueAt: null,
  leaseOwner: null,
  leaseUntil: null,
  version: 1,
  ...over,
});

const event = (type: string): EventInfo => ({
  id: "evt-1",
  type,
  actor: "bob@example.com",
  at: now,
  data: { reason: "ok" },
});

/** "op@orderKey", or "op@-" for a message without one: short enough to read as a table. */
const summary = (messages: OutboxMessage[]): string[] =>
  messages.map((m) => `${(m.payload as SlackOp).op}@${m.orderKey ?? "-"}`);

const chan = "approval.post@slack:channel:#access";
const update = "approval.update@slack:channel:#access";
const dm = "dm@slack:dm:alice@example.com";
const reply = "approval.reply@slack:channel:#access";
const expiring = "expiring@-";
const error = "error@slack:errors";

describe("slackMessagesFor: which messages each event causes", () => {
  const cases: [type: string, expected: string[]][] = [
    ["request.created", [chan, dm]],
    ["request.approval_recorded", [update]],
    ["request.step_started", [update, reply, dm]],
    ["request.forwarded", [update]],
    ["request.reminded", [reply]],
    ["request.approved", [update, reply, dm]],
    ["request.denied", [update, reply, dm]],
    ["request.expired", [update, reply, dm]],
    ["request.activation_expired", [update, reply, dm]],
    ["request.cancelled", [update, reply]],
    ["grant.escalating", [update]],
    ["grant.active", [update, dm, expiring]],
    ["grant.extended", [update, dm, expiring]],
    ["grant.deescalating", [update]],
    ["grant.ended", [update, dm]],
    ["grant.escalation_failed", [update, error]],
    ["request.failed", [update, dm, error]],
    ["hook.failed", [error]],
    ["request.break_glass", [error]],
    ["approvers.unresolved", [error]],
    ["grant.retrying", [error]],
    ["request.unknown_event", []],
  ];
  for (const [type, expected] of cases) {
    test(`${type} → ${expected.join(", ") || "nothing"}`, () => {
      assert.deepEqual(summary(slackMessagesFor(configWith(settings), row(), event(type))), expected);
    });
  }

  for (const [type] of cases) {
    test(`${type} without an error channel: no error message`, () => {
      const got = summary(
        slackMessagesFor(configWith({ ...settings, errorChannel: undefined }), row(), event(type)),
      );
      assert.deepEqual(
        got,
        (cases.find(([t]) => t === type)?.[1] ?? []).filter((s) => s !== error),
      );
    });

    test(`${type} with Slack off: nothing`, () => {
      assert.deepEqual(slackMessagesFor(configWith(undefined), row(), event(type)), []);
    });
  }
});

describe("slackMessagesFor: order keys", () => {
  const cases: [flow: string, expected: string][] = [
    ["chan", "slack:channel:#access"],
    ["direct", "slack:request:req-42"],
    ["open", "slack:request:req-42"],
    ["removed-from-config", "slack:request:req-42"],
  ];
  for (const [flow, expected] of cases) {
    test(`approval messages of flow "${flow}" go in ${expected}`, () => {
      const config = configWith(settings);
      for (const type of ["request.created", "request.approved"]) {
        const [first] = slackMessagesFor(config, row({ id: "req-42", flow }), event(type));
        assert.equal(first?.orderKey, expected, type);
      }
    });
  }

  test("a DM is keyed by the requester's email", () => {
    const messages = slackMessagesFor(
      configWith(settings),
      row({ requester: "carol@example.com" }),
      event("request.denied"),
    );
    assert.deepEqual(
      messages.map((m) => m.orderKey),
      ["slack:channel:#access", "slack:channel:#access", "slack:dm:carol@example.com"],
    );
  });
});

describe("slackMessagesFor: payloads", () => {
  test("every message is a slack message for the request, due at once unless it is a warning", () => {
    const messages = slackMessagesFor(configWith(settings), row(), event("request.failed"));
    assert.deepEqual(
      messages.map((m) => [m.kind, m.requestId, m.dueAt, m.dedupeKey]),
      [
        ["slack", "req-1", undefined, undefined],
        ["slack", "req-1", undefined, undefined],
        ["slack", "req-1", undefined, undefined],
      ],
    );
  });

  test("ops carry the request, the recipient and the event", () => {
    const e = event("request.failed");
    assert.deepEqual(
      slackMessagesFor(configWith(settings), row(), e).map((m) => m.payload),
      [
        { op: "approval.update", requestId: "req-1" },
        { op: "dm", requestId: "req-1", to: "alice@example.com", event: e },
        { op: "error", requestId: "req-1", event: e },
      ],
    );
    assert.deepEqual(slackMessagesFor(configWith(settings), row(), event("request.created"))[0]?.payload, {
      op: "approval.post",
      requestId: "req-1",
    });
  });
});

describe("slackMessagesFor: the expiry warning", () => {
  const minute = 60_000;
  const cases: [name: string, expiresAt: number | null, warning: number, dueAt: number | undefined][] = [
    ["a 1h grant, warned 10 minutes before", now + 60 * minute, 600, now + 50 * minute],
    ["a 1h grant, warned 1 minute before", now + 60 * minute, 60, now + 59 * minute],
    ["a grant exactly as long as the warning", now + 10 * minute, 600, undefined],
    ["a grant shorter than the warning", now + 5 * minute, 600, undefined],
    ["warning turned off", now + 60 * minute, 0, undefined],
    ["no expiry", null, 600, undefined],
  ];
  for (const [name, expiresAt, warning, dueAt] of cases) {
    for (const type of ["grant.active", "grant.extended"]) {
      test(`${type}, ${name}: ${dueAt === undefined ? "none" : `due ${(dueAt - now) / minute} min later`}`, () => {
        const messages = slackMessagesFor(
          configWith({ ...settings, expiryWarning: warning }),
          row({ expiresAt: expiresAt }),
          event(type),
        );
        const warnings = messages.filter((m) => (m.payload as SlackOp).op === "expiring");
        if (dueAt === undefined) return assert.deepEqual(warnings, []);
        assert.deepEqual(warnings, [
          {
            kind: "slack",
            payload: { op: "expiring", requestId: "req-1", to: "alice@example.com", expiresAt },
            requestId: "req-1",
            orderKey: undefined,
            dueAt,
          },
        ]);
      });
    }
  }

  test("no warning for events other than grant.active and grant.extended", () => {
    for (const type of ["request.approved", "grant.escalating", "grant.ended", "request.created"]) {
      const ops = slackMessagesFor(configWith(settings), row(), event(type)).map(
        (m) => (m.payload as SlackOp).op,
      );
      assert.ok(!ops.includes("expiring"), type);
    }
  });
});
