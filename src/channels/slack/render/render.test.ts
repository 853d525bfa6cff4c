// What the Slack renderers show: the request form per field type, the approval message per state, the
// requester's notices, and how a submitted form is read back.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AnyBlock, InputBlock, KnownBlock, ModalView } from "@slack/types";
import { configSchema } from "../../../config/schema.ts";
import { compileFlow, type LoadedConfig } from "../../../engine/load-config.ts";
import type { FlowView } from "../../../engine/read/flows.ts";
import type { RequestView } from "../../../engine/read/views.ts";
import type { RequestState } from "../../../model/types.ts";
import type { EventInfo } from "../../../store/outbox.ts";
import { fixedTarget } from "../../../targets/load.ts";
import type { TargetConnector } from "../../../targets/target.ts";
import { slackDate } from "../blocks/text.ts";
import { type FormState, readForm } from "../form-values.ts";
import { errorNotice, requesterNotice } from "./notices.ts";
import { flowPicker, loadingView, requestForm } from "./request-form.ts";
import {
  type ApprovalOptions,
  approvalMessage,
  labelsOf,
  showValue,
  stateLine,
  what,
} from "./request-message.ts";

type Field = FlowView["fields"][number];

const field = (over: Partial<Field> & Pick<Field, "name" | "type">): Field => ({
  label: over.name,
  required: true,
  default: null,
  allowedValues: null,
  prefetch: false,
  visible: true,
  description: null,
  ...over,
});

const flowView = (over: Partial<FlowView> = {}): FlowView => ({
  name: "db",
  label: "Database",
  description: null,
  targets: [],
  durations: [],
  maxDuration: 0,
  fields: [],
  approvers: null,
  allowRevoke: true,
  allowedSources: ["slack"],
  ...over,
});

const t0 = Date.UTC(2024, 0, 2, 3, 4, 5);
const at = (ms: number): string => new Date(ms).toISOString();

const requestView = (over: Partial<RequestView> = {}): RequestView => ({
  id: "req-1",
  flow: "db",
  target: "prod",
  requester: { email: "alice@example.com", name: "Alice" },
  state: "pending",
  duration: 3600,
  fields: {},
  context: {},
  source: "slack",
  createdAt: at(t0),
  updatedAt: at(t0),
  decidedAt: null,
  activatedAt: null,
  expiresAt: null,
  endedAt: null,
  endedReason: null,
  error: null,
  attempts: 0,
  lastError: null,
  decisions: [],
  step: 0,
  steps: [0],
  startAt: null,
  breakGlass: null,
  reviewedBy: null,
  reviewedAt: null,
  extends: null,
  extensions: 0,
  ...over,
});

const approve = (actor: string, reason: string | null = null) => ({
  actor,
  decision: "approve" as const,
  reason,
  at: at(t0),
  step: 0,
});
const deny = (actor: string, reason: string | null = null) => ({
  actor,
  decision: "deny" as const,
  reason,
  at: at(t0),
  step: 0,
});

const inputs = (view: ModalView): InputBlock[] =>
  view.blocks.filter((b): b is InputBlock => b.type === "input");
const inputOf = (view: ModalView, blockId: string): InputBlock | undefined =>
  inputs(view).find((b) => b.block_id === blockId);
/** The texts a reader sees, block by block (views hold AnyBlock; ours are all KnownBlocks). */
const textsOf = (blocks: AnyBlock[]): string[] =>
  (blocks as KnownBlock[]).flatMap((b) => {
    if (b.type === "section") return [b.text?.text ?? "", ...(b.fields ?? []).map((f) => f.text)];
    if (b.type === "header") return [b.text.text];
    if (b.type === "context") return b.elements.map((e) => ("text" in e ? e.text : ""));
    return [];
  });

