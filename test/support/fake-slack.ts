// A real HTTP server on 127.0.0.1 standing in for Slack's Web API: the methods jitflow calls, Slack's
// Block Kit limits enforced (reference/slack-rules.md §3.4), every call recorded, 429s and errors on demand.

import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Clock } from "../../src/lib/clock.ts";

// `any` in the public shapes below: they are Slack's JSON as our server sent it, and tests read into it freely.

export interface FakeSlackUser {
  id: string;
  email: string;
  name?: string;
  isBot?: boolean;
  deleted?: boolean;
  restricted?: boolean;
  /** false: the profile's address was never confirmed (`is_email_confirmed: false`); confirmed otherwise. */
  emailConfirmed?: boolean;
}

export interface RecordedCall {
  method: string;
  /** The arguments as sent, with JSON-encoded form fields (`blocks`, `view` …) parsed and `token` removed. */
  args: Record<string, any>;
  at: number;
  response: any;
  status: number;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: any[];
  threadTs?: string;
  /** Who sees it, for ephemerals. */
  user?: string;
  updates: number;
}

export interface FakeView {
  id: string;
  hash: string;
  externalId?: string;
  view: any;
  /** Who the trigger that opened it was handed to (trigger(userId) or a payload carrying it); "" if unknown. */
  user: string;
}

export interface FakeSlackOptions {
  token?: string;
  users?: FakeSlackUser[];
  /** Time for trigger expiry; the wall clock unless a test wants to step past the 3 s. */
  clock?: Clock;
  /**
   * The most items one page of conversations.list or conversations.members holds, whatever `limit` asks
   * (Slack may send fewer than asked), so a test can see a client follow the cursor. 1000 unless given.
   */
  pageSize?: number;
}

export interface FakeChannelOptions {
  /**
   * A private channel: conversations.list shows it, and conversations.members answers for it, only when the
   * app's bot user (fakeTeam.botUserId) is a member, as Slack does for a bot token. It gets a G id, as
   * private channels made before 2021 have.
   */
  private?: boolean;
  archived?: boolean;
  /** User ids in the channel; put fakeTeam.botUserId here for the app to be in it. */
  members?: string[];
}

export interface RateLimitOptions {
  times?: number;
  retryAfter?: number;
  channel?: string;
}

/** The team, app and bot the fake says it is, for payloads and assertions. */
export const fakeTeam = {
  teamId: "T0001",
  teamName: "Fake",
  appId: "A0001",
  botId: "B0001",
  botUserId: "U0BOT",
  botName: "jitflow",
} as const;

/**
 * Trigger id → the user it was handed to. Slack knows this because it sends the trigger itself; here the
 * payload builders (slack-payloads.ts) tell it, so views opened with the trigger are credited to that user.
 * Module-wide because trigger ids are unique and the builders do not know which fake issued them.
 */
const triggerUsers = new Map<string, string>();

/** Records that Slack handed `triggerId` to `userId` in a payload; FakeView.user comes from here. */
export function noteTriggerUser(triggerId: string, userId: string): void {
  triggerUsers.set(triggerId, userId);
}

const triggerLifetimeMs = 3000;
const responseUrlPosts = 5;
const maxIdLength = 255;
const messageTextLimit = 40_000;
const viewBytesLimit = 250_000;

// ---------------------------------------------------------------------------------------------------------
// Block Kit validation: small pure functions, each returning the problems it found, with a path in each.

export type Surface = "message" | "modal" | "home";
type Container = "section" | "actions" | "input";
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Slack counts characters, not UTF-16 units; counting code points keeps the fake no stricter than Slack. */
const chars = (s: string): number => [...s].length;

function maxChars(value: unknown, path: string, limit: number): string[] {
  if (value === undefined) return [];
  if (typeof value !== "string") return [`${path}: must be a string`];
  const n = chars(value);
  return n > limit ? [`${path}: ${n} chars, limit ${limit}`] : [];
}

function requiredString(value: unknown, path: string, limit: number): string[] {
  return value === undefined ? [`${path}: required`] : maxChars(value, path, limit);
}

interface TextRules {
  limit: number;
  plainOnly?: boolean;
  optional?: boolean;
}

function checkText(value: unknown, path: string, rules: TextRules): string[] {
  if (value === undefined || value === null) return rules.optional ? [] : [`${path}: required`];
  if (!isObj(value)) return [`${path}: must be a text object`];
  const problems: string[] = [];
  if (value.type !== "plain_text" && value.type !== "mrkdwn") {
    problems.push(`${path}.type: must be plain_text or mrkdwn, got ${JSON.stringify(value.type)}`);
  } else if (rules.plainOnly && value.type !== "plain_text") {
    problems.push(`${path}.type: must be plain_text, got "${value.type}"`);
  }
  if (typeof value.text !== "string") problems.push(`${path}.text: required`);
  else if (value.text.length === 0) problems.push(`${path}.text: must not be empty`);
  else problems.push(...maxChars(value.text, `${path}.text`, rules.limit));
  return problems;
}

function checkList(
  value: unknown,
  path: string,
  bounds: { min: number; max: number },
  each: (item: unknown, path: string) => string[],
): string[] {
  if (!Array.isArray(value)) return [`${path}: must be an array`];
  const problems: string[] = [];
  if (value.length < bounds.min) problems.push(`${path}: ${value.length} items, at least ${bounds.min}`);
  if (value.length > bounds.max) problems.push(`${path}: ${value.length} items, limit ${bounds.max}`);
  value.forEach((item, i) => {
    problems.push(...each(item, `${path}[${i}]`));
  });
  return problems;
}

