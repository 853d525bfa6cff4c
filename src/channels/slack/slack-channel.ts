// The Slack channel: Bolt with our receiver, Web API clients pointed at SLACK_API_URL, the listeners,
// and the outbox senders for Slack messages and for the actions people took in Slack.

import { App, type Logger as BoltLogger, LogLevel } from "@slack/bolt";
import { WebClient } from "@slack/web-api";
import type { Context } from "hono";
import type { Logger } from "pino";
import type { SlackSettings } from "../../config/loader.ts";
import { readSecret } from "../../config/secrets.ts";
import type { EngineDeps } from "../../engine/deps.ts";
import type { Sender } from "../../store/outbox.ts";
import { createInboundSender } from "./inbound.ts";
import { registerListeners } from "./listeners.ts";
import { createSlackSender } from "./outbound.ts";
import { SlackPeople } from "./people.ts";
import { SlackReceiver } from "./receiver.ts";
import { SlackApi } from "./slack-api.ts";

export interface SlackChannel {
  /** POST /slack/events */
  handle(c: Context): Promise<Response>;
  senders: Map<string, Sender>;
}

/** Bolt's logger interface over pino; Bolt's debug chatter stays at debug. */
function boltLogger(logger: Logger): BoltLogger {
  let level = LogLevel.INFO;
  return {
    debug: (...msg) => logger.debug({ bolt: true }, msg.map(String).join(" ")),
    info: (...msg) => logger.info({ bolt: true }, msg.map(String).join(" ")),
    warn: (...msg) => logger.warn({ bolt: true }, msg.map(String).join(" ")),
    error: (...msg) => logger.error({ bolt: true }, msg.map(String).join(" ")),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

export function createSlackChannel(deps: EngineDeps, settings: SlackSettings): SlackChannel {
  const token = readSecret(settings.botToken);
  const common = {
    slackApiUrl: settings.apiUrl,
    allowAbsoluteUrls: false,
    logger: boltLogger(deps.logger.child({ component: "slack-web-api" })),
  };
  // Background deliveries: a 429 comes back to the outbox at once, which retries that message (and
  // only that channel) after Retry-After instead of pausing every call.
  const background = new SlackApi(
    new WebClient(token, {
      ...common,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
      timeout: 10_000,
    }),
    deps.clock,
  );
  // Interactive calls must finish inside Slack's 3-second trigger: no retries, a short time limit.
  const interactive = new WebClient(token, {
    ...common,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: 2500,
  });
  const people = new SlackPeople(background.client, deps.clock, deps.config.config.users);
  const receiver = new SlackReceiver({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    signingSecret: () => readSecret(settings.signingSecret),
  });
  const app = new App({
    receiver,
    // One workspace, one bot token: no auth.test round trip before each listener.
    authorize: async () => ({ botToken: token }),
    ignoreSelf: false,
    convoStore: false,
    logger: boltLogger(deps.logger.child({ component: "slack" })),
    clientOptions: { slackApiUrl: settings.apiUrl, allowAbsoluteUrls: false },
  });
  registerListeners(app, { deps, settings, interactive, people });
  app.error(async (err) => {
    deps.logger.error({ err }, "Slack listener failed");
  });
  return {
    handle: (c) => receiver.handle(c),
    senders: new Map([
      ["slack", createSlackSender(deps, settings, background, people)],
      ["slack.inbound", createInboundSender(deps, background, people, settings.command)],
    ]),
  };
}