describe("requestForm: the element for each field type", () => {
  const cases: [name: string, field: Field, expected: Record<string, unknown>][] = [
    [
      "string with allowedValues",
      field({ name: "env", type: "string", allowedValues: ["dev", "stage", "prod"], default: "stage" }),
      {
        type: "static_select",
        options: [
          ["dev", "i:0"],
          ["stage", "i:1"],
          ["prod", "i:2"],
        ],
        initial_option: "i:1",
      },
    ],
    [
      "int with allowedValues",
      field({ name: "n", type: "int", allowedValues: [5, 10] }),
      {
        type: "static_select",
        options: [
          ["5", "i:0"],
          ["10", "i:1"],
        ],
      },
    ],
    [
      "str_list with allowedValues",
      field({ name: "dbs", type: "str_list", allowedValues: ["a", "b", "c"], default: ["a", "c"] }),
      {
        type: "multi_static_select",
        options: [
          ["a", "i:0"],
          ["b", "i:1"],
          ["c", "i:2"],
        ],
        initial_options: ["i:0", "i:2"],
      },
    ],
    [
      "int_list with allowedValues",
      field({ name: "ports", type: "int_list", allowedValues: [80, 443] }),
      {
        type: "multi_static_select",
        options: [
          ["80", "i:0"],
          ["443", "i:1"],
        ],
      },
    ],
    [
      "prefetched string",
      field({ name: "repo", type: "string", prefetch: true }),
      { type: "external_select", min_query_length: 0 },
    ],
    [
      "prefetched str_list",
      field({ name: "repos", type: "str_list", prefetch: true }),
      { type: "multi_external_select", min_query_length: 0 },
    ],
    ["user", field({ name: "owner", type: "user" }), { type: "users_select" }],
    ["user_list", field({ name: "team", type: "user_list" }), { type: "multi_users_select" }],
    [
      "bool",
      field({ name: "ok", type: "bool" }),
      {
        type: "static_select",
        options: [
          ["Yes", "true"],
          ["No", "false"],
        ],
      },
    ],
    [
      "bool defaulting to true",
      field({ name: "ok", type: "bool", default: true }),
      { type: "static_select", initial_option: "true" },
    ],
    [
      "bool defaulting to false",
      field({ name: "ok", type: "bool", default: false }),
      { type: "static_select", initial_option: "false" },
    ],
    [
      "int",
      field({ name: "count", type: "int", default: 3 }),
      { type: "number_input", is_decimal_allowed: false, initial_value: "3" },
    ],
    [
      "text",
      field({ name: "why", type: "text", default: "because" }),
      { type: "plain_text_input", multiline: true, max_length: 3000, initial_value: "because" },
    ],
    [
      "str_list",
      field({ name: "hosts", type: "str_list", default: ["a", "b"] }),
      {
        type: "plain_text_input",
        multiline: true,
        max_length: 3000,
        placeholder: "One per line",
        initial_value: "a\nb",
      },
    ],
    [
      "int_list",
      field({ name: "ids", type: "int_list" }),
      { type: "plain_text_input", multiline: true, placeholder: "One per line" },
    ],
    [
      "string",
      field({ name: "ticket", type: "string", default: "OPS-1" }),
      { type: "plain_text_input", multiline: undefined, max_length: 3000, initial_value: "OPS-1" },
    ],
    [
      "duration",
      field({ name: "for", type: "duration" }),
      { type: "plain_text_input", multiline: undefined, placeholder: "e.g. 30m, 2h" },
    ],
  ];
  for (const [name, f, expected] of cases) {
    test(name, () => {
      const input = inputOf(requestForm(flowView({ fields: [f] }), undefined), `f:${f.name}`);
      assert.ok(input, "no input block for the field");
      const el = input.element as unknown as Record<string, any>;
      assert.equal(el.action_id, "v");
      const seen: Record<string, unknown> = { type: el.type };
      for (const key of Object.keys(expected)) {
        if (key === "options") seen.options = el.options?.map((o: any) => [o.text.text, o.value]);
        else if (key === "initial_option") seen.initial_option = el.initial_option?.value;
        else if (key === "initial_options")
          seen.initial_options = el.initial_options?.map((o: any) => o.value);
        else if (key === "placeholder") seen.placeholder = el.placeholder?.text;
        else seen[key] = el[key];
      }
      assert.deepEqual(seen, expected);
      if (!("initial_option" in expected)) assert.equal(el.initial_option, undefined);
      if (!("initial_options" in expected)) assert.equal(el.initial_options, undefined);
    });
  }
});

