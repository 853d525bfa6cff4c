// Whether a request's bound values (fieldBindings) are ones its target may hand out: never refused, and offered or allow-listed.

import { messageOf } from "../errors.ts";
import type { LoadedTarget } from "./load.ts";
import { type BoundValueCall, PermanentTargetError } from "./target.ts";

export type BoundValuesVerdict =
  | { ok: true }
  /** `permanent`: the value is refused (or cannot be checked, for good); otherwise the target could not be asked now. */
  | { ok: false; field: string; error: string; permanent: boolean };

/**
 * Checks each bound value in turn: the connector's outright refusals first (they hold whatever the
 * config says), then the target's `grantable` list, then what the connector offers. Asked at
 * submission and again just before the grant, since a role can become a superuser in between.
 */
export async function vetBoundValues(
  target: LoadedTarget,
  settings: unknown,
  fields: Record<string, unknown>,
  signal: AbortSignal,
): Promise<BoundValuesVerdict> {
  const name = target.info.name;
  for (const key of target.bindings) {
    const value = fields[key];
    const shown = JSON.stringify(value);
    if (typeof value !== "string") {
      return { ok: false, field: key, permanent: true, error: `field "${key}" must be a string` };
    }
    const call: BoundValueCall = { key, value, settings, signal };
    try {
      const refused = await target.connector.refuses?.(call);
      if (refused !== undefined) {
        return {
          ok: false,
          field: key,
          permanent: true,
          error: `field "${key}": target "${name}" never grants ${shown}: ${refused}`,
        };
      }
      if (target.grantable[key]?.includes(value) || (await offered(target, call))) continue;
      return {
        ok: false,
        field: key,
        permanent: true,
        error: `field "${key}": ${shown} is not one target "${name}" hands out`,
      };
    } catch (err) {
      return {
        ok: false,
        field: key,
        permanent: err instanceof PermanentTargetError,
        error: `field "${key}": could not check ${shown} with target "${name}": ${messageOf(err)}`,
      };
    }
  }
  return { ok: true };
}

/** The connector's own check of one value, else whether options() lists it. */
async function offered(target: LoadedTarget, call: BoundValueCall): Promise<boolean> {
  const { connector } = target;
  if (connector.offers) return connector.offers(call);
  if (!connector.options) return false;
  const listed = await connector.options({
    key: call.key,
    settings: target.fixedSettings,
    query: call.value,
    signal: call.signal,
  });
  return listed.some((option) => option.value === call.value);
}
