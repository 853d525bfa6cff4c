// Slack users ↔ people: a Slack user id becomes an email (users.info) and an email a Slack id
// (users.lookupByEmail), both cached; the email is what policies see.

import type { WebClient } from "@slack/web-api";
import type { ParsedConfig } from "../../config/schema.ts";
import { personOf } from "../../engine/access/policy.ts";
import { JitflowError } from "../../errors.ts";
import { BoundedCache } from "../../lib/bounded-cache.ts";
import type { Clock } from "../../lib/clock.ts";
import type { Person } from "../../model/types.ts";

/** Each of the two caches: people are looked up again after ten minutes, and no more are held than this. */
const cacheBounds = { ttlMs: 10 * 60_000, maxEntries: 50_000 };

interface SlackUser {
  id: string;
  /** Only a confirmed address: an unconfirmed one is whatever someone typed. */
  email: string | undefined;
  name: string;
  /** Slack's own guests (single- and multi-channel), and people of other workspaces (Slack Connect). */
  restricted: boolean;
}

export class SlackPeople {
  readonly #client: WebClient;
  readonly #users: ParsedConfig["users"];
  readonly #byId: BoundedCache<string, SlackUser>;
  /** `id` undefined: no one in the workspace has the address (remembered too). */
  readonly #byEmail: BoundedCache<string, { id: string | undefined }>;
  #team: Promise<string | undefined> | undefined;

  constructor(client: WebClient, clock: Clock, users: ParsedConfig["users"]) {
    this.#client = client;
    this.#users = users;
    this.#byId = new BoundedCache({ ...cacheBounds, clock });
    this.#byEmail = new BoundedCache({ ...cacheBounds, clock });
  }

  /** This app's workspace, asked once (auth.test). */
  #teamId(): Promise<string | undefined> {
    this.#team ??= this.#client.auth.test().then(
      (r) => r.team_id,
      () => {
        this.#team = undefined;
        return undefined;
      },
    );
    return this.#team;
  }

  async user(id: string): Promise<SlackUser> {
    const hit = this.#byId.get(id);
    if (hit) return hit;
    const [result, team] = await Promise.all([this.#client.users.info({ user: id }), this.#teamId()]);
    const u = result.user;
    const confirmed = u?.is_email_confirmed !== false;
    const user: SlackUser = {
      id,
      email: confirmed ? u?.profile?.email?.toLowerCase() || undefined : undefined,
      name: u?.real_name || u?.profile?.real_name || u?.name || id,
      restricted: Boolean(
        u?.is_restricted ||
          u?.is_ultra_restricted ||
          u?.is_stranger ||
          (team !== undefined && u?.team_id !== undefined && u.team_id !== team),
      ),
    };
    this.#byId.set(id, user);
    if (user.email) this.#byEmail.set(user.email, { id });
    return user;
  }

  /** The person behind a Slack user: their email, name and role (a Slack guest is always a guest). */
  async person(id: string): Promise<Person> {
    const user = await this.user(id);
    if (!user.email) {
      throw new JitflowError(
        "SLACK_USER_UNKNOWN",
        "your Slack profile has no confirmed email address, so jitflow cannot tell who you are",
      );
    }
    const person = personOf(user.email, this.#users);
    // Slack's guests and people from other workspaces stay guests whatever address their profile shows:
    // the email of an outside account is not something this workspace vouches for.
    const role = user.restricted ? "guest" : person.role;
    return { ...person, name: user.name, role };
  }

  /** The Slack user id for an email, or undefined when no one in the workspace has it (also cached). */
  async idOf(email: string): Promise<string | undefined> {
    const key = email.toLowerCase();
    const hit = this.#byEmail.get(key);
    if (hit) return hit.id;
    let id: string | undefined;
    try {
      id = (await this.#client.users.lookupByEmail({ email: key })).user?.id;
    } catch (err) {
      if ((err as { data?: { error?: string } }).data?.error !== "users_not_found") throw err;
    }
    this.#byEmail.set(key, { id });
    return id;
  }
}
