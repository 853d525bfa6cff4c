// Bearer-token authentication: the token's hash is looked up; revoked and expired tokens are refused.

import type { Context } from "hono";
import type { EngineDeps } from "../../engine/engine.ts";
import { personOf } from "../../engine/policy.ts";
import { JitflowError } from "../../errors.ts";
import type { Person } from "../../sdk/types.ts";
import { findToken, touchToken } from "../../store/tokens.ts";

export type ApiEnv = { Variables: { actor: Person } };

/** Resolves the caller of an API request, or throws 401. */
export async function authenticate(deps: EngineDeps, header: string | undefined): Promise<Person> {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) {
    throw new JitflowError(
      "UNAUTHENTICATED",
      "send an API token: Authorization: Bearer <token> (jitflow tokens create)",
    );
  }
  const row = await findToken(deps.store.db, match[1] as string);
  if (!row) throw new JitflowError("TOKEN_INVALID", "this token is not known to this server");
  const now = deps.clock.now();
  if (row.revoked_at !== null) throw new JitflowError("TOKEN_REVOKED", `token ${row.id} has been revoked`);
  if (row.expires_at !== null && row.expires_at <= now) {
    throw new JitflowError(
      "TOKEN_EXPIRED",
      `token ${row.id} expired at ${new Date(row.expires_at).toISOString()}`,
    );
  }
  // Recording use at most once a minute keeps reads from turning into writes.
  if (row.last_used_at === null || now - row.last_used_at > 60_000)
    await touchToken(deps.store.db, row.id, now);
  return personOf(row.user_email, deps.config.config.users, row.role as "admin" | "member" | "bot");
}

export function actorOf(c: Context<ApiEnv>): Person {
  return c.get("actor");
}
