// Requests as Slack sends them to our `POST /slack/events`: payload builders in Slack's shapes, signed and sent.

import { createHmac, randomBytes } from "node:crypto";
import { fakeTeam, noteTriggerUser } from "./fake-slack.ts";

// `any` in views and element state: they are Slack's JSON, passed through as the test wrote it.

export interface SlackActor {
  id: string;
  name?: string;
  /** Defaults to the fake Slack's team, "T0001". */
  teamId?: string;
}

export interface SlackBody {
  contentType: string;
  body: string;
}

export interface SendOptions {
  secret: string;
  /** Unix seconds; now by default. */
  timestamp?: number;
  /** Replaces the computed signature, for forgery tests. */
  signature?: string;
  retryNum?: number;
  retryReason?: string;
}

export interface SlackResponse {
  status: number;
  /** Parsed JSON when the answer is JSON, else its text ("" when empty). */
  body: any;
  headers: Headers;
  ms: number;
}

const { teamId: defaultTeam, appId, botId, botUserId } = fakeTeam;
/** The legacy verification token Slack still puts in payloads; Bolt ignores it. */
const verificationToken = "fake-verification-token";
const form = "application/x-www-form-urlencoded";

/** X-Slack-Signature for a body: "v0=" + hex(HMAC_SHA256(secret, `v0:${timestamp}:${body}`)). */
export function slackSignature(secret: string, body: string, timestamp: number): string {
  return `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex")}`;
}

/** POSTs a Slack body to `${serverUrl}/slack/events`, signed as Slack signs it. */
export async function sendToSlackEndpoint(
  serverUrl: string,
  body: SlackBody,
  options: SendOptions,
): Promise<SlackResponse> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    "content-type": body.contentType,
    "x-slack-request-timestamp": String(timestamp),
    "x-slack-signature": options.signature ?? slackSignature(options.secret, body.body, timestamp),
  };
  if (options.retryNum !== undefined) headers["x-slack-retry-num"] = String(options.retryNum);
  if (options.retryReason !== undefined) headers["x-slack-retry-reason"] = options.retryReason;
  const started = performance.now();
  const res = await fetch(`${serverUrl.replace(/\/+$/, "")}/slack/events`, {
    method: "POST",
    headers,
    body: body.body,
  });
  const text = await res.text();
  const ms = performance.now() - started;
  const isJson = (res.headers.get("content-type") ?? "").includes("json");
  return {
    status: res.status,
    body: text !== "" && isJson ? JSON.parse(text) : text,
    headers: res.headers,
    ms,
  };
}

const team = (actor: SlackActor) => ({ id: actor.teamId ?? defaultTeam, domain: "fake" });

const user = (actor: SlackActor) => ({
  id: actor.id,
  username: actor.name ?? actor.id,
  name: actor.name ?? actor.id,
  team_id: actor.teamId ?? defaultTeam,
});

/** Slack's "seconds.micros" form of now, as in action_ts. */
const slackNow = (): string => (Date.now() / 1000).toFixed(6);

/**
 * The trigger for a payload from `actor`: the fake Slack learns whose it is (Slack knows, having sent it).
 * Without one, a trigger of Slack's shape that the fake refuses, as Slack refuses one it did not issue.
 */
function triggerFor(actor: SlackActor, triggerId: string | undefined): string {
  if (triggerId === undefined) return `${Math.floor(Date.now() / 1000)}.${randomBytes(6).toString("hex")}`;
  noteTriggerUser(triggerId, actor.id);
  return triggerId;
}

/** Interactive payloads arrive as a form with one field, `payload`, holding the JSON. */
const interactive = (payload: Record<string, unknown>): SlackBody => ({
  contentType: form,
  body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
});

/** A view as Slack echoes it in payloads: what the test gave, over the fields Slack always fills in. */
function viewOutput(view: Record<string, any>, teamId: string): Record<string, any> {
  const id = view.id ?? "V0000";
  return {
    id,
    team_id: teamId,
    type: "modal",
    blocks: [],
    private_metadata: "",
    callback_id: "",
    state: { values: {} },
    hash: "",
    title: { type: "plain_text", text: "jitflow", emoji: true },
    clear_on_close: false,
    notify_on_close: false,
    close: null,
    submit: null,
    previous_view_id: null,
    root_view_id: id,
    app_id: appId,
    external_id: "",
    app_installed_team_id: teamId,
    bot_id: botId,
    ...view,
  };
}

export interface SlashCommandOptions {
  user: SlackActor;
  /** Defaults to "/jitflow". */
  command?: string;
  text?: string;
  triggerId: string;
  responseUrl: string;
  channelId?: string;
  channelName?: string;
}

export function slashCommand(o: SlashCommandOptions): SlackBody {
  const teamId = o.user.teamId ?? defaultTeam;
  const params = new URLSearchParams({
    token: verificationToken,
    team_id: teamId,
    team_domain: "fake",
    channel_id: o.channelId ?? "C0GENERAL",
    channel_name: o.channelName ?? "general",
    user_id: o.user.id,
    user_name: o.user.name ?? o.user.id,
    command: o.command ?? "/jitflow",
    text: o.text ?? "",
    api_app_id: appId,
    is_enterprise_install: "false",
    response_url: o.responseUrl,
    trigger_id: triggerFor(o.user, o.triggerId),
  });
  return { contentType: form, body: params.toString() };
}

