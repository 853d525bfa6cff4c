// Reading a temporary login's credentials: only its requester, only while the grant is active; every read is audited.

import { JitflowError } from "../../errors.ts";
import type { GrantCredentials, Person } from "../../model/types.ts";
import { parseKey, readCredentials, unseal } from "../../store/credentials.ts";
import { getRequest } from "../../store/requests.ts";
import { type EngineDeps, inTransaction } from "../deps.ts";

export async function credentialsFor(
  deps: EngineDeps,
  id: string,
  actor: Person,
): Promise<GrantCredentials & { expiresAt: string | null }> {
  // One answer for every refusal, so the endpoint says nothing about requests that are not yours.
  const notFound = () =>
    new JitflowError(
      "CREDENTIALS_NOT_FOUND",
      `request ${id} has no login to show you: only its requester can read it, while the grant is active`,
    );
  const row = await getRequest(deps.store.db, id);
  if (!row || row.requester !== actor.email || row.state !== "active") throw notFound();
  const sealed = await readCredentials(deps.store.db, id);
  const ref = deps.config.config.credentials?.encryptionKey;
  const key = ref ? parseKey(process.env[ref.env] ?? "") : undefined;
  if (!sealed || !key) throw notFound();
  let credentials: GrantCredentials;
  try {
    credentials = unseal(key, id, sealed);
  } catch {
    // Sealed with another key (it was rotated): the login cannot be shown, and nothing else is wrong.
    deps.logger.error(
      { requestId: id },
      "temporary login's credentials cannot be unsealed with the current key",
    );
    throw notFound();
  }
  await inTransaction(deps, async (changes) => {
    changes.note(row, "grant.credentials_read", actor.email, { username: credentials.username });
  });
  return {
    ...credentials,
    expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt).toISOString(),
  };
}
