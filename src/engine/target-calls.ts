// What a target call needs besides the event: the settings with bound fields filled in, and who the person is in the target.

import type { FlowEvent, FlowModule } from "../model/types.ts";
import type { LoadedTarget } from "../targets/load.ts";
import { withTimeLimit } from "./hooks.ts";

export type Prepared =
  /** `identityIsEmail`: no hook, mapping or record named the identity; it is the requester's email. */
  | { ok: true; settings: unknown; identity: string; identityIsEmail: boolean }
  /** `permanent`: retrying cannot help (a bound field the target refuses); otherwise retried. */
  | { ok: false; permanent: boolean; error: string };

/**
 * The identity to grant to: the flow's getIdentity() answer, else the per-user mapping (the
 * target's `identities`, then its integration's), else the connector's default from the email.
 */
export async function prepareCall(
  target: LoadedTarget,
  evt: FlowEvent,
  module: FlowModule | undefined,
  hookTimeoutMs: number,
  /** The identity already granted to, when known: no resolution then. */
  known?: string | null,
): Promise<Prepared> {
  const settings = target.settingsFor(evt.fields);
  if (!settings.ok) return { ok: false, permanent: true, error: settings.error };
  if (known) return { ok: true, settings: settings.settings, identity: known, identityIsEmail: false };
  const email = evt.requester.email.toLowerCase();
  if (module?.getIdentity) {
    const getIdentity = module.getIdentity;
    const outcome = await withTimeLimit("getIdentity", hookTimeoutMs, () =>
      getIdentity({ ...evt, name: "getIdentity" }),
    );
    if (!outcome.ok) return { ok: false, permanent: false, error: outcome.error };
    if (outcome.value !== undefined && outcome.value !== null) {
      if (typeof outcome.value !== "string" || outcome.value === "") {
        return {
          ok: false,
          permanent: true,
          error: "getIdentity must return a non-empty string or undefined",
        };
      }
      return { ok: true, settings: settings.settings, identity: outcome.value, identityIsEmail: false };
    }
  }
  const mapped = target.identities[email];
  if (mapped !== undefined)
    return { ok: true, settings: settings.settings, identity: mapped, identityIsEmail: false };
  const identity = target.connector.identityFor?.(email, settings.settings) ?? email;
  return { ok: true, settings: settings.settings, identity, identityIsEmail: identity === email };
}