describe("requestForm: the rest of the form", () => {
  test("hidden fields are left out; labels and hints come from the field", () => {
    const view = requestForm(
      flowView({
        fields: [
          field({ name: "shown", type: "string", label: "Ticket", description: "The Jira ticket" }),
          field({ name: "secret", type: "string", visible: false, default: "x" }),
        ],
      }),
      undefined,
    );
    assert.deepEqual(
      inputs(view).map((b) => [b.block_id, b.label.text, b.hint?.text]),
      [["f:shown", "Ticket", "The Jira ticket"]],
    );
  });

  const optional: [name: string, over: Partial<Field>, expected: boolean][] = [
    ["required without a default", { required: true, default: null }, false],
    ["not required", { required: false, default: null }, true],
    ["required with a default", { required: true, default: "x" }, true],
    ["required with a false default", { type: "bool", required: true, default: false }, true],
  ];
  for (const [name, over, expected] of optional) {
    test(`a field ${name} is ${expected ? "optional" : "required"}`, () => {
      const view = requestForm(
        flowView({ fields: [field({ name: "f", type: "string", ...over })] }),
        undefined,
      );
      assert.equal(inputOf(view, "f:f")?.optional, expected);
    });
  }

  const targets: [count: number, expected: "none" | "context" | "select"][] = [
    [0, "none"],
    [1, "context"],
    [2, "select"],
  ];
  for (const [count, expected] of targets) {
    test(`${count} target(s): ${expected}`, () => {
      const view = requestForm(
        flowView({
          targets: Array.from({ length: count }, (_, i) => ({
            name: `t${i}`,
            label: `Target ${i}`,
            type: "postgres",
          })),
        }),
        undefined,
      );
      const select = inputOf(view, "jf:target");
      const note = textsOf(view.blocks).find((t) => t.startsWith("Target: "));
      assert.deepEqual(
        {
          select: (select?.element as any)?.options?.map((o: any) => [o.text.text, o.value]),
          note,
        },
        {
          none: { select: undefined, note: undefined },
          context: { select: undefined, note: "Target: *Target 0*" },
          select: {
            select: [
              ["Target 0", "t0"],
              ["Target 1", "t1"],
            ],
            note: undefined,
          },
        }[expected],
      );
    });
  }

  test("durations: a select with the first one chosen", () => {
    const view = requestForm(flowView({ durations: [1800, 3600, 86400] }), undefined);
    const el = inputOf(view, "jf:duration")?.element as any;
    assert.equal(el.type, "static_select");
    assert.deepEqual(
      el.options.map((o: any) => [o.text.text, o.value]),
      [
        ["30m", "1800"],
        ["1h", "3600"],
        ["1d", "86400"],
      ],
    );
    assert.equal(el.initial_option.value, "1800");
    assert.equal(inputOf(requestForm(flowView(), undefined), "jf:duration"), undefined);
  });

  test("additionalHeaderText comes first, escaped; then the flow's label and description", () => {
    const view = requestForm(flowView({ description: "Read <only>" }), "Ask in <!here> first");
    assert.deepEqual(textsOf(view.blocks).slice(0, 2), [
      "Ask in &lt;!here&gt; first",
      "*Database*\nRead &lt;only&gt;",
    ]);
    assert.deepEqual(textsOf(requestForm(flowView(), undefined).blocks).slice(0, 1), ["*Database*"]);
  });

  test("the modal: callback, title, submit, and the flow in private_metadata", () => {
    const view = requestForm(flowView({ name: "prod-db" }), undefined);
    assert.equal(view.callback_id, "jf_request");
    assert.equal(view.title.text, "Request access");
    assert.equal(view.submit?.text, "Request");
    assert.deepEqual(JSON.parse(view.private_metadata ?? ""), { flow: "prod-db" });
  });

  test("loadingView and flowPicker", () => {
    assert.equal(loadingView().callback_id, "jf_loading");
    const picker = flowPicker(
      [flowView({ name: "a", label: "A", description: "first" }), flowView({ name: "b", label: "B" })],
      "No flow <x>",
    );
    assert.equal(picker.callback_id, "jf_pick");
    assert.equal(picker.submit?.text, "Next");
    assert.deepEqual(textsOf(picker.blocks), ["No flow &lt;x&gt;"]);
    const el = inputOf(picker, "jf:flow")?.element as any;
    assert.deepEqual(
      el.options.map((o: any) => [o.text.text, o.value, o.description?.text]),
      [
        ["A", "a", "first"],
        ["B", "b", undefined],
      ],
    );
    assert.equal(inputOf(picker, "jf:flow")?.hint, undefined);
  });
});

