// The Block Kit builders and text helpers keep every surface inside Slack's limits, and so do the
// renderers built on them when fed the largest inputs a config and a request can hold.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AnyBlock, KnownBlock, SectionBlock } from "@slack/types";
import { blockProblems, viewProblems } from "../../../../test/support/fake-slack.ts";
import { configSchema } from "../../../config/schema.ts";
import { compileFlow, type LoadedConfig } from "../../../engine/load-config.ts";
import type { FlowView } from "../../../engine/read/flows.ts";
import { plainPolicyView, type RequestView } from "../../../engine/read/views.ts";
import { humanDuration } from "../../../lib/duration.ts";
import type { RequestState } from "../../../model/types.ts";
import type { EventInfo } from "../../../store/outbox.ts";
import { fixedTarget } from "../../../targets/load.ts";
import type { TargetConnector } from "../../../targets/target.ts";
import { homeTab, listMessage } from "../render/lists.ts";
import { errorNotice, expiringNotice, requesterNotice } from "../render/notices.ts";
import { flowPicker, loadingView, messageView, requestForm } from "../render/request-form.ts";
import { approvalMessage } from "../render/request-message.ts";
import {
  actions,
  button,
  capBlocks,
  context,
  fields,
  header,
  homeView,
  input,
  message,
  modal,
  option,
  options,
  type SlackMessage,
  section,
} from "./build.ts";
import { escapeMrkdwn, slackDate, truncate } from "./text.ts";

/** Characters as Slack counts them: code points, not UTF-16 units. */
const chars = (s: string): number => [...s].length;
const long = (n: number, unit = "x"): string => unit.repeat(n);

function messageProblems(m: SlackMessage): string[] {
  const text = chars(m.text) > 40_000 ? [`text: ${chars(m.text)} chars, limit 40000`] : [];
  return [...text, ...blockProblems(m.blocks, "message")];
}

function assertFits(surface: SlackMessage | { type: string }, what: string): void {
  const problems =
    "type" in surface
      ? viewProblems(surface, surface.type as "modal" | "home")
      : messageProblems(surface as SlackMessage);
  assert.deepEqual(problems.slice(0, 10), [], `${what} breaks Slack's limits`);
}

const textOf = (block: KnownBlock | undefined): string => {
  assert.ok(block && "text" in block && block.text, `no text in ${JSON.stringify(block)}`);
  return typeof block.text === "string" ? block.text : block.text.text;
};

describe("the validator", () => {
  // It must be able to say no, or every "fits" below proves nothing.
  test("finds oversized text, too many blocks and a long modal title", () => {
    const tooLong = { type: "section", text: { type: "mrkdwn", text: long(3001) } };
    assert.equal(blockProblems([tooLong], "message").length, 1);
    assert.equal(blockProblems(Array(51).fill({ type: "divider" }), "message").length, 1);
    assert.equal(
      viewProblems({ type: "modal", title: { type: "plain_text", text: long(25) }, blocks: [] }, "modal")
        .length,
      1,
    );
    assert.deepEqual(messageProblems({ text: long(40_001), blocks: [] }), ["text: 40001 chars, limit 40000"]);
  });
});

