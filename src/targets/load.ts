// Builds the configured targets: common keys, the connector's own settings, its integration, field bindings.

import type { z } from "zod";
import type { ConfigProblem } from "../config/loader.ts";
import type { DriftConfig, ParsedConfig } from "../config/schema.ts";
import { redactSecrets } from "../config/secrets.ts";
import type { TargetInfo } from "../model/types.ts";
import { connectorTypes } from "./registry.ts";
import type { ConnectorType, TargetConnector } from "./target.ts";

export interface LoadedTarget {
  info: TargetInfo;
  connector: TargetConnector;
  /** Setting keys whose value comes from the request field of the same name. */
  bindings: string[];
  /** Per bound setting, the values allowed beyond those the connector offers (the target's `grantable`). */
  grantable: Record<string, string[]>;
  /** Per-user identities: the target's, over its integration's (emails lowercased). */
  identities: Record<string, string>;
  drift: DriftConfig;
  /** Each request is its own grant (a temporary login per request). */
  perRequest: boolean;
  /** The configured settings, without the bound keys. */
  fixedSettings: Record<string, unknown>;
  /** The validated settings of the integration the connector was made with (Okta, GitHub), if any. */
  integration: unknown;
  /** The settings one request's call uses: the configured ones with the bound fields filled in, validated. */
  settingsFor(
    fields: Record<string, unknown>,
  ): { ok: true; settings: unknown } | { ok: false; error: string };
}

/** Keys every target may have, whatever its type; removed before the connector's settings are checked. */
const commonKeys = ["type", "label", "integration", "fieldBindings", "grantable", "identities", "drift"];

export function loadTargets(
  config: ParsedConfig,
  problems: ConfigProblem[],
  zodProblems: (error: z.ZodError, prefix: PropertyKey[]) => ConfigProblem[],
  /** Further checks of a target's own settings (secrets that must be set), in config order. */
  checkSettings: (name: string, settings: Record<string, unknown>) => void = () => {},
): Map<string, LoadedTarget> {
  const targets = new Map<string, LoadedTarget>();
  const integrations = loadIntegrations(config, problems, zodProblems);
  for (const [name, raw] of Object.entries(config.targets)) {
    const at = `targets.${name}`;
    const connectorType = connectorTypes.get(raw.type);
    if (!connectorType) {
      problems.push({
        path: `${at}.type`,
        message: `unknown target type "${raw.type}" (known: ${[...connectorTypes.keys()].join(", ")})`,
      });
      continue;
    }
    const rest = Object.fromEntries(Object.entries(raw).filter(([k]) => !commonKeys.includes(k)));
    const shape = connectorType.settings.shape as Record<string, unknown>;
    let ok = true;
    for (const [i, key] of raw.fieldBindings.entries()) {
      if (!(key in shape) || connectorType.type === "custom") {
        problems.push({
          path: `${at}.fieldBindings[${i}]`,
          message:
            connectorType.type === "custom"
              ? "custom targets read request fields themselves (evt.fields); fieldBindings is for built-in connectors"
              : `"${key}" is not a setting of ${raw.type} targets (settings: ${Object.keys(shape).join(", ")})`,
        });
        ok = false;
      } else if (key in rest) {
        problems.push({
          path: `${at}.${key}`,
          message: `"${key}" is bound to a request field (fieldBindings); remove the fixed value`,
        });
        ok = false;
      }
    }
    ok = checkBindings(at, connectorType, raw, rest, shape, problems) && ok;
    const mask = Object.fromEntries(raw.fieldBindings.map((k) => [k, true as const]));
    const schema =
      raw.fieldBindings.length > 0 ? connectorType.settings.partial(mask) : connectorType.settings;
    const parsed = schema.safeParse(rest);
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error, ["targets", name]));
      ok = false;
    }
    if (parsed.success) {
      const problem = connectorType.check?.(parsed.data, raw.fieldBindings);
      if (problem) {
        problems.push({ path: at, message: problem });
        ok = false;
      }
      checkSettings(name, rest);
    }
    const integration = integrationOf(connectorType, name, raw.integration, integrations, problems);
    if (!ok || !parsed.success || integration === false) continue;

    const info: TargetInfo = {
      name,
      type: raw.type,
      label: raw.label ?? name,
      settings: redactSecrets({
        ...rest,
        ...(raw.fieldBindings.length ? { fieldBindings: raw.fieldBindings } : {}),
      }),
    };
    const staticSettings = parsed.data as Record<string, unknown>;
    const connector = connectorType.create(info, staticSettings, integration.settings) as TargetConnector;
    const bindings = raw.fieldBindings;
    targets.set(name, {
      info,
      connector,
      bindings,
      grantable: raw.grantable,
      identities: { ...integration.identities, ...raw.identities },
      // Standing members as list() spells them, so "UID=ops, ou=people,…" matches "uid=ops,ou=people,…".
      drift: {
        ...raw.drift,
        standing: raw.drift.standing.map((id) => connector.canonical?.(id) ?? id),
      },
      perRequest: connector.perRequest?.(staticSettings) ?? false,
      fixedSettings: staticSettings,
      integration: integration.settings,
      settingsFor(fields) {
        if (bindings.length === 0) return { ok: true, settings: staticSettings };
        const full = connectorType.settings.safeParse({
          ...rest,
          ...Object.fromEntries(bindings.map((k) => [k, fields[k]])),
        });
        if (full.success) return { ok: true, settings: full.data };
        const issue = full.error.issues[0];
        const key = String(issue?.path[0] ?? "");
        return {
          ok: false,
          error: `field "${key}" cannot be used as the target's ${key}: ${issue?.message ?? "invalid"}`,
        };
      },
    });
  }
  return targets;
}