// ---------------------------------------------------------------------------------------------------------

const labels = { flow: "Database", target: "Prod" };
const options = (over: Partial<ApprovalOptions> = {}): ApprovalOptions => ({
  minApprovals: 1,
  allowRevoke: true,
  hidden: new Set(),
  fieldLabels: new Map(),
  ...over,
});

const allStates: RequestState[] = [
  "pending",
  "approved",
  "denied",
  "expired",
  "cancelled",
  "escalating",
  "active",
  "deescalating",
  "ended",
  "failed",
];

const buttonsOf = (blocks: KnownBlock[]): string[] =>
  blocks.flatMap((b) =>
    b.type === "actions" ? b.elements.map((e) => ("action_id" in e ? (e.action_id ?? "") : "")) : [],
  );

describe("approvalMessage", () => {
  for (const state of allStates) {
    for (const allowRevoke of [true, false]) {
      const expected =
        state === "pending"
          ? ["jf_approve", "jf_deny"]
          : state === "active" && allowRevoke
            ? ["jf_revoke"]
            : [];
      test(`${state}${allowRevoke ? "" : " without allowRevoke"}: buttons ${expected.join(", ") || "none"}`, () => {
        const m = approvalMessage(
          requestView({ state, expiresAt: at(t0 + 3600_000) }),
          labels,
          options({ allowRevoke }),
        );
        assert.deepEqual(buttonsOf(m.blocks), expected);
        // Every state has its line, under a block id that names the state.
        const line = m.blocks.find((b) => b.block_id === `state:${state}`);
        assert.equal(
          line?.type === "section" && line.text?.text,
          stateLine(requestView({ state, expiresAt: at(t0 + 3600_000) }), 1),
        );
        assert.equal(m.text, `alice@example.com asks for Database: Prod (${state})`);
      });
    }
  }

  test("the button values are the request id; Revoke asks for confirmation", () => {
    const pending = approvalMessage(requestView(), labels, options());
    const values = pending.blocks.flatMap((b) =>
      b.type === "actions" ? b.elements.map((e) => ("value" in e ? e.value : undefined)) : [],
    );
    assert.deepEqual(values, ["req-1", "req-1"]);
    const active = approvalMessage(requestView({ state: "active", expiresAt: at(t0) }), labels, options());
    const revoke = active.blocks.find((b) => b.type === "actions");
    assert.deepEqual(
      revoke?.type === "actions" && "confirm" in (revoke.elements[0] ?? {})
        ? (revoke.elements[0] as any).confirm.text.text
        : undefined,
      "alice@example.com loses Prod now.",
    );
  });

  test("hidden fields never show; the others show under their labels", () => {
    const m = approvalMessage(
      requestView({ fields: { secret: "s3cr3t-token", ticket: "OPS-1", dbs: ["a", "b"] } }),
      labels,
      options({ hidden: new Set(["secret"]), fieldLabels: new Map([["ticket", "Ticket"]]) }),
    );
    const json = JSON.stringify(m);
    assert.doesNotMatch(json, /s3cr3t-token|secret/);
    const fields = m.blocks.flatMap((b) => (b.type === "section" ? (b.fields ?? []).map((f) => f.text) : []));
    assert.deepEqual(fields, ["*Ticket*\nOPS-1", "*dbs*\na, b"]);
  });

  test("only hidden fields: no field section at all", () => {
    const m = approvalMessage(
      requestView({ fields: { secret: "x" } }),
      labels,
      options({ hidden: new Set(["secret"]) }),
    );
    assert.equal(
      m.blocks.some((b) => b.type === "section" && b.fields),
      false,
    );
  });

  test("user input is escaped: names, field labels and values", () => {
    const m = approvalMessage(
      requestView({
        requester: { email: "alice@example.com", name: "<!channel>" },
        fields: { why: "<https://evil.example|bank> & co", "<!here>": "x" },
      }),
      labels,
      options(),
    );
    const texts = textsOf(m.blocks).join("\n");
    assert.doesNotMatch(texts, /<!channel>|<!here>|<https:/);
    assert.match(
      texts,
      /\*&lt;!channel&gt;\* \(alice@example\.com\) asks for \*Database\*: \*Prod\* for \*1h\*/,
    );
    assert.match(texts, /\*why\*\n&lt;https:\/\/evil\.example\|bank&gt; &amp; co/);
    assert.match(texts, /\*&lt;!here&gt;\*\nx/);
  });

  test("user input cannot format the message: bold, italics, strike-through, code or quotes", () => {
    // The mrkdwn texts only: Slack formats nothing in plain_text (the header, the buttons).
    const mrkdwnOf = (node: unknown): string[] => {
      if (Array.isArray(node)) return node.flatMap(mrkdwnOf);
      if (typeof node !== "object" || node === null) return [];
      const { type, text } = node as { type?: unknown; text?: unknown };
      return type === "mrkdwn" ? [String(text)] : Object.values(node).flatMap(mrkdwnOf);
    };
    const render = (text: (plain: string) => string) =>
      mrkdwnOf(
        approvalMessage(
          requestView({
            requester: { email: "mallory@example.com", name: text("Security team") },
            fields: { why: text("APPROVED by security"), [text("urgent")]: text("yes"), ticket: "OPS_123" },
            decisions: [approve("bob@example.com", text("not really"))],
            breakGlass: text("always"),
          }),
          { flow: text("Prod db"), target: text("x") },
          options({ minApprovals: 2 }),
        ).blocks,
      ).join("\n");
    const hostile = render((plain) => `*${plain}* _${plain}_ ~${plain}~ \`${plain}\`\n> \`\`\`${plain}`);
    // Slack formats with these, and with a quote at the start of a line: the renderer's own are the same in
    // number whatever the user typed.
    const formatting = (text: string) => text.match(/[*_~`]|^[ \t]*&gt;/gm) ?? [];
    assert.deepEqual(formatting(hostile), formatting(render((plain) => plain)));
    assert.match(
      hostile,
      /\*∗Security team∗ ˍSecurity teamˍ ∼Security team∼ ˋSecurity teamˋ\n› ˋˋˋSecurity team\*/,
    );
    assert.match(hostile, /“∗not really∗ ˍnot reallyˍ/);
    assert.match(hostile, /OPS_123/, "an underscore inside a word stays");
  });
});

describe("stateLine", () => {
  const expires = t0 + 3600_000;
  const ended = t0 + 7200_000;
  const cases: [name: string, view: Partial<RequestView>, min: number, expected: string][] = [
    ["pending, no approvals", { state: "pending" }, 1, ":hourglass: *Waiting for approval*"],
    ["pending, needs 2", { state: "pending" }, 2, ":hourglass: *Waiting for approval* (needs 2)"],
    [
      "pending, 1 of 2",
      { state: "pending", decisions: [approve("bob@example.com", "fine <b>")] },
      2,
      ":hourglass: *Waiting for approval* (1 of 2; approved by bob@example.com: “fine &lt;b&gt;”)",
    ],
    [
      "approved",
      { state: "approved", decisions: [approve("bob@example.com")] },
      1,
      ":white_check_mark: *Approved* by bob@example.com; granting access…",
    ],
    [
      "approved, an approval-only flow (final)",
      { state: "approved", target: null, decisions: [approve("bob@example.com")] },
      1,
      ":white_check_mark: *Approved* by bob@example.com",
    ],
    [
      "escalating, approved by a rule",
      { state: "escalating", decisions: [approve("hook:auto")] },
      1,
      ":white_check_mark: *Approved* by a rule (auto); granting access…",
    ],
    [
      "active",
      {
        state: "active",
        expiresAt: at(expires),
        decisions: [approve("bob@example.com"), approve("carol@example.com")],
      },
      2,
      `:large_green_circle: *Active* until ${slackDate(expires)} (approved by bob@example.com, carol@example.com)`,
    ],
    ["deescalating", { state: "deescalating" }, 1, ":hourglass: *Ending*: taking access away…"],
    [
      "ended on schedule",
      { state: "ended", endedAt: at(ended), endedReason: "scheduled" },
      1,
      `:white_circle: *Ended* ${slackDate(ended)} (expired on schedule)`,
    ],
    [
      "ended, revoked",
      { state: "ended", endedAt: at(ended), endedReason: "revoked" },
      1,
      `:white_circle: *Ended* ${slackDate(ended)} (revoked)`,
    ],
    [
      "denied with a reason",
      { state: "denied", decisions: [deny("carol@example.com", "not <!here>")] },
      1,
      ":no_entry: *Denied* by carol@example.com: “not &lt;!here&gt;”",
    ],
    [
      "denied by a rule",
      { state: "denied", decisions: [deny("hook:policy")] },
      1,
      ":no_entry: *Denied* by a rule (policy)",
    ],
    ["expired", { state: "expired" }, 1, ":zzz: *Expired*: no one decided in time"],
    ["cancelled", { state: "cancelled" }, 1, ":heavy_multiplication_x: *Cancelled* by the requester"],
    ["failed", { state: "failed", error: "role <x> missing" }, 1, ":x: *Failed*: role &lt;x&gt; missing"],
    ["failed, no error", { state: "failed" }, 1, ":x: *Failed*: the target refused"],
  ];
  for (const [name, view, min, expected] of cases) {
    test(name, () => assert.equal(stateLine(requestView(view), min), expected));
  }
});

describe("showValue, what and labelsOf", () => {
  const values: [value: unknown, expected: string][] = [
    ["text", "text"],
    ["<!channel>", "&lt;!channel&gt;"],
    [42, "42"],
    [true, "yes"],
    [false, "no"],
    [null, "–"],
    [undefined, "–"],
    ["", "–"],
    [[], "–"],
    [["a", true, "<b>"], "a, yes, &lt;b&gt;"],
  ];
  for (const [value, expected] of values) {
    test(`showValue(${JSON.stringify(value)}) → ${expected}`, () => assert.equal(showValue(value), expected));
  }

  test("what: flow, target and duration, escaped", () => {
    assert.equal(what(requestView({ duration: 5400 }), labels), "*Database*: *Prod* for *1h 30m*");
    assert.equal(what(requestView({ duration: 0 }), { flow: "A<B", target: null }), "*A&lt;B*");
  });

  test("labelsOf: the config's labels, else the names", () => {
    const parsed = configSchema.parse({
      targets: { prod: { type: "postgres", label: "Prod DB" } },
      flows: [{ name: "db", label: "Database", targets: ["prod"], durations: ["1h"] }],
    });
    const config = {
      file: "jitflow.config.ts",
      config: parsed,
      flows: new Map(parsed.flows.map((f) => [f.name, { ...compileFlow(f, undefined), maxDuration: 3600 }])),
      targets: new Map([
        [
          "prod",
          fixedTarget(
            { name: "prod", type: "postgres", label: "Prod DB", settings: {} },
            undefined as unknown as TargetConnector,
          ),
        ],
      ]),
    } satisfies LoadedConfig;
    assert.deepEqual(labelsOf(config, { flow: "db", target: "prod" }), {
      flow: "Database",
      target: "Prod DB",
    });
    assert.deepEqual(labelsOf(config, { flow: "gone", target: "old" }), { flow: "gone", target: "old" });
    assert.deepEqual(labelsOf(config, { flow: "db", target: null }), { flow: "Database", target: null });
  });
});

// ---------------------------------------------------------------------------------------------------------

const event = (type: string, actor = "bob@example.com", data: Record<string, unknown> = {}): EventInfo => ({
  id: "e1",
  type,
  actor,
  at: t0,
  data,
});

describe("requesterNotice", () => {
  for (const state of allStates) {
    const expected = state === "pending" ? "a notice" : "nothing";
    test(`request.created while ${state}: ${expected}`, () => {
      const notice = requesterNotice(
        event("request.created", "alice@example.com"),
        requestView({ state }),
        labels,
        86400,
      );
      if (state !== "pending") return assert.equal(notice, undefined);
      assert.equal(
        notice?.text,
        "You asked for Database: Prod for 1h. It is waiting for approval; I'll tell you when it is decided.",
      );
    });
  }

  const cases: [name: string, event: EventInfo, view: Partial<RequestView>, expected: string][] = [
    [
      "approved with a reason",
      event("request.approved", "bob@example.com", { reason: "ok <!here>" }),
      { state: "approved" },
      ":white_check_mark: Your request for *Database*: *Prod* for *1h* was approved by bob@example.com: “ok &lt;!here&gt;”",
    ],
    [
      "approved without a reason",
      event("request.approved"),
      { state: "approved" },
      ":white_check_mark: Your request for *Database*: *Prod* for *1h* was approved by bob@example.com.",
    ],
    [
      "approved by a rule",
      event("request.approved", "hook:auto"),
      { state: "approved" },
      ":white_check_mark: Your request for *Database*: *Prod* for *1h* was approved by a rule.",
    ],
    [
      "denied with a reason",
      event("request.denied", "carol@example.com", { reason: "not today" }),
      { state: "denied" },
      ":no_entry: Your request for *Database*: *Prod* for *1h* was denied by carol@example.com: “not today”",
    ],
    [
      "expired",
      event("request.expired", "jitflow"),
      { state: "expired" },
      ":zzz: Your request for *Database*: *Prod* for *1h* expired: no one decided within 1d.",
    ],
    [
      "grant ended, revoked",
      event("grant.ended", "bob@example.com"),
      { state: "ended", endedReason: "revoked" },
      ":white_circle: Your access to *Database*: *Prod* has ended: it was revoked.",
    ],
    [
      "grant ended on schedule",
      event("grant.ended", "jitflow"),
      { state: "ended", endedReason: "scheduled" },
      ":white_circle: Your access to *Database*: *Prod* has ended: its time was up.",
    ],
    [
      "request failed",
      event("request.failed", "jitflow", { error: "no <role>" }),
      { state: "failed" },
      ":x: Your request for *Database*: *Prod* for *1h* failed: no &lt;role&gt;.",
    ],
  ];
  for (const [name, e, view, expected] of cases) {
    test(name, () => {
      const notice = requesterNotice(e, requestView(view), labels, 86400);
      assert.ok(notice);
      assert.deepEqual(textsOf(notice.blocks), [expected, "Request `req-1`"]);
      // The fallback text is the same sentence without emoji codes and asterisks.
      assert.equal(notice.text, expected.replace(/\*|:[a-z_]+: /g, ""));
    });
  }

  test("grant.active says until when", () => {
    const expires = t0 + 3600_000;
    const notice = requesterNotice(
      event("grant.active", "jitflow", { expiresAt: at(expires) }),
      requestView({ state: "active", expiresAt: at(expires) }),
      labels,
      86400,
    );
    assert.equal(
      textsOf(notice?.blocks ?? [])[0],
      `:large_green_circle: You now have *Database*: *Prod* until ${slackDate(expires)}.`,
    );
  });

  test("a reason or an error cannot format the notice, nor end the code block an error is shown in", () => {
    const denied = requesterNotice(
      event("request.denied", "carol@example.com", { reason: "*approved* after all" }),
      requestView({ state: "denied" }),
      labels,
      86400,
    );
    assert.equal(
      textsOf(denied?.blocks ?? [])[0],
      ":no_entry: Your request for *Database*: *Prod* for *1h* was denied by carol@example.com: “∗approved∗ after all”",
    );
    const failed = errorNotice(
      event("request.failed", "jitflow", { error: "no role```\n*Fixed*, ignore this" }),
      requestView({ state: "failed" }),
      labels,
    );
    assert.equal(
      textsOf(failed.blocks)[0],
      ":warning: *A request failed* in flow *Database* for alice@example.com\n```no roleˋˋˋ\n∗Fixed∗, ignore this```",
    );
  });

  test("events the requester is not told about: nothing", () => {
    for (const type of [
      "request.approval_recorded",
      "grant.escalating",
      "hook.failed",
      "request.cancelled",
    ]) {
      assert.equal(requesterNotice(event(type), requestView(), labels, 86400), undefined, type);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------

describe("readForm", () => {
  const flow = flowView({
    fields: [
      field({ name: "env", type: "string", allowedValues: ["dev", "prod"] }),
      field({ name: "port", type: "int", allowedValues: [80, 443] }),
      field({ name: "tags", type: "str_list", allowedValues: ["a", "b", "c"] }),
      field({ name: "ok", type: "bool" }),
      field({ name: "sure", type: "bool" }),
      field({ name: "count", type: "int" }),
      field({ name: "bad", type: "int" }),
      field({ name: "ids", type: "int_list" }),
      field({ name: "names", type: "str_list" }),
      field({ name: "note", type: "text" }),
      field({ name: "ticket", type: "string" }),
      field({ name: "owner", type: "user" }),
      field({ name: "team", type: "user_list" }),
      field({ name: "repo", type: "string", prefetch: true }),
      field({ name: "repos", type: "str_list", prefetch: true }),
      field({ name: "blank", type: "string" }),
      field({ name: "spaces", type: "text" }),
      field({ name: "unpicked", type: "string", allowedValues: ["x"] }),
      field({ name: "nobody", type: "user" }),
      field({ name: "noone", type: "user_list" }),
      field({ name: "none", type: "str_list", allowedValues: ["x"] }),
      field({ name: "absent", type: "string" }),
    ],
  });
  const v = (state: FormState[string][string]) => ({ v: state });
  const state: FormState = {
    "jf:target": v({ selected_option: { value: "prod" } }),
    "jf:duration": v({ selected_option: { value: "7200" } }),
    "f:env": v({ selected_option: { value: "i:1" } }),
    "f:port": v({ selected_option: { value: "i:0" } }),
    "f:tags": v({ selected_options: [{ value: "i:0" }, { value: "i:2" }] }),
    "f:ok": v({ selected_option: { value: "true" } }),
    "f:sure": v({ selected_option: { value: "false" } }),
    "f:count": v({ type: "number_input", value: " 42 " }),
    "f:bad": v({ type: "number_input", value: "4.5" }),
    "f:ids": v({ value: "1\n 2 \n\n-3\n" }),
    "f:names": v({ value: "  alpha \nbeta\n\n  " }),
    "f:note": v({ value: "line one\n  line two " }),
    "f:ticket": v({ value: "OPS-1" }),
    "f:owner": v({ selected_user: "U1" }),
    "f:team": v({ selected_users: ["U1", "U2"] }),
    "f:repo": v({ selected_option: { value: "k7" } }),
    "f:repos": v({ selected_options: [{ value: "k1" }, { value: "k2" }] }),
    "f:blank": v({ value: "" }),
    "f:spaces": v({ value: "  \n " }),
    "f:unpicked": v({ selected_option: null }),
    "f:nobody": v({ selected_user: null }),
    "f:noone": v({ selected_users: [] }),
    "f:none": v({ selected_options: [] }),
  };

  test("maps Slack's view state back to values", async () => {
    const asked: string[] = [];
    const submission = await readForm(flow, state, {
      email: async (id) => {
        asked.push(`email ${id}`);
        return `${id.toLowerCase()}@example.com`;
      },
      prefetched: async (name, key) => {
        asked.push(`prefetched ${name} ${key}`);
        return `${name}/${key}`;
      },
    });
    assert.deepEqual(submission, {
      target: "prod",
      duration: 7200,
      fields: {
        env: "prod",
        port: 80,
        tags: ["a", "c"],
        ok: true,
        sure: false,
        count: 42,
        bad: "4.5",
        ids: [1, 2, -3],
        names: ["alpha", "beta"],
        note: "line one\n  line two ",
        ticket: "OPS-1",
        owner: "u1@example.com",
        team: ["u1@example.com", "u2@example.com"],
        repo: "repo/k7",
        repos: ["repos/k1", "repos/k2"],
      },
    });
    assert.deepEqual(asked.toSorted(), [
      "email U1",
      "email U1",
      "email U2",
      "prefetched repo k7",
      "prefetched repos k1",
      "prefetched repos k2",
    ]);
  });

  test("no target or duration chosen: undefined", async () => {
    const none = await readForm(
      flowView(),
      {},
      {
        email: async () => assert.fail("no users"),
        prefetched: async () => assert.fail("no prefetch"),
      },
    );
    assert.deepEqual(none, { target: undefined, duration: undefined, fields: {} });
  });
});