function checkConfirm(value: unknown, path: string): string[] {
  if (value === undefined) return [];
  if (!isObj(value)) return [`${path}: must be an object`];
  return [
    ...checkText(value.title, `${path}.title`, { limit: 100, plainOnly: true }),
    ...checkText(value.text, `${path}.text`, { limit: 300 }),
    ...checkText(value.confirm, `${path}.confirm`, { limit: 30, plainOnly: true }),
    ...checkText(value.deny, `${path}.deny`, { limit: 30, plainOnly: true }),
  ];
}

interface OptionRules {
  /** Checkboxes and radio buttons may use mrkdwn; selects and overflow menus may not. */
  plainOnly: boolean;
  /** Only overflow menu options carry a url. */
  url?: boolean;
}

function checkOption(value: unknown, path: string, rules: OptionRules): string[] {
  if (!isObj(value)) return [`${path}: must be an option object`];
  const problems = [
    ...checkText(value.text, `${path}.text`, { limit: 75, plainOnly: rules.plainOnly }),
    // Slack's page allows 150 for value, the SDK says 75; we hold ourselves to 75.
    ...requiredString(value.value, `${path}.value`, 75),
    ...checkText(value.description, `${path}.description`, {
      limit: 75,
      plainOnly: rules.plainOnly,
      optional: true,
    }),
  ];
  if (value.url !== undefined) {
    problems.push(
      ...(rules.url ? maxChars(value.url, `${path}.url`, 3000) : [`${path}.url: not allowed here`]),
    );
  }
  return problems;
}

const optionKey = (o: unknown): string =>
  isObj(o) ? JSON.stringify([isObj(o.text) ? o.text.text : undefined, o.value]) : "";

/** Slack rejects an initial option that is not one of the element's options. */
function checkInitialOptions(el: Obj, path: string, rules: OptionRules): string[] {
  const problems: string[] = [];
  const offered = new Set<string>();
  const options = Array.isArray(el.options) ? el.options : [];
  const groups = Array.isArray(el.option_groups) ? el.option_groups : [];
  for (const o of options) offered.add(optionKey(o));
  for (const g of groups)
    if (isObj(g) && Array.isArray(g.options)) for (const o of g.options) offered.add(optionKey(o));
  const known = (o: unknown) => offered.size === 0 || offered.has(optionKey(o));
  if (el.initial_option !== undefined) {
    problems.push(...checkOption(el.initial_option, `${path}.initial_option`, rules));
    if (!known(el.initial_option)) problems.push(`${path}.initial_option: not one of the options`);
  }
  if (el.initial_options !== undefined) {
    problems.push(
      ...checkList(el.initial_options, `${path}.initial_options`, { min: 0, max: 100 }, (o, p) => [
        ...checkOption(o, p, rules),
        ...(known(o) ? [] : [`${p}: not one of the options`]),
      ]),
    );
  }
  return problems;
}

function checkOptionSource(el: Obj, path: string, max: number, rules: OptionRules): string[] {
  const hasOptions = el.options !== undefined;
  const hasGroups = el.option_groups !== undefined;
  if (hasOptions === hasGroups) return [`${path}: needs exactly one of options and option_groups`];
  if (hasOptions)
    return checkList(el.options, `${path}.options`, { min: 1, max }, (o, p) => checkOption(o, p, rules));
  return checkList(el.option_groups, `${path}.option_groups`, { min: 1, max }, (g, p) => {
    if (!isObj(g)) return [`${p}: must be an object`];
    return [
      ...checkText(g.label, `${p}.label`, { limit: 75, plainOnly: true }),
      ...checkList(g.options, `${p}.options`, { min: 1, max: 100 }, (o, op) => checkOption(o, op, rules)),
    ];
  });
}

const placeholder = (el: Obj, path: string) =>
  checkText(el.placeholder, `${path}.placeholder`, { limit: 150, plainOnly: true, optional: true });

const maxSelected = (el: Obj, path: string) =>
  el.max_selected_items !== undefined && !(Number(el.max_selected_items) >= 1)
    ? [`${path}.max_selected_items: must be at least 1`]
    : [];

const selectable = { plainOnly: true };
const choosable = { plainOnly: false };

function checkStaticSelect(el: Obj, path: string): string[] {
  return [
    ...placeholder(el, path),
    ...checkOptionSource(el, path, 100, selectable),
    ...checkInitialOptions(el, path, selectable),
    ...maxSelected(el, path),
    ...checkConfirm(el.confirm, `${path}.confirm`),
  ];
}

function checkExternalSelect(el: Obj, path: string): string[] {
  const problems = [
    ...placeholder(el, path),
    ...checkInitialOptions(el, path, selectable),
    ...maxSelected(el, path),
    ...checkConfirm(el.confirm, `${path}.confirm`),
  ];
  if (el.min_query_length !== undefined && !(Number(el.min_query_length) >= 0)) {
    problems.push(`${path}.min_query_length: must be 0 or more`);
  }
  return problems;
}

function checkUsersSelect(el: Obj, path: string): string[] {
  return [...placeholder(el, path), ...maxSelected(el, path), ...checkConfirm(el.confirm, `${path}.confirm`)];
}

function checkButton(el: Obj, path: string): string[] {
  const problems = [
    ...checkText(el.text, `${path}.text`, { limit: 75, plainOnly: true }),
    ...maxChars(el.value, `${path}.value`, 2000),
    ...maxChars(el.url, `${path}.url`, 3000),
    ...checkConfirm(el.confirm, `${path}.confirm`),
  ];
  if (el.style !== undefined && el.style !== "primary" && el.style !== "danger") {
    problems.push(`${path}.style: must be primary or danger`);
  }
  return problems;
}