describe("builders cut oversized input to Slack's limits", () => {
  const cases: [name: string, actual: () => string, length: number][] = [
    ["section text", () => textOf(section(long(4000))), 3000],
    ["header text", () => textOf(header(long(200))), 150],
    ["button text", () => button({ text: long(100), actionId: "a", value: "v" }).text.text, 75],
    ["button action_id", () => button({ text: "t", actionId: long(300), value: "v" }).action_id ?? "", 255],
    ["section block_id", () => section("t", { blockId: long(300) }).block_id ?? "", 255],
    ["actions block_id", () => actions(long(300), []).block_id ?? "", 255],
    ["option text", () => option(long(200), "v").text.text, 75],
    ["option description", () => option("t", "v", long(200)).description?.text ?? "", 75],
    ["input label", () => input("b", long(5000), { type: "users_select" }).label.text, 2000],
    [
      "input hint",
      () => input("b", "l", { type: "users_select" }, { hint: long(5000) }).hint?.text ?? "",
      2000,
    ],
    ["input block_id", () => input(long(300), "l", { type: "users_select" }).block_id ?? "", 255],
    [
      "context element",
      () => JSON.stringify(context(long(4000)).elements[0]).match(/"text":"(x+…)"/)?.[1] ?? "",
      3000,
    ],
    ["modal title", () => modal({ title: long(30), callbackId: "c", blocks: [] }).title.text, 24],
    [
      "modal submit",
      () => modal({ title: "t", callbackId: "c", blocks: [], submit: long(30) }).submit?.text ?? "",
      24,
    ],
    [
      "modal close",
      () => modal({ title: "t", callbackId: "c", blocks: [], close: long(30) }).close?.text ?? "",
      24,
    ],
    [
      "modal callback_id",
      () => modal({ title: "t", callbackId: long(300), blocks: [] }).callback_id ?? "",
      255,
    ],
    ["message text", () => message(long(50_000), []).text, 40_000],
  ];
  for (const [name, actual, length] of cases) {
    test(`${name}: cut to ${length} characters ending in "…"`, () => {
      const text = actual();
      assert.equal(chars(text), length);
      assert.ok(text.endsWith("x…"), text.slice(-5));
    });
  }

  test("confirm dialog texts are cut to 100, 300 and 30", () => {
    const b = button({
      text: "Revoke",
      actionId: "a",
      value: "v",
      confirm: { title: long(200), text: long(500), confirm: long(50), deny: long(50) },
    });
    assert.deepEqual(
      [
        b.confirm?.title?.text.length,
        b.confirm?.text?.text.length,
        b.confirm?.confirm?.text.length,
        b.confirm?.deny?.text.length,
      ],
      [100, 300, 30, 30],
    );
  });

  test("text that fits is left as it is, and empty text becomes a space Slack accepts", () => {
    assert.equal(textOf(section(long(3000))), long(3000));
    assert.equal(textOf(header("")), " ");
    assert.equal(message("hi", []).text, "hi");
  });

  test("options: 150 become the first 100", () => {
    const list = options(Array.from({ length: 150 }, (_, i) => option(`o${i}`, `v${i}`)));
    assert.equal(list.length, 100);
    assert.equal(list[0]?.value, "v0");
    assert.equal(list[99]?.value, "v99");
  });

  test("actions keep 25 elements and context 10", () => {
    const buttons = Array.from({ length: 30 }, (_, i) =>
      button({ text: `b${i}`, actionId: `a${i}`, value: "v" }),
    );
    assert.equal(actions("b", buttons).elements.length, 25);
    assert.equal(context(...Array.from({ length: 12 }, (_, i) => `c${i}`)).elements.length, 10);
  });

  test("60 blocks into message(): 49 kept, the 50th a context block counting the 11 left out", () => {
    const blocks = Array.from({ length: 60 }, (_, i) => section(`s${i}`));
    const m = message("t", blocks);
    assert.equal(m.blocks.length, 50);
    assert.equal(textOf(m.blocks[48]), "s48");
    const last = m.blocks[49];
    assert.equal(last?.type, "context");
    assert.deepEqual(last?.type === "context" && last.elements, [
      { type: "mrkdwn", text: "…and 11 more not shown" },
    ]);
    assertFits(m, "message of 60 blocks");
  });

  const views: [name: string, cap: (blocks: KnownBlock[]) => AnyBlock[]][] = [
    ["modal()", (blocks) => modal({ title: "t", callbackId: "c", blocks }).blocks],
    ["homeView()", (blocks) => homeView(blocks).blocks],
  ];
  for (const [name, cap] of views) {
    test(`120 blocks into ${name}: 100, the last counting the 21 left out`, () => {
      const out = cap(Array.from({ length: 120 }, (_, i) => section(`s${i}`)));
      assert.equal(out.length, 100);
      assert.equal(out[99]?.type, "context");
      assert.match(JSON.stringify(out[99]), /…and 21 more not shown/);
    });
  }

  test("capBlocks leaves a list at the limit alone and uses the notice it is given", () => {
    const fifty = Array.from({ length: 50 }, () => section("s"));
    assert.equal(capBlocks(fifty, 50), fifty);
    const cut = capBlocks([...fifty, section("s")], 50, (n) => `${n} hidden`);
    assert.match(JSON.stringify(cut.at(-1)), /"2 hidden"/);
  });

  test("23 field pairs: 3 sections of 10, 10 and 3 fields, each at most 2000 characters", () => {
    const pairs = Array.from({ length: 23 }, (_, i): [string, string] => [`label ${i}`, long(5000)]);
    const out = fields(pairs);
    assert.deepEqual(
      out.map((s) => s.fields?.length),
      [10, 10, 3],
    );
    for (const f of out.flatMap((s: SectionBlock) => s.fields ?? [])) {
      assert.equal(chars(f.text), 2000);
      assert.ok(f.text.endsWith("…"));
    }
    assert.equal(out[2]?.fields?.[2]?.text.slice(0, 11), "*label 22*\n");
    assertFits(message("t", out), "23 fields");
  });

  test("modal(): private_metadata over 3000 characters throws instead of being cut", () => {
    assert.equal(
      modal({ title: "t", callbackId: "c", blocks: [], privateMetadata: long(3000) }).private_metadata
        ?.length,
      3000,
    );
    assert.throws(
      () => modal({ title: "t", callbackId: "c", blocks: [], privateMetadata: long(3001) }),
      /private_metadata longer than 3000/,
    );
  });
});

