// The target a grant is taken away from (or told its new end): as the grant was made, from its record,
// so a config changed under a live grant (a target renamed, removed, re-pointed, given a binding) never
// strands its revocation. Grants made before the record was kept are resolved from the config.

import { redactSecrets } from "../config/secrets.ts";
import type { FlowEvent, FlowModule } from "../model/types.ts";
import { canonicalJson } from "../store/canonical-json.ts";
import { type GrantedWith, liveGrantsByRecord } from "../store/grants.ts";
import type { AccessRequest, Executor } from "../store/requests.ts";
import type { LoadedTarget } from "../targets/load.ts";
import { connectorTypes } from "../targets/registry.ts";
import type { TargetConnector } from "../targets/target.ts";
import type { EngineDeps } from "./deps.ts";
import type { LoadedConfig } from "./load-config.ts";
import { prepareCall } from "./target-calls.ts";

export type GrantedTarget =
  | {
      ok: true;
      connector: TargetConnector;
      settings: unknown;
      identity: string;
      identityIsEmail: boolean;
      /** The identity is a standing member: its access is never taken away. */
      standing: boolean;
    }
  | { ok: false; permanent: boolean; error: string };

/** What escalate is about to be called with, kept with the grant. */
export function grantedWith(
  target: LoadedTarget,
  call: { settings: unknown; identity: string; identityIsEmail: boolean },
): GrantedWith {
  const canonical = target.connector.canonical?.(call.identity) ?? call.identity;
  return {
    type: target.info.type,
    label: target.info.label,
    fixed: target.fixedSettings,
    settings: call.settings,
    integration: target.integration ?? null,
    identity: call.identity,
    identityIsEmail: call.identityIsEmail,
    standing: isStanding(target, canonical),
  };
}

/** Standing members keep their access; only on a target without bindings (standing in one repository says nothing about another). */
function isStanding(target: LoadedTarget, identity: string): boolean {
  return target.bindings.length === 0 && target.drift.standing.includes(identity);
}

/** The target, settings and identity a grant's access is taken away with. */
export async function grantedTargetOf(
  deps: EngineDeps,
  row: AccessRequest,
  evt: FlowEvent,
  module: FlowModule | undefined,
): Promise<GrantedTarget> {
  const grant = row.grant;
  const recorded = grant?.grantedWith;
  if (grant && recorded) {
    const current = deps.config.targets.get(grant.target);
    const same = current !== undefined && sameTarget(current, recorded);
    const connector = same ? current.connector : connectorFromRecord(deps.config, grant.target, recorded);
    if (!connector) {
      return {
        ok: false,
        permanent: false,
        error: `target type "${recorded.type}" is unknown to this jitflow; cannot revoke`,
      };
    }
    const identity = grant.identity ?? recorded.identity;
    return {
      ok: true,
      connector,
      settings: recorded.settings,
      identity,
      identityIsEmail: grant.identity === null && recorded.identityIsEmail,
      standing: recorded.standing || (same && isStanding(current, identity)),
    };
  }
  // Made before grants kept their record (or cut short before it was written): the config as it is now.
  const target = row.target === null ? undefined : deps.config.targets.get(row.target);
  if (!target)
    return { ok: false, permanent: false, error: `target "${row.target}" is not configured; cannot revoke` };
  const prepared = await prepareCall(
    target,
    evt,
    module,
    deps.config.config.hooks.timeoutMs,
    grant?.identity,
  );
  if (!prepared.ok) return prepared;
  return { ...prepared, connector: target.connector, standing: isStanding(target, prepared.identity) };
}

/** The configured target is the one the grant was made in: same type, connection and integration. */
function sameTarget(current: LoadedTarget, recorded: GrantedWith): boolean {
  return (
    current.info.type === recorded.type &&
    canonicalJson(current.fixedSettings) === canonicalJson(recorded.fixed) &&
    canonicalJson(current.integration ?? null) === canonicalJson(recorded.integration)
  );
}

/** Connectors made from grants' records, per loaded config, one per distinct target; closed with the server. */
const fromRecords = new WeakMap<LoadedConfig, Map<string, TargetConnector>>();

function connectorFromRecord(
  config: LoadedConfig,
  name: string,
  recorded: GrantedWith,
): TargetConnector | undefined {
  const type = connectorTypes.get(recorded.type);
  if (!type) return undefined;
  const key = canonicalJson([name, recorded.type, recorded.fixed, recorded.integration]);
  let made = fromRecords.get(config);
  if (!made) {
    made = new Map();
    fromRecords.set(config, made);
  }
  let connector = made.get(key);
  if (!connector) {
    const info = {
      name,
      type: recorded.type,
      label: recorded.label,
      settings: redactSecrets(recorded.fixed),
    };
    connector = type.create(info, recorded.fixed, recorded.integration) as TargetConnector;
    made.set(key, connector);
  }
  return connector;
}

/** Closes the connectors made from grants' records (their pools and sockets). */
export async function closeRecordedTargets(config: LoadedConfig): Promise<void> {
  const made = fromRecords.get(config);
  fromRecords.delete(config);
  for (const connector of made?.values() ?? []) await connector.close?.();
}

/**
 * Live grants whose target is not, in the config, what it was when they were granted: removed or
 * renamed, or its type, connection or integration changed. One line per target, for `jitflow check`
 * and the server's start.
 */
export async function changedTargetWarnings(db: Executor, config: LoadedConfig): Promise<string[]> {
  const byTarget = new Map<string, { moved: number; legacy: number; typeUnknown: string[] }>();
  for (const { target, grantedWith: recorded, count } of await liveGrantsByRecord(db)) {
    const current = config.targets.get(target);
    const entry = byTarget.get(target) ?? { moved: 0, legacy: 0, typeUnknown: [] };
    if (recorded === null) {
      if (!current) entry.legacy += count;
    } else if (!current || !sameTarget(current, recorded)) {
      entry.moved += count;
      if (!connectorTypes.has(recorded.type)) entry.typeUnknown.push(recorded.type);
    }
    byTarget.set(target, entry);
  }
  const warnings: string[] = [];
  for (const [target, { moved, legacy, typeUnknown }] of [...byTarget].sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    const where = config.targets.has(target)
      ? `target "${target}" has changed since they were granted (its type, connection or integration)`
      : `target "${target}" is no longer in the config`;
    if (moved > 0) {
      warnings.push(
        typeUnknown.length > 0
          ? `${moved} live grant(s): ${where}, and this jitflow has no "${typeUnknown[0]}" connector: they cannot be revoked until it has`
          : `${moved} live grant(s): ${where}; they will be revoked where and as they were granted`,
      );
    }
    if (legacy > 0) {
      warnings.push(
        `${legacy} live grant(s) made before jitflow kept what grants were made with: ${where}, so they cannot be revoked until it is configured again`,
      );
    }
  }
  return warnings;
}
