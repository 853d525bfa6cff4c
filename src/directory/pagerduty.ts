// PagerDuty lookups for approval policies and hooks: who is on call in a schedule (REST API v2, plain fetch).

import { z } from "zod";
import { secretRef } from "../config/secret-ref.ts";
import { readSecret } from "../config/secrets.ts";
import { type Clock, systemClock } from "../lib/clock.ts";
import { LookupError, retryHint } from "./lookup-error.ts";

export const pagerdutyIntegration = z.looseObject({
  type: z.literal("pagerduty"),
  /** A REST API key; a read-only key is enough. */
  token: secretRef,
  /** The REST API's address; accounts in the EU service region use https://api.eu.pagerduty.com. */
  apiUrl: z.url().default("https://api.pagerduty.com"),
});

export type PagerDutyIntegration = z.output<typeof pagerdutyIntegration>;

export interface PagerDutyOptions {
  /** Time limit of one request. */
  timeoutMs?: number;
  /** For the schedule-name cache. */
  clock?: Clock;
}

export interface PagerDutyClient {
  /**
   * The emails (lower-cased, each once) of the people on call in a schedule, given by id (PABC123) or by
   * name: now, or at `at`.
   */
  onCall(schedule: string, at?: Date): Promise<string[]>;
  /** Whether `email` (any case) is on call now in the schedule. */
  isOnCall(email: string, schedule: string): Promise<boolean>;
}

/** PagerDuty's ids: P and six upper-case letters or digits. Anything else is a schedule's name. */
const idPattern = /^P[A-Z0-9]{6}$/;
/** Names change rarely, and resolving one costs a request on every approval. */
const nameTtlMs = 10 * 60_000;
const maxCachedNames = 1000;
/** PagerDuty's largest page. */
const pageSize = 100;

const page = z.looseObject({ offset: z.number(), more: z.boolean() });
const oncalls = page.extend({
  oncalls: z.array(z.looseObject({ user: z.looseObject({ email: z.string().optional() }).nullish() })),
});
const schedules = page.extend({
  schedules: z.array(z.looseObject({ id: z.string(), name: z.string() })),
});
const errorBody = z.looseObject({ error: z.looseObject({ message: z.string().optional() }) });

export function createPagerDuty(
  settings: PagerDutyIntegration,
  options: PagerDutyOptions = {},
): PagerDutyClient {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const clock = options.clock ?? systemClock;
  const base = settings.apiUrl.replace(/\/+$/, "");
  const names = new Map<string, { id: string; until: number }>();

  function token(): string {
    try {
      return readSecret(settings.token);
    } catch (err) {
      throw new LookupError(`PagerDuty: ${(err as Error).message}`, { cause: err });
    }
  }

  /** One GET, its JSON checked against `shape`; every failure becomes a LookupError without the token. */
  async function get<T extends z.ZodType>(
    path: string,
    query: URLSearchParams,
    shape: T,
    doing: string,
  ): Promise<z.output<T>> {
    const url = `${base}${path}?${query}`;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: {
          Authorization: `Token token=${token()}`,
          Accept: "application/vnd.pagerduty+json;version=2",
        },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      if (err instanceof LookupError) throw err;
      if ((err as Error).name === "TimeoutError") {
        throw new LookupError(`PagerDuty did not answer within ${timeoutMs} ms while ${doing}`, {
          cause: err,
        });
      }
      const why = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
      throw new LookupError(`PagerDuty could not be reached at ${base} while ${doing}: ${why}`, {
        cause: err,
      });
    }
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok) throw failure(response, body, doing);
    const parsed = shape.safeParse(body);
    if (!parsed.success) {
      throw new LookupError(`PagerDuty answered something unexpected while ${doing}`, {
        cause: parsed.error,
      });
    }
    return parsed.data;
  }

  /** Every item of a list, following offset/more across pages. */
  async function all<T extends z.ZodType<z.output<typeof page>>, I>(
    path: string,
    params: [string, string][],
    shape: T,
    itemsOf: (body: z.output<T>) => I[],
    doing: string,
  ): Promise<I[]> {
    const items: I[] = [];
    for (let offset = 0; ; ) {
      const query = new URLSearchParams([...params, ["limit", String(pageSize)], ["offset", String(offset)]]);
      const body = await get(path, query, shape, doing);
      const got = itemsOf(body);
      items.push(...got);
      if (!body.more) return items;
      // An empty page that says "more" would have us ask for it forever.
      if (got.length === 0) throw new LookupError(`PagerDuty paged without end while ${doing}`);
      offset = body.offset + got.length;
    }
  }

  async function scheduleId(schedule: string): Promise<string> {
    const name = schedule.trim();
    if (idPattern.test(name)) return name;
    const key = name.toLowerCase();
    const hit = names.get(key);
    if (hit && hit.until > clock.now()) return hit.id;
    const doing = `looking up the schedule "${name}"`;
    // `query` matches part of the name, in any case: keep the exact (case-insensitive) matches.
    const found = await all("/schedules", [["query", name]], schedules, (b) => b.schedules, doing);
    const matches = found.filter((s) => s.name.trim().toLowerCase() === key);
    const [match] = matches;
    if (!match) throw new LookupError(`PagerDuty schedule "${name}" not found`);
    if (matches.length > 1) {
      const ids = matches.map((s) => s.id).join(", ");
      throw new LookupError(
        `PagerDuty has ${matches.length} schedules named "${name}" (${ids}); give the schedule's id instead`,
      );
    }
    if (names.size >= maxCachedNames) names.delete(names.keys().next().value as string);
    names.set(key, { id: match.id, until: clock.now() + nameTtlMs });
    return match.id;
  }

  async function onCall(schedule: string, at?: Date): Promise<string[]> {
    const id = await scheduleId(schedule);
    // Without since/until PagerDuty answers for now; since = until asks for one instant.
    const when: [string, string][] = at
      ? [
          ["since", at.toISOString()],
          ["until", at.toISOString()],
        ]
      : [];
    const entries = await all(
      "/oncalls",
      [["schedule_ids[]", id], ["include[]", "users"], ["earliest", "true"], ...when],
      oncalls,
      (b) => b.oncalls,
      `listing who is on call in the schedule ${schedule.trim()}`,
    );
    // One person shows up once per escalation policy and level that uses the schedule.
    const emails = entries.flatMap((e) => e.user?.email?.trim().toLowerCase() || []);
    return [...new Set(emails)];
  }

  return {
    onCall,
    async isOnCall(email, schedule) {
      return (await onCall(schedule)).includes(email.trim().toLowerCase());
    },
  };
}

/** What a refusal from PagerDuty means, in words; PagerDuty's own message added when it sent one. */
function failure(response: Response, body: unknown, doing: string): LookupError {
  const status = response.status;
  const said = errorBody.safeParse(body).data?.error.message;
  const options = { cause: { status, body } };
  if (status === 401) return new LookupError("PagerDuty answered 401: the API token was refused", options);
  if (status === 403) {
    return new LookupError(`PagerDuty answered 403: the API token may not do this: ${doing}`, options);
  }
  if (status === 429) {
    const hint = retryHint(response.headers.get("ratelimit-reset"));
    return new LookupError(`PagerDuty answered 429: rate limited while ${doing}${hint}`, options);
  }
  return new LookupError(`PagerDuty answered ${status} while ${doing}${said ? ` (${said})` : ""}`, options);
}