describe("values too long are programming errors", () => {
  test("option() takes a 75-character value and throws on 76", () => {
    assert.equal(option("t", long(75)).value, long(75));
    assert.throws(() => option("t", long(76)), /option value longer than 75 characters/);
  });

  test("button() takes a 2000-character value and throws on 2001", () => {
    assert.equal(button({ text: "t", actionId: "a", value: long(2000) }).value, long(2000));
    assert.throws(
      () => button({ text: "t", actionId: "a", value: long(2001) }),
      /button value longer than 2000 characters/,
    );
  });
});

describe("truncate", () => {
  const cases: [text: string, max: number, expected: string][] = [
    ["abc", 3, "abc"],
    ["abcd", 3, "ab…"],
    ["", 3, ""],
    ["😀😀😀😀", 4, "😀😀😀😀"],
    ["😀😀😀😀😀", 4, "😀😀😀…"],
    ["a😀b", 2, "a…"],
    ["👍🏽👍🏽", 3, "👍🏽…"],
  ];
  for (const [text, max, expected] of cases) {
    test(`${JSON.stringify(text)} to ${max} → ${JSON.stringify(expected)}`, () => {
      assert.equal(truncate(text, max), expected);
    });
  }

  test("never splits a surrogate pair, at any cut point", () => {
    const text = "a😀b👍🏽c🇫🇷𝒳d";
    for (let max = 1; max <= chars(text) + 1; max++) {
      const out = truncate(text, max);
      assert.ok(out.isWellFormed(), `cut at ${max}: ${JSON.stringify(out)}`);
      assert.ok(chars(out) <= max, `cut at ${max}: ${chars(out)} chars`);
    }
  });
});