function checkPlainTextInput(el: Obj, path: string): string[] {
  const problems = [...placeholder(el, path), ...maxChars(el.initial_value, `${path}.initial_value`, 3000)];
  const bound = (key: "min_length" | "max_length", min: number) => {
    const v = el[key];
    if (v === undefined) return;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > 3000) {
      problems.push(`${path}.${key}: ${JSON.stringify(v)}, must be ${min}–3000`);
    }
  };
  bound("min_length", 0);
  bound("max_length", 1);
  if (
    typeof el.min_length === "number" &&
    typeof el.max_length === "number" &&
    el.min_length > el.max_length
  ) {
    problems.push(`${path}.min_length: greater than max_length`);
  }
  return problems;
}

function checkNumberInput(el: Obj, path: string): string[] {
  const problems = placeholder(el, path);
  if (typeof el.is_decimal_allowed !== "boolean")
    problems.push(`${path}.is_decimal_allowed: required boolean`);
  return problems;
}

function checkDatepicker(el: Obj, path: string): string[] {
  const problems = [...placeholder(el, path), ...checkConfirm(el.confirm, `${path}.confirm`)];
  if (el.initial_date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(String(el.initial_date))) {
    problems.push(`${path}.initial_date: must be YYYY-MM-DD`);
  }
  return problems;
}

/** Checkboxes and radio buttons hold at most 10 options; overflow menus 5. */
function checkChoices(max: number, rules: OptionRules) {
  return (el: Obj, path: string): string[] => [
    ...checkList(el.options, `${path}.options`, { min: 1, max }, (o, p) => checkOption(o, p, rules)),
    ...checkInitialOptions(el, path, rules),
    ...checkConfirm(el.confirm, `${path}.confirm`),
  ];
}

function checkImage(el: Obj, path: string): string[] {
  const problems = requiredString(el.alt_text, `${path}.alt_text`, 2000);
  if (el.image_url === undefined && el.slack_file === undefined)
    problems.push(`${path}: needs image_url or slack_file`);
  return [...problems, ...maxChars(el.image_url, `${path}.image_url`, 3000)];
}

interface ElementRule {
  /** Blocks this element may sit in (as a section's accessory, in actions, as an input's element). */
  in: readonly Container[];
  check: (el: Obj, path: string) => string[];
}

const anywhere: readonly Container[] = ["section", "actions", "input"];

const elementRules = new Map<string, ElementRule>([
  ["button", { in: ["section", "actions"], check: checkButton }],
  ["static_select", { in: anywhere, check: checkStaticSelect }],
  ["multi_static_select", { in: anywhere, check: checkStaticSelect }],
  ["external_select", { in: anywhere, check: checkExternalSelect }],
  ["multi_external_select", { in: anywhere, check: checkExternalSelect }],
  ["users_select", { in: anywhere, check: checkUsersSelect }],
  ["multi_users_select", { in: anywhere, check: checkUsersSelect }],
  ["plain_text_input", { in: ["actions", "input"], check: checkPlainTextInput }],
  ["number_input", { in: ["input"], check: checkNumberInput }],
  ["datepicker", { in: anywhere, check: checkDatepicker }],
  ["checkboxes", { in: anywhere, check: checkChoices(10, choosable) }],
  ["radio_buttons", { in: anywhere, check: checkChoices(10, choosable) }],
  ["overflow", { in: ["section", "actions"], check: checkChoices(5, { plainOnly: true, url: true }) }],
  ["image", { in: ["section"], check: checkImage }],
]);

function checkElement(el: unknown, path: string, container: Container): string[] {
  if (!isObj(el)) return [`${path}: must be an element object`];
  const rule = typeof el.type === "string" ? elementRules.get(el.type) : undefined;
  if (!rule) return [`${path}.type: unknown element type ${JSON.stringify(el.type)}`];
  if (!rule.in.includes(container))
    return [`${path}.type: ${el.type} is not allowed in a ${container} block`];
  return [...maxChars(el.action_id, `${path}.action_id`, maxIdLength), ...rule.check(el, path)];
}

function checkSection(b: Obj, path: string): string[] {
  const problems: string[] = [];
  if (b.text === undefined && b.fields === undefined)
    problems.push(`${path}: a section needs text or fields`);
  if (b.text !== undefined) problems.push(...checkText(b.text, `${path}.text`, { limit: 3000 }));
  if (b.fields !== undefined) {
    problems.push(
      ...checkList(b.fields, `${path}.fields`, { min: 1, max: 10 }, (f, p) =>
        checkText(f, p, { limit: 2000 }),
      ),
    );
  }
  if (b.accessory !== undefined) problems.push(...checkElement(b.accessory, `${path}.accessory`, "section"));
  return problems;
}

function checkActions(b: Obj, path: string): string[] {
  const problems = checkList(b.elements, `${path}.elements`, { min: 1, max: 25 }, (el, p) =>
    checkElement(el, p, "actions"),
  );
  const seen = new Set<unknown>();
  (Array.isArray(b.elements) ? b.elements : []).forEach((el, i) => {
    if (!isObj(el) || el.action_id === undefined) return;
    if (seen.has(el.action_id)) {
      problems.push(
        `${path}.elements[${i}].action_id: ${JSON.stringify(el.action_id)} repeats in this block`,
      );
    }
    seen.add(el.action_id);
  });
  return problems;
}

function checkContext(b: Obj, path: string): string[] {
  return checkList(b.elements, `${path}.elements`, { min: 1, max: 10 }, (el, p) =>
    isObj(el) && el.type === "image" ? checkImage(el, p) : checkText(el, p, { limit: 3000 }),
  );
}

