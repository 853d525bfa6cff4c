// The running config: jitflow.config.ts read and checked (config/), its targets built (targets/), and each
// flow's module loaded, its fields and bindings checked against its targets and its approval policy compiled.

import type { z } from "zod";
import { checkFieldValue, fieldsSchema } from "../config/field-schema.ts";
import {
  type CheckedConfig,
  ConfigError,
  type ConfigProblem,
  checkConfigSecrets,
  checkSecrets,
  checkSteps,
  importFlowModule,
  parseConfigFile,
  slackSettings,
  zodProblems,
} from "../config/loader.ts";
import type { FlowConfig } from "../config/schema.ts";
import { parseDuration } from "../lib/duration.ts";
import type { FlowModule } from "../model/types.ts";
import { type LoadedTarget, loadTargets } from "../targets/load.ts";
import { type PolicyStep, policyOf } from "./approval/policy.ts";

/** What loadConfig throws: every problem, each with its path. */
export { ConfigError };

export interface LoadedFlow {
  config: FlowConfig;
  label: string;
  module: FlowModule | undefined;
  /** The largest allowed duration, in seconds (0 for flows without durations). */
  maxDuration: number;
  /** The approval steps (the single-step form is one step). */
  policy: PolicyStep[];
  /** What a submission's fields must be, compiled once from the flow's fields. */
  fieldsSchema: z.ZodType<Record<string, unknown>>;
}

export interface LoadedConfig extends CheckedConfig {
  flows: Map<string, LoadedFlow>;
  targets: Map<string, LoadedTarget>;
}

/** What a flow's config and module make: its label, longest duration, approval steps and fields' schema. */
export function compileFlow(flow: FlowConfig, module: FlowModule | undefined): LoadedFlow {
  return {
    config: flow,
    label: flow.label ?? flow.name,
    module,
    maxDuration: Math.max(0, ...flow.durations),
    policy: policyOf(flow, Boolean(module?.getApprovers)),
    fieldsSchema: fieldsSchema(flow.fields),
  };
}

/** Loads and checks everything; a config with any problem throws ConfigError listing them all. */
export async function loadConfig(
  explicit?: string,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  const { file, config } = await parseConfigFile(explicit);
  const problems: ConfigProblem[] = [];

  const targets = loadTargets(config, problems, zodProblems, (name, settings) =>
    checkSecrets(settings, `targets.${name}`, environment, problems),
  );
  checkConfigSecrets(config, environment, problems);
  for (const [name, t] of targets) {
    if (t.perRequest && !config.credentials) {
      problems.push({
        path: `targets.${name}`,
        message:
          'creates a login per request, whose password must be sealed until its requester reads it: set credentials.encryptionKey (env("NAME") of 32 random bytes, base64)',
      });
    }
  }
  if (config.web?.oidc) checkSecrets(config.web.oidc, "web.oidc", environment, problems);
  const slack = slackSettings(config, environment);

  const flows = new Map<string, LoadedFlow>();
  for (const [index, flow] of config.flows.entries()) {
    const at = `flows[${index}]`;
    const module = await importFlowModule(file, flow, at, problems);
    flow.fields.forEach((f, i) => {
      const listed = flow.targets.some((t) => {
        const target = targets.get(t);
        return target?.bindings.includes(f.name) && target.connector.options !== undefined;
      });
      if (f.prefetch && !module?.prefetch?.[f.name] && !listed) {
        problems.push({
          path: `${at}.fields[${i}].prefetch`,
          message: `field "${f.name}" has prefetch: true but the implementation exports no prefetch.${f.name} (and no target of the flow binds it to a setting it can list)`,
        });
      }
      if (f.default !== undefined) {
        const value = f.type === "duration" ? (parseDuration(f.default) ?? f.default) : f.default;
        const error = checkFieldValue(f, value);
        if (error) problems.push({ path: `${at}.fields[${i}].default`, message: error });
      }
    });
    flow.targets.forEach((t, i) => {
      if (targets.get(t)?.info.type === "custom" && (!module?.escalate || !module.deescalate)) {
        problems.push({
          path: `${at}.targets[${i}]`,
          message: `"${t}" is a custom target: the flow's implementation must export escalate() and deescalate()`,
        });
      }
      for (const key of targets.get(t)?.bindings ?? []) {
        const field = flow.fields.find((f) => f.name === key);
        if (field?.type !== "string" || !field.required) {
          problems.push({
            path: `${at}.targets[${i}]`,
            message: `target "${t}" takes its ${key} from the request: the flow needs a required string field named "${key}"${field ? ` (it is ${field.required ? "" : "optional and "}of type ${field.type})` : ""}`,
          });
        }
      }
    });
    flows.set(flow.name, compileFlow(flow, module));
    checkSteps(config, flow, module, at, problems);
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  return { file, config, flows, targets, slack };
}