describe("escapeMrkdwn", () => {
  const cases: [text: string, expected: string][] = [
    ["<!channel>", "&lt;!channel&gt;"],
    ["<!here|here> now", "&lt;!here|here&gt; now"],
    ["<https://x|y>", "&lt;https://x|y&gt;"],
    ["<@U123>", "&lt;@U123&gt;"],
    ["R&D", "R&amp;D"],
    // Already-escaped text shows as typed, so it is escaped again.
    ["&lt;", "&amp;lt;"],
    // Formatting characters become look-alikes that Slack does not format.
    ["*bold* _it_ ~gone~", "∗bold∗ ˍitˍ ∼gone∼"],
    ["`code` and ```block```", "ˋcodeˋ and ˋˋˋblockˋˋˋ"],
    ["*APPROVED by security*", "∗APPROVED by security∗"],
    ["＊全角＊ ＿x＿ ｀y｀", "﹡全角﹡ ⸏x⸏ ˋyˋ"],
    // Between two letters or digits Slack never formats: names, addresses and identifiers stay as typed.
    ["first_last@example.com", "first_last@example.com"],
    ["jit_alice_42 jit_a__b a*b*c 2~3", "jit_alice_42 jit_a__b a*b*c 2~3"],
    ["a_ _b __c__", "aˍ ˍb ˍˍcˍˍ"],
    ["_alice@example.com_", "ˍalice@example.comˍ"],
    // A quote starts a line; the same character elsewhere is just a character.
    ["> approved by the CISO", "› approved by the CISO"],
    ["fine\n>quoted\n  > indented\n＞wide", "fine\n›quoted\n  › indented\n›wide"],
    ["a -> b", "a -&gt; b"],
  ];
  for (const [text, expected] of cases) {
    test(`${JSON.stringify(text)} → ${JSON.stringify(expected)}`, () => {
      const out = escapeMrkdwn(text);
      assert.equal(out, expected);
      assert.doesNotMatch(out, /[<>`＊＿｀＞]/);
      assert.doesNotMatch(
        out,
        /(?<![A-Za-z0-9*_~])[*_~]|[*_~](?![A-Za-z0-9*_~])/,
        "a formatting character at the edge of a word",
      );
      assert.doesNotMatch(out, /^[ \t]*&gt;/m, "a line that would be a quote");
    });
  }
});

describe("humanDuration", () => {
  const cases: [seconds: number, expected: string][] = [
    [0, "0s"],
    [-5, "0s"],
    [1, "1s"],
    [59, "59s"],
    [60, "1m"],
    [61, "1m 1s"],
    [3600, "1h"],
    [5400, "1h 30m"],
    [86400, "1d"],
    // Two units at most: the minute is dropped.
    [86400 + 3600 + 60, "1d 1h 1m"],
    [7 * 86400, "7d"],
  ];
  for (const [seconds, expected] of cases) {
    test(`${seconds} → ${expected}`, () => assert.equal(humanDuration(seconds), expected));
  }
});

test("slackDate: Slack's date token with a UTC fallback", () => {
  assert.equal(
    slackDate(Date.UTC(2024, 0, 2, 3, 4, 5, 678)),
    "<!date^1704164645^{date_short_pretty} at {time}|2024-01-02 03:04 UTC>",
  );
});

// ---------------------------------------------------------------------------------------------------------
// Renderers fed the largest inputs: whatever they are given, Slack accepts what they produce.

const nasty = "<!channel> & <https://evil.example|bank> 😀";
const huge = (n: number): string => `${nasty}${long(n)}`;
const label200 = `${"😀".repeat(50)}${long(150)}`;
const fieldTypes = ["string", "text", "int", "bool", "duration", "user", "user_list", "str_list", "int_list"];

/** A flow at the schema's limits (and past them), with `selects` of its fields offering 300 values. */
function extremeFlow(selects: ReadonlySet<number> = new Set([0, 7])): FlowView {
  return {
    name: long(63),
    label: label200,
    description: huge(5000),
    targets: Array.from({ length: 300 }, (_, t) => ({ name: `t${t}`, label: label200, type: "postgres" })),
    durations: Array.from({ length: 20 }, (_, d) => (d + 1) * 3601),
    maxDuration: 20 * 3601,
    fields: Array.from({ length: 50 }, (_, f) => {
      const type = fieldTypes[f % fieldTypes.length] as string;
      const numeric = type === "int" || type === "int_list";
      const choosable = selects.has(f);
      const values = Array.from({ length: 300 }, (_, v) => (numeric ? v : `${v}-${label200}`));
      return {
        name: `field_${f}`,
        label: label200,
        type,
        required: f % 2 === 0,
        default: numeric ? 7 : type === "bool" ? true : type.endsWith("list") ? [huge(5000)] : huge(5000),
        allowedValues: choosable ? values : null,
        prefetch: !choosable && f % 3 === 1 && type !== "bool",
        visible: f % 7 !== 6,
        description: huge(5000),
      };
    }),
    approvers: { users: [], minApprovals: 20, allowSelfApproval: false },
    allowRevoke: true,
    allowedSources: ["slack"],
  };
}

const at = (ms: number): string => new Date(ms).toISOString();
const t0 = Date.UTC(2024, 0, 2, 3, 4, 5);

function extremeView(state: RequestState, i = 0): RequestView {
  return {
    ...plainPolicyView,
    id: `0190c8a0-0000-7000-8000-${String(i).padStart(12, "0")}`,
    flow: "big",
    target: "t0",
    requester: { email: `alice${i}@example.com`, name: huge(5000) },
    state,
    duration: 86400 + 3600 + 60,
    fields: Object.fromEntries(
      Array.from({ length: 50 }, (_, f) => [
        `field_${f}`,
        f % 5 === 0 ? Array.from({ length: 300 }, () => nasty) : huge(5000),
      ]),
    ),
    context: {},
    source: "slack",
    createdAt: at(t0),
    updatedAt: at(t0),
    decidedAt: null,
    activatedAt: null,
    expiresAt: at(t0 + 3600_000),
    endedAt: at(t0 + 7200_000),
    endedReason: "revoked",
    error: huge(50_000),
    attempts: 3,
    lastError: huge(5000),
    decisions: Array.from({ length: 20 }, (_, d) => ({
      actor: d === 19 ? `hook:${huge(300)}` : `approver${d}@example.com`,
      decision: d === 19 ? ("deny" as const) : ("approve" as const),
      reason: huge(5000),
      at: at(t0),
      step: 0,
    })),
  };
}

const states: RequestState[] = [
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

function extremeConfig(): LoadedConfig {
  const config = configSchema.parse({
    targets: { t0: { type: "postgres", label: label200 } },
    flows: [
      {
        name: "big",
        label: label200,
        targets: ["t0"],
        durations: ["1h", "1d"],
        approvers: { users: ["bob@example.com"], minApprovals: 20 },
        additionalHeaderText: huge(2000),
      },
    ],
  });
  return {
    file: "jitflow.config.ts",
    config,
    flows: new Map(config.flows.map((f) => [f.name, compileFlow(f, undefined)])),
    targets: new Map([
      [
        "t0",
        fixedTarget(
          { name: "t0", type: "postgres", label: label200, settings: {} },
          undefined as unknown as TargetConnector,
        ),
      ],
    ]),
  };
}

const labels = { flow: label200, target: label200 };
const event = (type: string): EventInfo => ({
  id: "e1",
  type,
  actor: "hook:policy",
  at: t0,
  data: { reason: huge(5000), error: huge(50_000), attempts: 99, expiresAt: at(t0 + 3600_000) },
});

describe("renderers stay within the limits with extreme input", () => {
  test("loadingView and messageView", () => {
    assertFits(loadingView(), "loadingView");
    assertFits(messageView(label200, huge(5000)), "messageView");
  });

  test("flowPicker with 150 flows and a long note", () => {
    const base = extremeFlow();
    const flows = Array.from({ length: 150 }, (_, i) => ({
      ...base,
      name: `flow-${i}-${long(60)}`.slice(0, 63),
    }));
    const view = flowPicker(flows, huge(5000));
    assertFits(view, "flowPicker");
    assert.match(JSON.stringify(view), /Only the first 100 flows are listed/);
  });

  test("requestForm with 50 fields, 300 targets and 300 allowed values", () => {
    const view = requestForm(extremeFlow(), huge(5000));
    assertFits(view, "requestForm");
    // 2 text sections, the target and duration selects, 50 fields of which 7 are hidden.
    assert.equal(view.blocks.length, 2 + 2 + 43);
  });

  test("requestForm with 50 fields of 100 allowed values each stays under Slack's 250 kB view size", () => {
    const all = new Set(Array.from({ length: 50 }, (_, f) => f).filter((f) => ![1, 3, 5, 6].includes(f % 9)));
    const view = requestForm(extremeFlow(all), undefined);
    assertFits(view, "requestForm with 50 selects");
    assert.ok(Buffer.byteLength(JSON.stringify(view)) <= 250_000);
    // The longest lists are searched as you type instead of sent whole.
    const types = view.blocks.map((b: any) => b.element?.type);
    assert.ok(types.includes("external_select") || types.includes("multi_external_select"));
    assert.ok(types.includes("static_select"), "the rest stay dropdowns");
  });

  for (const state of states) {
    test(`approvalMessage (${state}) with 50 fields of 5000 characters`, () => {
      const m = approvalMessage(extremeView(state), labels, {
        minApprovals: 20,
        allowRevoke: true,
        hidden: new Set(),
        fieldLabels: new Map(Array.from({ length: 50 }, (_, f) => [`field_${f}`, label200])),
      });
      assertFits(m, `approvalMessage ${state}`);
    });
  }

  const eventTypes = [
    "request.created",
    "request.approved",
    "request.denied",
    "request.expired",
    "grant.active",
    "grant.extended",
    "grant.ended",
    "request.failed",
  ];
  for (const type of eventTypes) {
    test(`requesterNotice for ${type}`, () => {
      const m = requesterNotice(event(type), extremeView("pending"), labels, 86400);
      assert.ok(m);
      assertFits(m, `requesterNotice ${type}`);
    });
  }

  for (const type of ["hook.failed", "grant.retrying", "grant.escalation_failed", "request.failed"]) {
    test(`errorNotice for ${type} with a 50,000-character error`, () => {
      assertFits(errorNotice(event(type), extremeView("failed"), labels), `errorNotice ${type}`);
    });
  }

  test("expiringNotice", () => {
    assertFits(expiringNotice(extremeView("active"), labels, t0, "/jitflow"), "expiringNotice");
  });

  test("homeTab and listMessage with 60 requests of mine and 60 to decide", () => {
    const config = extremeConfig();
    const overview = {
      person: { email: "alice0@example.com", name: "Alice", role: "member" as const },
      mine: Array.from({ length: 60 }, (_, i) => extremeView(i % 2 ? "active" : "pending", i)).map((v) => ({
        ...v,
        requester: { ...v.requester, email: "alice0@example.com" },
      })),
      toDecide: Array.from({ length: 60 }, (_, i) => extremeView("pending", 100 + i)),
    };
    const home = homeTab(config, overview, "/jitflow", t0);
    assertFits(home, "homeTab");
    const list = listMessage(config, overview, "/jitflow");
    assertFits(list, "listMessage");
    assert.equal(list.blocks.length, 50);
  });
});