function checkInput(b: Obj, path: string, surface: Surface): string[] {
  if (surface === "message") return [`${path}.type: input blocks are only allowed in modals and Home tabs`];
  return [
    ...checkText(b.label, `${path}.label`, { limit: 2000, plainOnly: true }),
    ...checkText(b.hint, `${path}.hint`, { limit: 2000, plainOnly: true, optional: true }),
    ...(b.element === undefined
      ? [`${path}.element: required`]
      : checkElement(b.element, `${path}.element`, "input")),
  ];
}

const blockRules = new Map<string, (b: Obj, path: string, surface: Surface) => string[]>([
  ["section", checkSection],
  ["header", (b, path) => checkText(b.text, `${path}.text`, { limit: 150, plainOnly: true })],
  ["divider", () => []],
  ["context", checkContext],
  ["actions", checkActions],
  ["input", checkInput],
  ["image", checkImage],
  ["rich_text", (b, path) => (Array.isArray(b.elements) ? [] : [`${path}.elements: must be an array`])],
]);

function checkBlock(block: unknown, path: string, surface: Surface): string[] {
  if (!isObj(block)) return [`${path}: must be a block object`];
  const rule = typeof block.type === "string" ? blockRules.get(block.type) : undefined;
  if (!rule) return [`${path}.type: unknown block type ${JSON.stringify(block.type)}`];
  return [...maxChars(block.block_id, `${path}.block_id`, maxIdLength), ...rule(block, path, surface)];
}

/** What Slack would reject in a surface's `blocks`; empty when it would accept them. */
export function blockProblems(blocks: unknown, surface: Surface, path = "blocks"): string[] {
  const limit = surface === "message" ? 50 : 100;
  if (!Array.isArray(blocks)) return [`${path}: must be an array`];
  const problems = blocks.length > limit ? [`${path}: ${blocks.length} blocks, limit ${limit}`] : [];
  const seen = new Set<unknown>();
  blocks.forEach((block, i) => {
    problems.push(...checkBlock(block, `${path}[${i}]`, surface));
    if (!isObj(block) || block.block_id === undefined) return;
    if (seen.has(block.block_id)) {
      problems.push(`${path}[${i}].block_id: ${JSON.stringify(block.block_id)} repeats in this surface`);
    }
    seen.add(block.block_id);
  });
  return problems;
}

/** What Slack would reject in a modal or Home tab view; empty when it would accept it. */
export function viewProblems(view: unknown, kind: "modal" | "home"): string[] {
  if (!isObj(view)) return ["view: must be an object"];
  if (view.type !== kind) return [`view.type: must be "${kind}", got ${JSON.stringify(view.type)}`];
  const problems = [
    ...maxChars(view.private_metadata, "view.private_metadata", 3000),
    ...maxChars(view.callback_id, "view.callback_id", maxIdLength),
    ...maxChars(view.external_id, "view.external_id", maxIdLength),
    ...blockProblems(view.blocks, kind, "view.blocks"),
  ];
  if (kind === "modal") {
    problems.push(
      ...checkText(view.title, "view.title", { limit: 24, plainOnly: true }),
      ...checkText(view.submit, "view.submit", { limit: 24, plainOnly: true, optional: true }),
      ...checkText(view.close, "view.close", { limit: 24, plainOnly: true, optional: true }),
    );
    const hasInput = Array.isArray(view.blocks) && view.blocks.some((b) => isObj(b) && b.type === "input");
    if (hasInput && view.submit == null)
      problems.push("view.submit: required when the view has input blocks");
  }
  const bytes = Buffer.byteLength(JSON.stringify(view));
  if (bytes > viewBytesLimit) problems.push(`view: ${bytes} bytes of JSON, limit ${viewBytesLimit}`);
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// The server.

type Args = Record<string, any>;
type Reply = Record<string, unknown>;
type Outcome = { id: string } | { error: string };

const ok = (body: Reply = {}): Reply => ({ ok: true, ...body });
const fail = (error: string, messages?: string[]): Reply =>
  messages ? { ok: false, error, response_metadata: { messages } } : { ok: false, error };

/** Form fields the Web API client JSON-encodes; parsed back so handlers and tests see objects. */
const jsonFields = ["blocks", "attachments", "view", "metadata"];
const channelIdPattern = /^[CDG][A-Z0-9]+$/;
const conversationTypes = new Set(["public_channel", "private_channel", "mpim", "im"]);
const userIdPattern = /^[UW][A-Z0-9]+$/;

interface RateLimitRule {
  method: string;
  times: number;
  retryAfter: number;
  channel?: string;
}

interface Trigger {
  issuedAt: number;
  used: boolean;
  user: string;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString()));
    req.on("error", reject);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res
    .writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers })
    .end(JSON.stringify(body));
}

function parseArgs(contentType: string, raw: string, query: URLSearchParams): { args: Args; error?: string } {
  const args: Args = Object.fromEntries(query);
  if (contentType.includes("application/json")) {
    try {
      const parsed: unknown = raw === "" ? {} : JSON.parse(raw);
      if (!isObj(parsed)) return { args, error: "invalid_json" };
      Object.assign(args, parsed);
    } catch {
      return { args, error: "invalid_json" };
    }
  } else {
    Object.assign(args, Object.fromEntries(new URLSearchParams(raw)));
  }
  for (const key of jsonFields) {
    if (typeof args[key] !== "string") continue;
    try {
      args[key] = JSON.parse(args[key]);
    } catch {
      return { args, error: key === "blocks" ? "invalid_blocks_format" : "invalid_arguments" };
    }
  }
  return { args };
}

function userJson(u: FakeSlackUser): Reply {
  const name = u.name ?? u.email.split("@")[0] ?? u.id;
  return {
    id: u.id,
    team_id: fakeTeam.teamId,
    name,
    real_name: name,
    deleted: u.deleted ?? false,
    is_bot: u.isBot ?? false,
    is_restricted: u.restricted ?? false,
    is_ultra_restricted: false,
    is_email_confirmed: u.emailConfirmed ?? true,
    profile: { email: u.email, real_name: name, display_name: name },
  };
}