/**
 * What a request may fill in: only settings the connector takes per request (a webhook's URL is not
 * one), each either listed by the connector or given an allow-list (`grantable`), whose values must be
 * valid settings. Returns false when there is a problem.
 */
function checkBindings(
  at: string,
  connectorType: ConnectorType<unknown>,
  raw: ParsedConfig["targets"][string],
  rest: Record<string, unknown>,
  shape: Record<string, unknown>,
  problems: ConfigProblem[],
): boolean {
  let ok = true;
  const bindable = connectorType.bindable ?? {};
  const takes = Object.keys(bindable);
  for (const [i, key] of raw.fieldBindings.entries()) {
    if (connectorType.type === "custom" || !(key in shape) || key in rest) continue; // reported above
    const listed = bindable[key];
    if (!listed) {
      problems.push({
        path: `${at}.fieldBindings[${i}]`,
        message: `${connectorType.type} targets cannot take "${key}" from a request (${takes.length ? `they can take: ${takes.join(", ")}` : "they take no setting from a request"})`,
      });
      ok = false;
    } else if (!listed(rest) && !raw.grantable[key]) {
      problems.push({
        path: `${at}.fieldBindings[${i}]`,
        message: `${connectorType.type} targets cannot list the values of "${key}" they may grant here, so a request could name anything: list the allowed ones in grantable: { ${key}: [...] }`,
      });
      ok = false;
    }
  }
  for (const [key, values] of Object.entries(raw.grantable)) {
    if (!raw.fieldBindings.includes(key)) {
      problems.push({
        path: `${at}.grantable.${key}`,
        message: `"${key}" is not in fieldBindings: only a setting a request fills in takes an allow-list`,
      });
      ok = false;
      continue;
    }
    const setting = shape[key] as z.ZodType | undefined;
    values.forEach((value, i) => {
      const parsed = setting?.safeParse(value);
      if (parsed && !parsed.success) {
        problems.push({
          path: `${at}.grantable.${key}[${i}]`,
          message: parsed.error.issues[0]?.message ?? "not a valid value",
        });
        ok = false;
      }
    });
  }
  return ok;
}

/** Integrations of the types connectors know, validated once each; others (used by hook helpers) are left as they are. */
function loadIntegrations(
  config: ParsedConfig,
  problems: ConfigProblem[],
  zodProblems: (error: z.ZodError, prefix: PropertyKey[]) => ConfigProblem[],
): Map<string, { type: string; settings: unknown; identities: Record<string, string> } | false> {
  const schemas = new Map<string, z.ZodType>();
  for (const c of connectorTypes.values())
    if (c.integration) schemas.set(c.integration.type, c.integration.settings);
  const out = new Map<
    string,
    { type: string; settings: unknown; identities: Record<string, string> } | false
  >();
  for (const [name, raw] of Object.entries(config.integrations)) {
    const { identities, ...settings } = raw;
    const schema = schemas.get(raw.type);
    if (!schema) {
      out.set(name, { type: raw.type, settings, identities });
      continue;
    }
    const parsed = schema.safeParse(settings);
    if (parsed.success) out.set(name, { type: raw.type, settings: parsed.data, identities });
    else {
      problems.push(...zodProblems(parsed.error, ["integrations", name]));
      out.set(name, false);
    }
  }
  return out;
}

function integrationOf(
  connectorType: ConnectorType<unknown>,
  target: string,
  named: string | undefined,
  integrations: ReturnType<typeof loadIntegrations>,
  problems: ConfigProblem[],
): { settings: unknown; identities: Record<string, string> } | false {
  const at = `targets.${target}.integration`;
  const wanted = connectorType.integration?.type;
  const found = named === undefined ? undefined : integrations.get(named);
  const candidates = [...integrations].filter(([, i]) => i && i.type === wanted).map(([n]) => n);
  if (named !== undefined && found === undefined) {
    problems.push({
      path: at,
      message: `integration "${named}" is not defined under integrations${wanted ? ` (of type "${wanted}": ${candidates.join(", ") || "none"})` : ""}`,
    });
    return false;
  }
  if (found === false) return false; // its own problems are reported under integrations
  if (!wanted) return { settings: undefined, identities: found?.identities ?? {} };
  if (found === undefined) {
    problems.push({
      path: at,
      message: `${connectorType.type} targets need an integration of type "${wanted}" (defined: ${candidates.join(", ") || "none"})`,
    });
    return false;
  }
  if (found.type !== wanted) {
    problems.push({
      path: at,
      message: `integration "${named}" is of type "${found.type}"; ${connectorType.type} targets need one of type "${wanted}"`,
    });
    return false;
  }
  return found;
}

/** A target with fixed settings and no bindings, mappings or drift checks (for tests and tools). */
export function fixedTarget(info: TargetInfo, connector: TargetConnector): LoadedTarget {
  return {
    info,
    connector,
    bindings: [],
    grantable: {},
    identities: {},
    drift: { mode: "off", interval: 900, standing: [] },
    perRequest: false,
    fixedSettings: info.settings,
    integration: undefined,
    settingsFor: () => ({ ok: true, settings: info.settings }),
  };
}
