// The directories a running server can ask about people: Slack channel members, Okta group members and
// PagerDuty on-call, each through the integration the config names. Approval steps and hook helpers use it.

import { WebClient } from "@slack/web-api";
import { oktaIntegration } from "../config/integrations.ts";
import type { CheckedConfig } from "../config/loader.ts";
import { readSecret } from "../config/secrets.ts";
import type { Clock } from "../lib/clock.ts";
import { LookupError } from "./lookup-error.ts";
import { createOktaLookups, type OktaLookups } from "./okta.ts";
import { createPagerDuty, type PagerDutyClient, pagerdutyIntegration } from "./pagerduty.ts";
import { usersInChannel } from "./slack-lookups.ts";

export interface Directory {
  slackChannel(channel: string): Promise<string[]>;
  oktaGroup(integration: string | undefined, group: string): Promise<string[]>;
  isInOktaGroup(integration: string | undefined, user: string, group: string): Promise<boolean>;
  pagerduty(integration: string | undefined, schedule: string): Promise<string[]>;
  isOnCall(integration: string | undefined, user: string, schedule: string): Promise<boolean>;
}

/** The integration of a type by name, or the only one of that type when no name is given. */
function pick(config: CheckedConfig, type: string, name: string | undefined): [string, unknown] {
  const all = Object.entries(config.config.integrations).filter(([, i]) => i.type === type);
  if (name !== undefined) {
    const found = all.find(([n]) => n === name);
    if (!found) throw new LookupError(`there is no ${type} integration "${name}" in the config`);
    return found;
  }
  if (all.length !== 1) {
    throw new LookupError(
      all.length === 0
        ? `there is no ${type} integration in the config`
        : `there are ${all.length} ${type} integrations (${all.map(([n]) => n).join(", ")}): name one`,
    );
  }
  return all[0] as [string, unknown];
}

function settingsOf<T>(
  schema: {
    safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } };
  },
  name: string,
  raw: unknown,
): T {
  const { identities: _, ...rest } = raw as Record<string, unknown>;
  const parsed = schema.safeParse(rest);
  if (!parsed.success) throw new LookupError(`integration "${name}": ${parsed.error.message}`);
  return parsed.data;
}

export function createDirectory(config: CheckedConfig, clock: Clock): Directory {
  const okta = new Map<string, OktaLookups>();
  const pagerduty = new Map<string, PagerDutyClient>();
  let slack: WebClient | undefined;

  function oktaOf(name: string | undefined): OktaLookups {
    const [key, raw] = pick(config, "okta", name);
    let client = okta.get(key);
    if (!client) {
      client = createOktaLookups(settingsOf(oktaIntegration, key, raw));
      okta.set(key, client);
    }
    return client;
  }

  function pagerdutyOf(name: string | undefined): PagerDutyClient {
    const [key, raw] = pick(config, "pagerduty", name);
    let client = pagerduty.get(key);
    if (!client) {
      client = createPagerDuty(settingsOf(pagerdutyIntegration, key, raw), { clock });
      pagerduty.set(key, client);
    }
    return client;
  }

  function slackClient(): WebClient {
    const settings = config.slack;
    if (!settings) throw new LookupError("Slack is not configured");
    // A short retry budget: a lookup runs inside a hook's or a submission's time limit.
    slack ??= new WebClient(readSecret(settings.botToken), {
      slackApiUrl: settings.apiUrl,
      retryConfig: { retries: 1, factor: 1, minTimeout: 200, maxTimeout: 500 },
      rejectRateLimitedCalls: true,
    });
    return slack;
  }

  return {
    slackChannel: (channel) => usersInChannel(slackClient(), channel, { clock }),
    oktaGroup: (integration, group) => oktaOf(integration).usersInGroup(group),
    isInOktaGroup: (integration, user, group) => oktaOf(integration).isUserInGroup(user, group),
    pagerduty: (integration, schedule) => pagerdutyOf(integration).onCall(schedule),
    isOnCall: (integration, user, schedule) => pagerdutyOf(integration).isOnCall(user, schedule),
  };
}