export class FakeSlack {
  readonly url: string;
  readonly apiUrl: string;
  readonly token: string;
  readonly #server: Server;
  readonly #clock: Clock;
  readonly #methods: Map<string, (args: Args) => Reply>;
  readonly #users = new Map<string, FakeSlackUser>();
  readonly #calls: RecordedCall[] = [];
  readonly #messages: FakeMessage[] = [];
  readonly #ephemerals: FakeMessage[] = [];
  readonly #views = new Map<string, FakeView>();
  readonly #homes = new Map<string, { view: any; hash: string; id: string }>();
  readonly #responses: { url: string; body: any }[] = [];
  /** Response URL id → posts made to it. */
  readonly #responseUrls = new Map<string, number>();
  readonly #triggers = new Map<string, Trigger>();
  readonly #channelsByName = new Map<string, string>();
  readonly #channels = new Set<string>();
  readonly #ims = new Map<string, string>();
  readonly #mpims = new Map<string, string>();
  /** Channels made with addChannel(); others (made by name on first use) are public and empty. */
  readonly #channelInfo = new Map<string, Required<FakeChannelOptions>>();
  readonly #pageSize: number;
  readonly #rateLimits: RateLimitRule[] = [];
  readonly #failures: { method: string; error: string; times: number }[] = [];
  readonly #counters = new Map<string, number>();