export interface BlockActionsOptions {
  user: SlackActor;
  actionId: string;
  value?: string;
  blockId?: string;
  triggerId?: string;
  responseUrl?: string;
  /** The message the button is in; text and blocks are echoed back as Slack does, when given. */
  message?: { channel: string; ts: string; text?: string; blocks?: any[]; threadTs?: string };
  /** The view (modal or Home tab) the button is in. */
  view?: any;
  /** Makes the action a static_select choice instead of a button press. */
  selectedOption?: { text: string; value: string };
}

export function blockActions(o: BlockActionsOptions): SlackBody {
  const teamId = o.user.teamId ?? defaultTeam;
  const blockId = o.blockId ?? "fake-block";
  const actionTs = slackNow();
  const action = o.selectedOption
    ? {
        type: "static_select",
        action_id: o.actionId,
        block_id: blockId,
        selected_option: {
          text: { type: "plain_text", text: o.selectedOption.text, emoji: true },
          value: o.selectedOption.value,
        },
        action_ts: actionTs,
      }
    : {
        type: "button",
        action_id: o.actionId,
        block_id: blockId,
        text: { type: "plain_text", text: o.actionId, emoji: true },
        ...(o.value === undefined ? {} : { value: o.value }),
        action_ts: actionTs,
      };
  const view = o.view === undefined ? undefined : viewOutput(o.view, teamId);
  const payload: Record<string, unknown> = {
    type: "block_actions",
    user: user(o.user),
    api_app_id: appId,
    token: verificationToken,
    container: o.message
      ? { type: "message", message_ts: o.message.ts, channel_id: o.message.channel, is_ephemeral: false }
      : { type: "view", view_id: view?.id ?? "V0000" },
    trigger_id: triggerFor(o.user, o.triggerId),
    team: team(o.user),
    enterprise: null,
    is_enterprise_install: false,
    state: { values: view?.state?.values ?? {} },
    actions: [action],
  };
  if (o.message) {
    payload.channel = { id: o.message.channel, name: o.message.channel };
    payload.message = {
      type: "message",
      user: botUserId,
      bot_id: botId,
      ts: o.message.ts,
      text: o.message.text ?? "",
      blocks: o.message.blocks ?? [],
      ...(o.message.threadTs ? { thread_ts: o.message.threadTs } : {}),
    };
  }
  if (view) payload.view = view;
  if (o.responseUrl) payload.response_url = o.responseUrl;
  return interactive(payload);
}

export interface ViewSubmissionOptions {
  user: SlackActor;
  view: {
    id: string;
    hash?: string;
    callbackId: string;
    privateMetadata?: string;
    /** block_id → action_id → element state, e.g. { type: "plain_text_input", value: "x" }. */
    state: Record<string, Record<string, any>>;
  };
  triggerId?: string;
}

export function viewSubmission(o: ViewSubmissionOptions): SlackBody {
  const teamId = o.user.teamId ?? defaultTeam;
  return interactive({
    type: "view_submission",
    team: team(o.user),
    user: user(o.user),
    api_app_id: appId,
    token: verificationToken,
    trigger_id: triggerFor(o.user, o.triggerId),
    view: viewOutput(
      {
        id: o.view.id,
        hash: o.view.hash ?? "",
        callback_id: o.view.callbackId,
        private_metadata: o.view.privateMetadata ?? "",
        state: { values: o.view.state },
      },
      teamId,
    ),
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  });
}

export interface BlockSuggestionOptions {
  user: SlackActor;
  actionId: string;
  blockId: string;
  value: string;
  view?: { id: string; callbackId: string; privateMetadata?: string };
}

export function blockSuggestion(o: BlockSuggestionOptions): SlackBody {
  const teamId = o.user.teamId ?? defaultTeam;
  const view = o.view
    ? viewOutput(
        { id: o.view.id, callback_id: o.view.callbackId, private_metadata: o.view.privateMetadata ?? "" },
        teamId,
      )
    : undefined;
  return interactive({
    type: "block_suggestion",
    user: user(o.user),
    container: view ? { type: "view", view_id: view.id } : { type: "message" },
    api_app_id: appId,
    token: verificationToken,
    action_id: o.actionId,
    block_id: o.blockId,
    value: o.value,
    team: team(o.user),
    enterprise: null,
    is_enterprise_install: false,
    ...(view ? { view } : {}),
  });
}

export interface EventCallbackOptions {
  event: Record<string, any>;
  eventId?: string;
  teamId?: string;
}

export function eventCallback(o: EventCallbackOptions): SlackBody {
  const teamId = o.teamId ?? defaultTeam;
  return {
    contentType: "application/json",
    body: JSON.stringify({
      token: verificationToken,
      team_id: teamId,
      api_app_id: appId,
      event: o.event,
      type: "event_callback",
      event_id: o.eventId ?? `Ev${randomBytes(5).toString("hex").toUpperCase()}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ enterprise_id: null, team_id: teamId, user_id: botUserId, is_bot: true }],
      is_ext_shared_channel: false,
    }),
  };
}

export function urlVerification(challenge: string): SlackBody {
  return {
    contentType: "application/json",
    body: JSON.stringify({ token: verificationToken, challenge, type: "url_verification" }),
  };
}
