// Slack lookups for approval policies and hooks: the emails of the people in a channel (Web API).

import {
  type ConversationsListResponse,
  type ConversationsMembersResponse,
  ErrorCode,
  type WebClient,
} from "@slack/web-api";
import { type Clock, systemClock } from "../lib/clock.ts";
import { LookupError, retryHint } from "./lookup-error.ts";

export interface SlackLookupOptions {
  /** For the channel-name cache. */
  clock?: Clock;
}

/** Public and private channel ids; older private channels start with G. */
const channelIdPattern = /^[CG][A-Z0-9]{2,}$/;
/** Slack's advice for cursor pages. */
const pageSize = 200;
/**
 * Resolving a name pages through every channel with conversations.list, which Slack allows about 20 times
 * a minute: a name is resolved once per 10 minutes per client, not on every approval.
 */
const nameTtlMs = 10 * 60_000;
const channelIds = new WeakMap<WebClient, Map<string, { id: string; until: number }>>();

/**
 * The lower-cased emails of the people in a channel, "#name" or an id (C…, G…): bots, deactivated people and
 * people without a confirmed email left out. A private channel is found only if the app is in it.
 */
export async function usersInChannel(
  client: WebClient,
  channel: string,
  options: SlackLookupOptions = {},
): Promise<string[]> {
  const given = channel.trim();
  const id = channelIdPattern.test(given)
    ? given
    : await channelIdOf(client, given.replace(/^#/, "").toLowerCase(), options.clock ?? systemClock);
  const label = channelIdPattern.test(given) ? given : `#${given.replace(/^#/, "")}`;
  const members: string[] = [];
  try {
    for await (const page of client.paginate("conversations.members", { channel: id, limit: pageSize })) {
      members.push(...((page as ConversationsMembersResponse).members ?? []));
    }
  } catch (err) {
    throw failure(err, `listing the members of ${label}`, label);
  }
  // The client queues these within its own concurrency limit.
  const emails = await Promise.all(members.map((user) => emailOf(client, user)));
  return [...new Set(emails.filter((e) => e !== undefined))];
}

async function channelIdOf(client: WebClient, name: string, clock: Clock): Promise<string> {
  const label = `#${name}`;
  let cache = channelIds.get(client);
  if (!cache) {
    cache = new Map();
    channelIds.set(client, cache);
  }
  const hit = cache.get(name);
  if (hit && hit.until > clock.now()) return hit.id;
  try {
    const pages = client.paginate("conversations.list", {
      types: "public_channel,private_channel",
      exclude_archived: true,
      limit: pageSize,
    });
    for await (const page of pages) {
      const found = (page as ConversationsListResponse).channels?.find((c) => c.name === name);
      if (found?.id) {
        cache.set(name, { id: found.id, until: clock.now() + nameTtlMs });
        return found.id;
      }
    }
  } catch (err) {
    throw failure(err, `looking up the channel ${label}`, label);
  }
  throw new LookupError(`Slack channel ${label} not found or the app is not in it`);
}

/** A member's email, or undefined for bots, deactivated people, and addresses Slack has not confirmed. */
async function emailOf(client: WebClient, user: string): Promise<string | undefined> {
  try {
    const u = (await client.users.info({ user })).user;
    // An unconfirmed address is whatever someone typed (as in channels/slack/people.ts).
    if (!u || u.is_bot || u.deleted || u.is_email_confirmed === false) return undefined;
    return u.profile?.email?.trim().toLowerCase() || undefined;
  } catch (err) {
    // Listed as a member a moment ago and gone now: no longer anyone to count.
    if (slackCode(err) === "user_not_found") return undefined;
    throw failure(err, `looking up the Slack user ${user}`);
  }
}

const tokenRefused = new Set([
  "invalid_auth",
  "not_authed",
  "account_inactive",
  "token_revoked",
  "token_expired",
]);

function slackCode(err: unknown): string | undefined {
  const e = err as { code?: string; data?: { error?: string } };
  return e.code === ErrorCode.PlatformError ? e.data?.error : undefined;
}

/** Turns what the Web API client threw into a LookupError saying what went wrong. */
function failure(err: unknown, doing: string, channel?: string): LookupError {
  const options = { cause: err };
  const e = err as {
    code?: string;
    retryAfter?: number;
    statusCode?: number;
    original?: Error;
    data?: { needed?: string };
  };
  const code = slackCode(err);
  if (code === "channel_not_found" && channel) {
    return new LookupError(`Slack channel ${channel} not found or the app is not in it`, options);
  }
  if (code && tokenRefused.has(code)) {
    return new LookupError(`Slack refused the bot token (${code}) while ${doing}`, options);
  }
  if (code === "missing_scope") {
    const needed = e.data?.needed ? ` ${e.data.needed}` : "";
    return new LookupError(`Slack: the app lacks the scope${needed} for ${doing}`, options);
  }
  if (code) return new LookupError(`Slack answered ${code} while ${doing}`, options);
  if (e.code === ErrorCode.RateLimitedError) {
    return new LookupError(`Slack rate limited ${doing}${retryHint(e.retryAfter)}`, options);
  }
  if (e.code === ErrorCode.HTTPError) {
    return new LookupError(`Slack answered HTTP ${e.statusCode} while ${doing}`, options);
  }
  const why = e.original?.message ?? (err as Error)?.message ?? String(err);
  return new LookupError(`Slack could not be reached while ${doing}: ${why}`, options);
}