  private constructor(server: Server, options: FakeSlackOptions) {
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.apiUrl = `${this.url}/api/`;
    this.token = options.token ?? "xoxb-fake-token";
    this.#clock = options.clock ?? { now: () => Date.now() };
    this.#pageSize = options.pageSize ?? 1000;
    for (const u of options.users ?? []) this.addUser(u);
    this.#methods = new Map<string, (args: Args) => Reply>([
      ["auth.test", () => this.#authTest()],
      ["users.info", (a) => this.#usersInfo(a)],
      ["users.lookupByEmail", (a) => this.#lookupByEmail(a)],
      ["conversations.open", (a) => this.#conversationsOpen(a)],
      ["conversations.list", (a) => this.#conversationsList(a)],
      ["conversations.members", (a) => this.#conversationsMembers(a)],
      ["chat.postMessage", (a) => this.#postMessage(a)],
      ["chat.update", (a) => this.#update(a)],
      ["chat.postEphemeral", (a) => this.#postEphemeral(a)],
      ["views.open", (a) => this.#openView(a)],
      ["views.push", (a) => this.#openView(a)],
      ["views.update", (a) => this.#updateView(a)],
      ["views.publish", (a) => this.#publishView(a)],
    ]);
  }

  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const fake = new FakeSlack(server, options);
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      fake.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, fail("fatal_error", [String(err)]));
      });
    });
    return fake;
  }

  addUser(user: FakeSlackUser): void {
    this.#users.set(user.id, user);
  }

  /** Creates a channel named like "#db-oncall" (or "db-oncall") with its members; returns its id. */
  addChannel(name: string, options: FakeChannelOptions = {}): string {
    const bare = name.replace(/^#/, "");
    if (this.#channelsByName.has(bare)) throw new Error(`fake-slack: #${bare} exists already`);
    const id = this.#nextId(options.private ? "G" : "C");
    this.#channelsByName.set(bare, id);
    this.#channels.add(id);
    this.#channelInfo.set(id, {
      private: options.private ?? false,
      archived: options.archived ?? false,
      members: [...(options.members ?? [])],
    });
    return id;
  }

  /** The channel id for a name like "#db-approvals" (created on first use), a user's IM for "U…", ids as given. */
  channelId(nameOrId: string): string {
    if (channelIdPattern.test(nameOrId)) return nameOrId;
    if (userIdPattern.test(nameOrId)) return this.#imFor(nameOrId);
    const name = nameOrId.replace(/^#/, "");
    let id = this.#channelsByName.get(name);
    if (!id) {
      id = this.#nextId("C");
      this.#channelsByName.set(name, id);
      this.#channels.add(id);
    }
    return id;
  }

  calls(method?: string): RecordedCall[] {
    return this.#calls.filter((c) => method === undefined || c.method === method);
  }

  messages(channel?: string): FakeMessage[] {
    const id = channel === undefined ? undefined : this.#lookup(channel);
    return this.#messages.filter((m) => channel === undefined || m.channel === id);
  }

  ephemerals(user?: string): FakeMessage[] {
    return this.#ephemerals.filter((m) => user === undefined || m.user === user);
  }

  dms(userId: string): FakeMessage[] {
    const im = this.#ims.get(userId);
    return im ? this.#messages.filter((m) => m.channel === im) : [];
  }

  views(): FakeView[] {
    return [...this.#views.values()];
  }

  home(userId: string): any | undefined {
    return this.#homes.get(userId)?.view;
  }

  responses(): { url: string; body: any }[] {
    return [...this.#responses];
  }

  /**
   * Issues a trigger_id for views.open/views.push: valid once, for 3 s, like Slack's. The user it belongs to
   * is given here or learnt when a payload builder puts the trigger in a user's payload.
   */
  trigger(userId = ""): string {
    const id = `${1_700_000_000 + this.#next("trigger")}.${randomBytes(6).toString("hex")}`;
    this.#triggers.set(id, { issuedAt: this.#clock.now(), used: false, user: userId });
    return id;
  }

  /** A response_url on this server; POSTs to it are recorded in responses(). Slack allows 5 per URL. */
  responseUrl(): string {
    const id = this.#nextId("R");
    this.#responseUrls.set(id, 0);
    return `${this.url}/response/${id}`;
  }

  rateLimit(method: string, options: RateLimitOptions = {}): void {
    this.#rateLimits.push({
      method,
      times: options.times ?? 1,
      retryAfter: options.retryAfter ?? 1,
      channel: options.channel === undefined ? undefined : this.channelId(options.channel),
    });
  }

  failNext(method: string, error: string, times = 1): void {
    this.#failures.push({ method, error, times });
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const raw = await readBody(req);
    if (url.pathname.startsWith("/api/")) return this.#api(url.pathname.slice(5), url, raw, req, res);
    if (url.pathname.startsWith("/response/") && req.method === "POST") {
      return this.#responsePost(url, raw, res);
    }
    sendJson(res, 404, fail("not_found"));
  }

  #api(method: string, url: URL, raw: string, req: IncomingMessage, res: ServerResponse): void {
    const at = Date.now();
    const { args, error: parseError } = parseArgs(req.headers["content-type"] ?? "", raw, url.searchParams);
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const token = bearer ?? (typeof args.token === "string" ? args.token : undefined);
    // The token is a credential, not an argument: kept out of the recorded args.
    delete args.token;
    const { status, response, headers } = this.#dispatch(method, args, token, parseError);
    this.#calls.push({ method, args, at, response, status });
    sendJson(res, status, response, headers);
  }

  /** The answer to one Web API call, in the order Slack checks: method, auth, rate limit, then the work. */
  #dispatch(
    method: string,
    args: Args,
    token: string | undefined,
    parseError: string | undefined,
  ): { status: number; response: Reply; headers?: Record<string, string> } {
    const handler = this.#methods.get(method);
    if (!handler) return { status: 404, response: fail("unknown_method") };
    if (!token) return { status: 200, response: fail("not_authed") };
    if (token !== this.token) return { status: 200, response: fail("invalid_auth") };
    if (parseError) return { status: 200, response: fail(parseError) };
    const limit = this.#takeRateLimit(method, args);
    if (limit) {
      return {
        status: 429,
        response: fail("ratelimited"),
        headers: { "retry-after": String(limit.retryAfter) },
      };
    }
    const failure = this.#failures.find((f) => f.method === method && f.times > 0);
    if (failure) {
      failure.times -= 1;
      return { status: 200, response: fail(failure.error) };
    }
    return { status: 200, response: handler(args) };
  }

  #takeRateLimit(method: string, args: Args): RateLimitRule | undefined {
    const channel = typeof args.channel === "string" ? this.#lookup(args.channel) : undefined;
    const rule = this.#rateLimits.find(
      (r) => r.method === method && r.times > 0 && (r.channel === undefined || r.channel === channel),
    );
    if (rule) rule.times -= 1;
    return rule;
  }

  #responsePost(url: URL, raw: string, res: ServerResponse): void {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = raw;
    }
    const { status, response } = this.#acceptResponse(url, body);
    // Recorded with the Web API calls so a rejected response shows up somewhere a test can see it.
    this.#calls.push({
      method: "response_url",
      args: isObj(body) ? body : { raw },
      at: Date.now(),
      response,
      status,
    });
    if (typeof response === "string") res.writeHead(status, { "content-type": "text/plain" }).end(response);
    else sendJson(res, status, response);
  }

  #acceptResponse(url: URL, body: unknown): { status: number; response: Reply | string } {
    const id = url.pathname.slice("/response/".length);
    const posts = this.#responseUrls.get(id);
    if (posts === undefined) return { status: 404, response: fail("no_active_hooks") };
    if (posts >= responseUrlPosts) return { status: 404, response: fail("used_url") };
    if (!isObj(body)) return { status: 400, response: fail("invalid_payload") };
    if (body.blocks !== undefined) {
      const problems = blockProblems(body.blocks, "message");
      if (problems.length > 0) return { status: 400, response: fail("invalid_blocks", problems) };
    }
    this.#responseUrls.set(id, posts + 1);
    this.#responses.push({ url: url.href, body });
    return { status: 200, response: "ok" };
  }

  // --- Web API methods -----------------------------------------------------------------------------------

  #authTest(): Reply {
    return ok({
      url: `${this.url}/`,
      team: fakeTeam.teamName,
      team_id: fakeTeam.teamId,
      user: fakeTeam.botName,
      user_id: fakeTeam.botUserId,
      bot_id: fakeTeam.botId,
    });
  }

  #usersInfo(args: Args): Reply {
    const user = this.#users.get(String(args.user));
    return user ? ok({ user: userJson(user) }) : fail("user_not_found");
  }

  #lookupByEmail(args: Args): Reply {
    const email = String(args.email ?? "").toLowerCase();
    const user = [...this.#users.values()].find((u) => u.email.toLowerCase() === email);
    return user ? ok({ user: userJson(user) }) : fail("users_not_found");
  }

  #conversationsOpen(args: Args): Reply {
    const ids = String(args.users ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (ids.length === 0) {
      if (typeof args.channel === "string" && this.#channels.has(args.channel)) {
        return ok({ channel: { id: args.channel } });
      }
      return fail("users_list_not_supplied");
    }
    if (ids.length > 8) return fail("too_many_users");
    if (ids.length === 1) {
      const im = this.#openIm(ids[0] as string);
      return "error" in im ? fail(im.error) : ok({ channel: { id: im.id } });
    }
    const unknown = ids.find((id) => !this.#users.has(id));
    if (unknown) return fail("user_not_found");
    const key = [...new Set(ids)].sort().join(",");
    let id = this.#mpims.get(key);
    if (!id) {
      id = this.#nextId("G");
      this.#mpims.set(key, id);
      this.#channels.add(id);
    }
    return ok({ channel: { id } });
  }

  #postMessage(args: Args): Reply {
    const target = this.#resolveTarget(args.channel);
    if ("error" in target) return fail(target.error);
    const content = this.#content(args);
    if ("error" in content) return content.reply;
    const message: FakeMessage = { channel: target.id, ts: this.#nextTs(), ...content, updates: 0 };
    if (typeof args.thread_ts === "string") message.threadTs = args.thread_ts;
    this.#messages.push(message);
    return ok({ channel: target.id, ts: message.ts, message: this.#messageJson(message) });
  }

  #update(args: Args): Reply {
    const channel = typeof args.channel === "string" ? args.channel : "";
    // chat.update wants the id: names and user ids are rejected, as Slack does.
    if (!channelIdPattern.test(channel) || !this.#channels.has(channel)) return fail("channel_not_found");
    const message = this.#messages.find((m) => m.channel === channel && m.ts === String(args.ts));
    if (!message) return fail("message_not_found");
    const content = this.#content(args);
    if ("error" in content) return content.reply;
    if (typeof args.text === "string") message.text = content.text;
    if (args.blocks !== undefined) message.blocks = content.blocks;
    message.updates += 1;
    return ok({ channel, ts: message.ts, text: message.text, message: this.#messageJson(message) });
  }

  #postEphemeral(args: Args): Reply {
    const target = this.#resolveTarget(args.channel);
    if ("error" in target) return fail(target.error);
    if (!this.#users.has(String(args.user))) return fail("user_not_found");
    const content = this.#content(args);
    if ("error" in content) return content.reply;
    const message: FakeMessage = {
      channel: target.id,
      ts: this.#nextTs(),
      ...content,
      user: args.user,
      updates: 0,
    };
    if (typeof args.thread_ts === "string") message.threadTs = args.thread_ts;
    this.#ephemerals.push(message);
    return ok({ message_ts: message.ts });
  }

  /** views.open and views.push: a fresh modal, paid for with a trigger. */
  #openView(args: Args): Reply {
    const trigger = this.#triggers.get(String(args.trigger_id));
    if (!trigger) return fail("invalid_trigger_id");
    if (trigger.used) return fail("exchanged_trigger_id");
    if (this.#clock.now() - trigger.issuedAt > triggerLifetimeMs) return fail("expired_trigger_id");
    const problems = viewProblems(args.view, "modal");
    if (problems.length > 0) return fail("invalid_arguments", problems);
    const externalId: string | undefined = args.view.external_id || undefined;
    if (externalId && this.views().some((v) => v.externalId === externalId))
      return fail("duplicate_external_id");
    trigger.used = true;
    const user = trigger.user || triggerUsers.get(String(args.trigger_id)) || "";
    const view: FakeView = { id: this.#nextId("V"), hash: this.#nextHash(), view: args.view, user };
    if (externalId) view.externalId = externalId;
    this.#views.set(view.id, view);
    return ok({ view: this.#viewJson(view.id, view.hash, view.view) });
  }

  #updateView(args: Args): Reply {
    const view =
      typeof args.view_id === "string"
        ? this.#views.get(args.view_id)
        : this.views().find((v) => v.externalId !== undefined && v.externalId === args.external_id);
    if (!view) return fail("not_found");
    if (args.hash !== undefined && args.hash !== view.hash) return fail("hash_conflict");
    const problems = viewProblems(args.view, "modal");
    if (problems.length > 0) return fail("invalid_arguments", problems);
    view.view = args.view;
    view.hash = this.#nextHash();
    return ok({ view: this.#viewJson(view.id, view.hash, view.view) });
  }

  #publishView(args: Args): Reply {
    const user = String(args.user_id);
    if (!this.#users.has(user)) return fail("user_not_found");
    const current = this.#homes.get(user);
    if (args.hash !== undefined && args.hash !== current?.hash) return fail("hash_conflict");
    const problems = viewProblems(args.view, "home");
    if (problems.length > 0) return fail("invalid_arguments", problems);
    const home = { view: args.view, hash: this.#nextHash(), id: current?.id ?? this.#nextId("V") };
    this.#homes.set(user, home);
    return ok({ view: this.#viewJson(home.id, home.hash, home.view) });
  }

  /** Channels (not IMs) the bot token can see, a page at a time: private ones only if the app is in them. */
  #conversationsList(args: Args): Reply {
    const types = String(args.types ?? "public_channel")
      .split(",")
      .map((t) => t.trim());
    if (types.some((t) => !conversationTypes.has(t))) return fail("invalid_types");
    const excludeArchived = args.exclude_archived === true || args.exclude_archived === "true";
    const visible = [...this.#channelsByName]
      .map(([name, id]) => ({ name, id, info: this.#infoOf(id) }))
      .filter(({ info }) => (info.private ? this.#appIn(info) : true))
      .filter(({ info }) => types.includes(info.private ? "private_channel" : "public_channel"))
      .filter(({ info }) => !(excludeArchived && info.archived))
      .sort((a, b) => a.id.localeCompare(b.id));
    const page = this.#page(args, "conversations.list", visible);
    if ("error" in page) return fail(page.error);
    const channels = page.items.map(({ name, id, info }) => ({
      id,
      name,
      name_normalized: name,
      is_channel: true,
      is_group: false,
      is_im: false,
      is_mpim: false,
      is_private: info.private,
      is_archived: info.archived,
      is_general: false,
      is_shared: false,
      is_ext_shared: false,
      is_org_shared: false,
      is_member: this.#appIn(info),
      created: 1_700_000_000,
      creator: "U0ADMIN",
      num_members: info.members.length,
    }));
    return ok({ channels, response_metadata: { next_cursor: page.next } });
  }

  /** A channel's member ids, a page at a time; wants the id, and hides private channels the app is not in. */
  #conversationsMembers(args: Args): Reply {
    const id = typeof args.channel === "string" ? args.channel : "";
    if (!channelIdPattern.test(id) || !this.#channels.has(id)) return fail("channel_not_found");
    const info = this.#infoOf(id);
    if (info.private && !this.#appIn(info)) return fail("channel_not_found");
    const page = this.#page(args, "conversations.members", info.members);
    if ("error" in page) return fail(page.error);
    return ok({ members: page.items, response_metadata: { next_cursor: page.next } });
  }

  // --- helpers ---------------------------------------------------------------------------------------------

  #infoOf(id: string): Required<FakeChannelOptions> {
    return this.#channelInfo.get(id) ?? { private: false, archived: false, members: [] };
  }

  #appIn(info: Required<FakeChannelOptions>): boolean {
    return info.members.includes(fakeTeam.botUserId);
  }

  /**
   * One page of a cursor-paginated method: `limit` 1–1000 (100 by default), at most pageSize items, and an
   * opaque cursor for the next page ("" at the end). A cursor of another method is refused, as Slack does.
   */
  #page<T>(args: Args, method: string, items: T[]): { items: T[]; next: string } | { error: string } {
    const limit = args.limit === undefined || args.limit === "" ? 100 : Number(args.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return { error: "invalid_limit" };
    let offset = 0;
    if (typeof args.cursor === "string" && args.cursor !== "") {
      const [of, at] = Buffer.from(args.cursor, "base64").toString().split(":");
      offset = Number(at);
      if (of !== method || !Number.isInteger(offset) || offset < 0) return { error: "invalid_cursor" };
    }
    const slice = items.slice(offset, offset + Math.min(limit, this.#pageSize));
    const end = offset + slice.length;
    const next = end < items.length ? Buffer.from(`${method}:${end}`).toString("base64") : "";
    return { items: slice, next };
  }

  /** A message's text and blocks, or the reply Slack gives when they are missing or break a limit. */
  #content(args: Args): { text: string; blocks: any[] } | { error: true; reply: Reply } {
    const text = typeof args.text === "string" ? args.text : "";
    const hasBlocks = Array.isArray(args.blocks) && args.blocks.length > 0;
    if (text === "" && !hasBlocks) return { error: true, reply: fail("no_text") };
    if (args.blocks !== undefined) {
      const problems = blockProblems(args.blocks, "message");
      if (problems.length > 0) return { error: true, reply: fail("invalid_blocks", problems) };
    }
    // Slack truncates long text rather than refusing it.
    return { text: [...text].slice(0, messageTextLimit).join(""), blocks: hasBlocks ? args.blocks : [] };
  }

  /** Where chat.postMessage/postEphemeral deliver: a channel name, a known id, or a user (their IM). */
  #resolveTarget(channel: unknown): Outcome {
    if (typeof channel !== "string" || channel === "") return { error: "channel_not_found" };
    if (channelIdPattern.test(channel)) {
      return this.#channels.has(channel) ? { id: channel } : { error: "channel_not_found" };
    }
    if (userIdPattern.test(channel)) {
      const im = this.#openIm(channel);
      return "error" in im && im.error === "user_not_found" ? { error: "channel_not_found" } : im;
    }
    return { id: this.channelId(channel) };
  }

  /** A user's IM channel, refused as Slack refuses DMs to unknown, deactivated and bot users. */
  #openIm(userId: string): Outcome {
    const user = this.#users.get(userId);
    if (!user) return { error: "user_not_found" };
    if (user.deleted) return { error: "user_disabled" };
    if (user.isBot) return { error: "cannot_dm_bot" };
    return { id: this.#imFor(userId) };
  }

  #imFor(userId: string): string {
    let id = this.#ims.get(userId);
    if (!id) {
      id = this.#nextId("D");
      this.#ims.set(userId, id);
      this.#channels.add(id);
    }
    return id;
  }

  /** Like channelId() but creates nothing: for reading what was posted. */
  #lookup(nameOrId: string): string | undefined {
    if (channelIdPattern.test(nameOrId)) return nameOrId;
    if (userIdPattern.test(nameOrId)) return this.#ims.get(nameOrId);
    return this.#channelsByName.get(nameOrId.replace(/^#/, ""));
  }

  #messageJson(m: FakeMessage): Reply {
    return {
      type: "message",
      user: fakeTeam.botUserId,
      bot_id: fakeTeam.botId,
      text: m.text,
      blocks: m.blocks,
      ts: m.ts,
      ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
    };
  }

  #viewJson(id: string, hash: string, view: any): Reply {
    return {
      team_id: fakeTeam.teamId,
      app_id: fakeTeam.appId,
      bot_id: fakeTeam.botId,
      private_metadata: "",
      callback_id: "",
      external_id: "",
      state: { values: {} },
      clear_on_close: false,
      notify_on_close: false,
      root_view_id: id,
      previous_view_id: null,
      ...view,
      id,
      hash,
    };
  }

  #next(counter: string): number {
    const n = (this.#counters.get(counter) ?? 0) + 1;
    this.#counters.set(counter, n);
    return n;
  }

  #nextId(prefix: string): string {
    return `${prefix}${String(this.#next(prefix)).padStart(4, "0")}`;
  }

  /** Unique, increasing timestamps in Slack's "seconds.micros" form. */
  #nextTs(): string {
    const micros = this.#next("ts") * 100;
    return `${1_700_000_000 + Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, "0")}`;
  }

  #nextHash(): string {
    return `${1_700_000_000 + this.#next("hash")}.${randomBytes(4).toString("hex")}`;
  }
}
