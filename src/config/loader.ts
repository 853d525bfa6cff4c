// Reads jitflow.config.ts (or .js) and the flow modules it names, checks them against the schema, and reports
// every problem with its path. Building the targets and compiling the flows is engine/load-config.ts's part.

import { existsSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import type { z } from "zod";
import { ownExtension } from "../lib/own-modules.ts";
import type { FlowModule } from "../model/types.ts";
import { parseKey } from "../store/credentials.ts";
import { fileUrl, installModuleHooks } from "./module-hooks.ts";
import { configSchema, type FlowConfig, type ParsedConfig, type SecretRef } from "./schema.ts";
import { isSecretRef } from "./secrets.ts";

export interface ConfigProblem {
  /** Where in the config, e.g. `flows[1].durations[0]`; empty for the file as a whole. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly file: string;
  readonly problems: ConfigProblem[];
  constructor(file: string, problems: ConfigProblem[]) {
    super(
      `${file}: invalid configuration\n${problems.map((p) => `  ${p.path || "(file)"}: ${p.message}`).join("\n")}`,
    );
    this.name = "ConfigError";
    this.file = file;
    this.problems = problems;
  }
}

/** jitflow.config.ts read and checked against the schema, before its targets are built and its flows compiled. */
export interface CheckedConfig {
  file: string;
  config: ParsedConfig;
  /** Slack settings when a bot token and a signing secret are available; undefined means Slack is off. */
  slack?: SlackSettings | undefined;
}

export interface SlackSettings {
  botToken: SecretRef;
  signingSecret: SecretRef;
  /** The Web API base: SLACK_API_URL, or Slack's own. */
  apiUrl: string;
  command: string;
  errorChannel: string | undefined;
  /** Seconds before expiry that the requester is warned; 0 for never. */
  expiryWarning: number;
}

const hookExports = [
  "onPrompt",
  "afterPrompt",
  "onRequest",
  "afterRequest",
  "onApprove",
  "afterApprove",
  "onDeny",
  "afterDeny",
  "onEscalate",
  "afterEscalate",
  "onDeescalate",
  "afterDeescalate",
  "getApprovers",
  "getPermissions",
  "getIdentity",
  "escalate",
  "deescalate",
  "list",
] as const;

/** Which file to load: the argument, then $JITFLOW_CONFIG, then ./jitflow.config.ts, then the quickstart. */
export function resolveConfigPath(explicit?: string, cwd = process.cwd()): string {
  const chosen = explicit ?? process.env.JITFLOW_CONFIG;
  if (chosen) return resolve(cwd, chosen);
  for (const candidate of ["jitflow.config.ts", "jitflow.config.js"]) {
    const path = resolve(cwd, candidate);
    if (existsSync(path)) return path;
  }
  return quickstartConfig;
}

/** The bundled quickstart's config: its sources in a checkout, compiled in the package (dist/quickstart). */
const quickstartConfig = new URL(
  ownExtension === ".ts" ? "../../examples/quickstart/jitflow.config.ts" : "../quickstart/jitflow.config.js",
  import.meta.url,
).pathname;

/**
 * Where a flow's implementation is: relative to the config file. A config compiled to JavaScript (by tsc,
 * like the package's quickstart) may still name "./flows/x.ts": when that file is not there, the compiled
 * "./flows/x.js" beside it is.
 */
function implementationPath(file: string, implementation: string): string {
  const path = isAbsolute(implementation) ? implementation : resolve(dirname(file), implementation);
  if (file.endsWith(".js") && path.endsWith(".ts") && !existsSync(path)) {
    const compiled = `${path.slice(0, -".ts".length)}.js`;
    if (existsSync(compiled)) return compiled;
  }
  return path;
}

/** `flows[1].durations[0]` from ["flows", 1, "durations", 0]. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

export function zodProblems(error: z.ZodError, prefix: PropertyKey[] = []): ConfigProblem[] {
  return error.issues.map((issue) => ({
    path: formatPath([...prefix, ...issue.path]),
    message: issue.message,
  }));
}

/** Imports the config file and checks it against the schema; a file that does not fit throws ConfigError. */
export async function parseConfigFile(explicit?: string): Promise<{ file: string; config: ParsedConfig }> {
  const file = resolveConfigPath(explicit);
  if (!existsSync(file)) throw new ConfigError(file, [{ path: "", message: "file not found" }]);
  installModuleHooks();

  let exported: unknown;
  try {
    exported = ((await import(fileUrl(file))) as { default?: unknown }).default;
  } catch (err) {
    throw new ConfigError(file, [{ path: "", message: `could not be loaded: ${(err as Error).message}` }]);
  }
  if (exported === undefined) {
    throw new ConfigError(file, [
      { path: "", message: "has no default export; export default defineConfig({...})" },
    ]);
  }
  const parsed = configSchema.safeParse(exported);
  if (!parsed.success) throw new ConfigError(file, zodProblems(parsed.error));
  return { file, config: parsed.data };
}

/** Every secret the integrations, webhooks, Slack and credentials name must be set; the key must be a key. */
export function checkConfigSecrets(
  config: ParsedConfig,
  environment: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
): void {
  for (const [name, integration] of Object.entries(config.integrations)) {
    checkSecrets(integration, `integrations.${name}`, environment, problems);
  }
  for (const [i, w] of config.notify.webhooks.entries()) {
    checkSecrets(w, `notify.webhooks[${i}]`, environment, problems);
  }
  if (config.slack) checkSecrets(config.slack, "slack", environment, problems);
  checkSecrets(config.server, "server", environment, problems);
  if (config.credentials) {
    checkSecrets(config.credentials, "credentials", environment, problems);
    const text = environment[config.credentials.encryptionKey.env];
    if (text && !parseKey(text)) {
      problems.push({
        path: "credentials.encryptionKey",
        message: `${config.credentials.encryptionKey.env} must hold 32 bytes as base64 or hex (openssl rand -base64 32)`,
      });
    }
  }
}

/** Imports a flow's implementation module, relative to the config file; undefined (and a problem) if it fails. */
export async function importFlowModule(
  file: string,
  flow: FlowConfig,
  at: string,
  problems: ConfigProblem[],
): Promise<FlowModule | undefined> {
  if (!flow.implementation) return undefined;
  const path = implementationPath(file, flow.implementation);
  if (!existsSync(path)) {
    problems.push({
      path: `${at}.implementation`,
      message: `file not found: ${flow.implementation} (looked for ${path})`,
    });
    return undefined;
  }
  try {
    const module = flowModuleOf(
      (await import(fileUrl(path))) as Record<string, unknown>,
      `${at}.implementation`,
      problems,
    );
    checkModule(module, `${at}.implementation`, problems);
    return module;
  } catch (err) {
    problems.push({
      path: `${at}.implementation`,
      message: `could not be loaded: ${(err as Error).message}`,
    });
    return undefined;
  }
}

/** Slack is on when both secrets resolve: from the config's references or the SLACK_* variables. */
export function slackSettings(
  config: ParsedConfig,
  environment: NodeJS.ProcessEnv,
): SlackSettings | undefined {
  const botToken = config.slack?.botToken ?? { env: "SLACK_BOT_TOKEN" };
  const signingSecret = config.slack?.signingSecret ?? { env: "SLACK_SIGNING_SECRET" };
  if (!environment[botToken.env] || !environment[signingSecret.env]) return undefined;
  const base = environment.SLACK_API_URL || "https://slack.com/api/";
  return {
    botToken,
    signingSecret,
    apiUrl: base.endsWith("/") ? base : `${base}/`,
    command: config.slack?.command ?? "/jitflow",
    errorChannel: config.slack?.errorChannel,
    expiryWarning: config.slack?.expiryWarning ?? 600,
  };
}

/** Step sources that name integrations or hooks must find them. */
export function checkSteps(
  config: ParsedConfig,
  flow: FlowConfig,
  module: FlowModule | undefined,
  at: string,
  problems: ConfigProblem[],
): void {
  flow.approvers?.steps?.forEach((step, i) => {
    const path = `${at}.approvers.steps[${i}]`;
    const uses: [string, string | undefined, string][] = [
      ["oktaGroup", step.oktaGroup?.integration, "okta"],
      ["pagerduty", step.pagerduty?.integration, "pagerduty"],
    ];
    for (const [key, name, type] of uses) {
      if (name === undefined) continue;
      const found = config.integrations[name];
      if (found?.type !== type) {
        problems.push({
          path: `${path}.${key}.integration`,
          message: found
            ? `integration "${name}" is of type ${found.type}, not ${type}`
            : `integration "${name}" is not defined under integrations`,
        });
      }
    }
    if (step.getApprovers && !module?.getApprovers) {
      problems.push({
        path: `${path}.getApprovers`,
        message: "getApprovers: true needs the flow's implementation to export getApprovers()",
      });
    }
  });
}

export /**
 * A flow module's hooks: its default export when that is an object (`export default defineFlow({...})`),
 * else its named exports. Both at once is a problem: one of them would be silently ignored.
 */
function flowModuleOf(imported: Record<string, unknown>, at: string, problems: ConfigProblem[]): FlowModule {
  const fallback = imported.default;
  if (typeof fallback !== "object" || fallback === null) return imported as FlowModule;
  // A CommonJS module's default is module.exports, whose hooks Node also offers as named exports: the same ones.
  const hooks = fallback as Record<string, unknown>;
  const named = [...hookExports, "prefetch"].filter(
    (name) => imported[name] !== undefined && imported[name] !== hooks[name],
  );
  if (named.length > 0) {
    problems.push({
      path: at,
      message: `exports a default flow (defineFlow) and also ${named.join(", ")}: keep the hooks in one place`,
    });
  }
  return fallback as FlowModule;
}

function checkModule(module: FlowModule, at: string, problems: ConfigProblem[]): void {
  // A hook whose name is misspelt is never called, and nothing else would say so: an auto-approval rule
  // exported as "onRequst" would silently never run. Other exports (helpers, constants) are the module's own.
  for (const [name, value] of Object.entries(module)) {
    if (typeof value !== "function" || (hookExports as readonly string[]).includes(name)) continue;
    const meant = hookExports.find((hook) => looksLike(name, hook));
    if (meant) {
      problems.push({
        path: at,
        message: `exports "${name}", which is not a hook jitflow calls: did you mean "${meant}"?`,
      });
    }
  }
  for (const name of hookExports) {
    const value = (module as Record<string, unknown>)[name];
    if (value !== undefined && typeof value !== "function") {
      problems.push({ path: at, message: `export "${name}" must be a function` });
    }
  }
  if (module.prefetch !== undefined) {
    for (const [field, fn] of Object.entries(module.prefetch)) {
      if (typeof fn !== "function")
        problems.push({ path: at, message: `prefetch.${field} must be a function` });
    }
  }
}

/** Whether `name` is `hook` with a slip of the keyboard: another case, or at most two edits away. */
function looksLike(name: string, hook: string): boolean {
  const a = name.toLowerCase();
  const b = hook.toLowerCase();
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 2 || Math.min(a.length, b.length) < 5) return false;
  // Optimal string alignment distance: insertions, deletions, substitutions, adjacent transpositions.
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const above = d[i - 1] as number[];
      row[j] = Math.min(
        (above[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (above[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return ((d[a.length] as number[])[b.length] as number) <= 2;
}

export function checkSecrets(
  settings: object,
  at: string,
  environment: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
): void {
  for (const [key, value] of Object.entries(settings)) {
    if (isSecretRef(value) && !environment[value.env]) {
      problems.push({ path: `${at}.${key}`, message: `environment variable ${value.env} is not set` });
    }
  }
}
