// Loading configs and flow modules from files: imports of "jitflow", ESM everywhere, and every problem named by its path.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { writeTree } from "../../test/support/harness.ts";
import { ConfigError, type ConfigProblem } from "../config/loader.ts";
import type { FlowEvent } from "../model/types.ts";
import { loadConfig } from "./load-config.ts";

const run = promisify(execFile);
const mainTs = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const dirs: string[] = [];

after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Writes the files to a fresh directory; returns the path of the first one (the config). */
function write(files: Record<string, string>): string {
  const dir = writeTree(files);
  dirs.push(dir);
  return join(dir, Object.keys(files)[0] as string);
}

const header = 'import { defineConfig, env } from "jitflow";\n';

/** A config with one webhook target and the given flows (source text of the array). */
function configWith(
  flows: string,
  targets = 'hook: { type: "webhook", url: "https://hooks.example.com/x", secret: env("HOOK_SECRET") }',
): string {
  return `${header}export default defineConfig({ targets: { ${targets} }, flows: ${flows} });\n`;
}

async function problemsOf(
  file: string,
  environment: NodeJS.ProcessEnv = { HOOK_SECRET: "s" },
): Promise<ConfigProblem[]> {
  const err = await loadConfig(file, environment).then(
    () => assert.fail("the config loaded"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError, String(err));
  assert.equal(err.file, file);
  assert.match(err.message, new RegExp(`^${escapeRegExp(file)}: invalid configuration\\n`));
  return err.problems;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

const flowModule = `import type { FlowEvent } from "jitflow";
import { deny } from "jitflow";

export async function onRequest(evt: FlowEvent<{ reason: string }>) {
  if (evt.fields.reason === "no") return deny({ reason: "said no" });
}

export const prefetch = {
  team: async () => [{ value: "sre", label: "SRE" }],
};
`;

describe("loadConfig: configs that load", () => {
  test("a config importing defineConfig and env, with a flow module using a type-only import", async () => {
    const file = write({
      "jitflow.config.ts": `${header}
export default defineConfig({
  users: { admins: ["Ops@Example.com"], memberDomains: ["example.com"] },
  targets: { hook: { type: "webhook", label: "Deploy gate", url: "https://hooks.example.com/x", secret: env("HOOK_SECRET") } },
  flows: [
    {
      name: "deploy",
      targets: ["hook"],
      durations: ["15m", "1h", 7200],
      fields: [
        { name: "reason", type: "text" },
        { name: "team", type: "string", prefetch: true },
      ],
      implementation: "./flows/deploy.ts",
    },
    { name: "signoff" },
  ],
});
`,
      "flows/deploy.ts": flowModule,
    });
    const loaded = await loadConfig(file, { HOOK_SECRET: "s3cret" });
    assert.equal(loaded.file, file);
    assert.deepEqual([...loaded.flows.keys()], ["deploy", "signoff"]);
    assert.deepEqual(loaded.config.users.admins, ["ops@example.com"]);
    const deploy = loaded.flows.get("deploy");
    assert.ok(deploy?.module?.onRequest);
    assert.equal(deploy.maxDuration, 7200);
    assert.deepEqual(deploy.config.durations, [900, 3600, 7200]);
    assert.equal(deploy.config.fields[0]?.required, true, "defaults are filled");
    const decision = await deploy.module.onRequest({ fields: { reason: "no" } } as unknown as FlowEvent);
    assert.deepEqual(decision, { kind: "deny", reason: "said no" }, "deny() is the running jitflow's");
    assert.deepEqual(await deploy.module.prefetch?.team?.({} as never), [{ value: "sre", label: "SRE" }]);
    assert.equal(loaded.flows.get("signoff")?.module, undefined);
    const hook = loaded.targets.get("hook");
    assert.deepEqual(hook?.info, {
      name: "hook",
      type: "webhook",
      label: "Deploy gate",
      settings: { url: "https://hooks.example.com/x", secret: "[secret HOOK_SECRET]" },
    });
  });

  for (const [what, files] of [
    [
      ".ts config and flow module",
      {
        "jitflow.config.ts": configWith(
          '[{ name: "a", targets: ["box"], durations: ["1h"], implementation: "./flows/a.ts" }]',
          'box: { type: "custom" }',
        ),
        "flows/a.ts":
          'import type { FlowEvent } from "jitflow";\nexport async function escalate(_evt: FlowEvent) {}\nexport async function deescalate(_evt: FlowEvent) {}\n',
        "package.json": '{ "type": "commonjs" }',
      },
    ],
    [
      ".js config and flow module",
      {
        "jitflow.config.js": `${header}export default defineConfig({ targets: { box: { type: "custom" } }, flows: [{ name: "a", targets: ["box"], durations: ["1h"], implementation: "./flows/a.js" }] });\n`,
        "flows/a.js": "export async function escalate() {}\nexport async function deescalate() {}\n",
        "package.json": '{ "type": "commonjs" }',
      },
    ],
  ] as const) {
    test(`a ${what} under a package.json saying "type": "commonjs" load as ES modules`, async () => {
      const file = write(files);
      const loaded = await loadConfig(file, {});
      const a = loaded.flows.get("a");
      assert.equal(typeof a?.module?.escalate, "function");
      assert.equal(typeof a?.module?.deescalate, "function");
      assert.equal(loaded.targets.get("box")?.info.type, "custom");
    });
  }
});

describe("loadConfig: a flow module declared with defineFlow", () => {
  test("its default export is the module: its hooks are the flow's", async () => {
    const file = write({
      "jitflow.config.ts": configWith(
        '[{ name: "a", implementation: "./flows/typed.ts", fields: [{ name: "ticket", type: "string" }] }]',
      ),
      "flows/typed.ts": `import { defineFlow, deny } from "jitflow";
export const helper = 1;
export default defineFlow<{ ticket: string }>({
  async onRequest(evt) {
    return deny({ reason: evt.fields.ticket.toUpperCase() });
  },
});
`,
    });
    const loaded = await loadConfig(file, { HOOK_SECRET: "s" });
    const module = loaded.flows.get("a")?.module;
    assert.equal(typeof module?.onRequest, "function");
    assert.equal(module?.onApprove, undefined);
  });
});

describe("loadConfig: a CommonJS flow module", () => {
  test("its hooks are module.exports, offered both as its default and by name: no conflict", async () => {
    const file = write({
      "jitflow.config.ts": configWith('[{ name: "a", implementation: "./flows/legacy.cjs" }]'),
      "flows/legacy.cjs": "exports.onRequest = async () => undefined;\n",
    });
    const loaded = await loadConfig(file, { HOOK_SECRET: "s" });
    assert.equal(typeof loaded.flows.get("a")?.module?.onRequest, "function");
  });
});

describe("loadConfig: problems, each with its path", () => {
  const cases: [string, Record<string, string>, ConfigProblem[] | [string, RegExp][], NodeJS.ProcessEnv?][] =
    [
      [
        "a bad duration",
        {
          "jitflow.config.ts": configWith(
            '[{ name: "a" }, { name: "b", targets: ["hook"], durations: ["soon", "1h"] }]',
          ),
        },
        [
          {
            path: "flows[1].durations[0]",
            message: '"soon" is not a duration; use "30s", "90m", "1h", "1d" or a number of seconds',
          },
        ],
      ],
      [
        "allowedValues on a bool field",
        {
          "jitflow.config.ts": configWith(
            '[{ name: "a", fields: [{ name: "ok", type: "bool", allowedValues: ["yes"] }] }]',
          ),
        },
        [{ path: "flows[0].fields[0].allowedValues", message: "a bool field cannot have allowedValues" }],
      ],
      [
        "allowedValues of the wrong type",
        {
          "jitflow.config.ts": configWith(
            '[{ name: "a", fields: [{ name: "n", type: "int", allowedValues: [1, "two"] }] }]',
          ),
        },
        [{ path: "flows[0].fields[0].allowedValues[1]", message: '"two" is not an integer' }],
      ],
      [
        "empty allowedValues",
        {
          "jitflow.config.ts": configWith(
            '[{ name: "a", fields: [{ name: "s", type: "string", allowedValues: [] }] }]',
          ),
        },
        [["flows[0].fields[0].allowedValues", />=1/]],
      ],
      [
        "a webhook url that is not http(s)",
        {
          "jitflow.config.ts": configWith(
            "[]",
            'hook: { type: "webhook", url: "ftp://hooks.example.com/x", secret: env("HOOK_SECRET") }',
          ),
        },
        [{ path: "targets.hook.url", message: "url must be an http(s) URL" }],
      ],
      [
        "a webhook url that is not a URL",
        {
          "jitflow.config.ts": configWith(
            "[]",
            'hook: { type: "webhook", url: "deploy gate", secret: env("HOOK_SECRET") }',
          ),
        },
        [{ path: "targets.hook.url", message: "url must be an http(s) URL" }],
      ],
      [
        "a flow naming a target that is not defined",
        { "jitflow.config.ts": configWith('[{ name: "a", targets: ["hook", "nope"], durations: ["1h"] }]') },
        [
          {
            path: "flows[0].targets[1]",
            message: 'target "nope" is not defined under targets (defined: hook)',
          },
        ],
      ],
      [
        "a flow naming a target when none are defined",
        {
          "jitflow.config.ts": `${header}export default defineConfig({ flows: [{ name: "a", targets: ["nope"], durations: ["1h"] }] });`,
        },
        [
          {
            path: "flows[0].targets[0]",
            message: 'target "nope" is not defined under targets (defined: none)',
          },
        ],
      ],
      [
        "a webhook's url taken from a request, which can never be sent",
        {
          "jitflow.config.ts": configWith(
            "[]",
            'hook: { type: "webhook", secret: env("HOOK_SECRET"), fieldBindings: ["url"] }',
          ),
        },
        [
          {
            path: "targets.hook.fieldBindings[0]",
            message: 'webhook targets cannot take "url" from a request (they take no setting from a request)',
          },
        ],
      ],
      [
        "a webhook url with credentials in it, which fetch refuses on every call",
        {
          "jitflow.config.ts": configWith(
            "[]",
            'hook: { type: "webhook", url: "https://user:pw@hooks.example.com/x", secret: env("HOOK_SECRET") }',
          ),
        },
        [
          {
            path: "targets.hook.url",
            message:
              "url must not hold a user or password (fetch refuses it): your endpoint checks the signature instead",
          },
        ],
      ],
      [
        "a bound setting the connector cannot list, without an allow-list",
        {
          "jitflow.config.ts": configWith(
            "[]",
            'gh: { type: "github_repo", integration: "github", repo: "api", fieldBindings: ["owner"] }',
          ).replace(
            "targets:",
            'integrations: { github: { type: "github", token: env("HOOK_SECRET") } }, targets:',
          ),
        },
        [
          {
            path: "targets.gh.fieldBindings[0]",
            message:
              'github_repo targets cannot list the values of "owner" they may grant here, so a request could name anything: list the allowed ones in grantable: { owner: [...] }',
          },
        ],
      ],
      [
        "a setting a connector does not take per request, and an allow-list of a setting not bound",
        {
          "jitflow.config.ts": configWith(
            "[]",
            'gh: { type: "github_repo", integration: "github", owner: "acme", fieldBindings: ["repo", "loginFromEmail"], grantable: { permission: ["pull"] } }',
          ).replace(
            "targets:",
            'integrations: { github: { type: "github", token: env("HOOK_SECRET") } }, targets:',
          ),
        },
        [
          {
            path: "targets.gh.fieldBindings[1]",
            message:
              'github_repo targets cannot take "loginFromEmail" from a request (they can take: repo, owner, permission)',
          },
          {
            path: "targets.gh.grantable.permission",
            message:
              '"permission" is not in fieldBindings: only a setting a request fills in takes an allow-list',
          },
        ],
      ],
      [
        "an allow-listed value that is no valid setting",
        {
          "jitflow.config.ts": configWith(
            "[]",
            'db: { type: "mysql_role", integration: "maria", fieldBindings: ["role"], grantable: { role: ["analyst", "NONE"] } }',
          ).replace(
            "targets:",
            'integrations: { maria: { type: "mysql", url: env("HOOK_SECRET") } }, targets:',
          ),
        },
        [{ path: "targets.db.grantable.role[1]", message: "NONE is a reserved name, not a role" }],
      ],
      [
        "an unknown target type",
        { "jitflow.config.ts": configWith("[]", 'pigeon: { type: "carrier_pigeon", coop: "roof" }') },
        [["targets.pigeon.type", /^unknown target type "carrier_pigeon" \(known: .*\bwebhook\b.*\)$/]],
      ],
      [
        "a secret whose environment variable is not set",
        { "jitflow.config.ts": configWith("[]") },
        [{ path: "targets.hook.secret", message: "environment variable HOOK_SECRET is not set" }],
        {},
      ],
      [
        "a secret written inline",
        {
          "jitflow.config.ts": configWith(
            "[]",
            'hook: { type: "webhook", url: "https://hooks.example.com/x", secret: "hunter2" }',
          ),
        },
        [
          {
            path: "targets.hook.secret",
            message:
              'a secret must be a reference: env("NAME") or { env: "NAME" }; secrets are never written inline',
          },
        ],
      ],
      [
        "an implementation file that does not exist",
        { "jitflow.config.ts": configWith('[{ name: "a", implementation: "./flows/missing.ts" }]') },
        [
          [
            "flows[0].implementation",
            /^file not found: \.\/flows\/missing\.ts \(looked for .*flows\/missing\.ts\)$/,
          ],
        ],
      ],
      [
        "an implementation that does not compile",
        {
          "jitflow.config.ts": configWith('[{ name: "a", implementation: "./flows/a.ts" }]'),
          "flows/a.ts": "export const = ;\n",
        },
        [["flows[0].implementation", /^could not be loaded: /]],
      ],
      [
        "a hook export that is not a function",
        {
          "jitflow.config.ts": configWith('[{ name: "a", implementation: "./flows/a.ts" }]'),
          "flows/a.ts": 'export const onRequest = "approve";\n',
        },
        [{ path: "flows[0].implementation", message: 'export "onRequest" must be a function' }],
      ],
      [
        "a misspelt hook, which would never be called (helpers of the module's own are fine)",
        {
          "jitflow.config.ts": configWith('[{ name: "a", implementation: "./flows/a.ts" }]'),
          "flows/a.ts":
            "export async function onRequst() {}\nexport function afterdeny() {}\nexport function formatReason() {}\nexport const onRequestLimit = 3;\n",
        },
        [
          // In the module's order of exports, which is by name.
          {
            path: "flows[0].implementation",
            message: 'exports "afterdeny", which is not a hook jitflow calls: did you mean "afterDeny"?',
          },
          {
            path: "flows[0].implementation",
            message: 'exports "onRequst", which is not a hook jitflow calls: did you mean "onRequest"?',
          },
        ],
      ],
      [
        "prefetch: true without a prefetch export",
        {
          "jitflow.config.ts": configWith(
            '[{ name: "a", fields: [{ name: "reason", type: "text" }, { name: "team", type: "string", prefetch: true }], implementation: "./flows/a.ts" }]',
          ),
          "flows/a.ts": "export async function onRequest() {}\n",
        },
        [
          {
            path: "flows[0].fields[1].prefetch",
            message:
              'field "team" has prefetch: true but the implementation exports no prefetch.team (and no target of the flow binds it to a setting it can list)',
          },
        ],
      ],
      [
        "prefetch: true without an implementation",
        {
          "jitflow.config.ts": configWith(
            '[{ name: "a", fields: [{ name: "team", type: "string", prefetch: true }] }]',
          ),
        },
        [
          {
            path: "flows[0].fields[0].prefetch",
            message:
              'field "team" has prefetch: true but the implementation exports no prefetch.team (and no target of the flow binds it to a setting it can list)',
          },
        ],
      ],
      [
        "a custom target without escalate and deescalate",
        {
          "jitflow.config.ts": configWith(
            '[{ name: "a", targets: ["hook", "sandbox"], durations: ["1h"], implementation: "./flows/a.ts" }]',
            'hook: { type: "webhook", url: "https://hooks.example.com/x", secret: env("HOOK_SECRET") }, sandbox: { type: "custom" }',
          ),
          "flows/a.ts": "export async function escalate() {}\n",
        },
        [
          {
            path: "flows[0].targets[1]",
            message:
              '"sandbox" is a custom target: the flow\'s implementation must export escalate() and deescalate()',
          },
        ],
      ],
      [
        "the same notify webhook twice",
        {
          "jitflow.config.ts": `${header}export default defineConfig({ notify: { webhooks: [
            { url: "https://n.example.com/a", secret: env("HOOK_SECRET") },
            { url: "https://n.example.com/a", secret: env("HOOK_SECRET") },
          ] } });\n`,
        },
        [{ path: "notify.webhooks[1].url", message: "https://n.example.com/a is listed twice" }],
      ],
      [
        "duplicate flow names",
        { "jitflow.config.ts": configWith('[{ name: "a" }, { name: "b" }, { name: "a" }]') },
        [{ path: "flows[2].name", message: 'flow "a" is defined twice' }],
      ],
      [
        "several problems at once",
        {
          "jitflow.config.ts": configWith(
            '[{ name: "a", implementation: "./nope.ts" }, { name: "b", fields: [{ name: "t", type: "string", prefetch: true }] }]',
            'hook: { type: "webhook", url: "https://hooks.example.com/x", secret: env("HOOK_SECRET") }, pigeon: { type: "carrier_pigeon" }',
          ),
        },
        [
          ["targets.hook.secret", /^environment variable HOOK_SECRET is not set$/],
          ["targets.pigeon.type", /^unknown target type/],
          ["flows[0].implementation", /^file not found: /],
          ["flows[1].fields[0].prefetch", /^field "t" has prefetch: true/],
        ],
        {},
      ],
      [
        "no default export",
        { "jitflow.config.ts": "export const config = {};\n" },
        [{ path: "", message: "has no default export; export default defineConfig({...})" }],
      ],
      [
        "a config that throws while loading",
        { "jitflow.config.ts": 'throw new Error("boom");\n' },
        [{ path: "", message: "could not be loaded: boom" }],
      ],
      [
        "an unknown option",
        {
          "jitflow.config.ts": `${header}export default defineConfig({ flows: [{ name: "a", approvers: { user: ["x@example.com"] } }] } as never);`,
        },
        [["flows[0].approvers", /user/]],
      ],
    ];

  for (const [what, files, want, environment] of cases) {
    test(what, async () => {
      const problems = await problemsOf(write(files), environment);
      if (want.every((w) => Array.isArray(w))) {
        assert.deepEqual(
          problems.map((p) => p.path),
          want.map(([path]) => path),
          JSON.stringify(problems),
        );
        for (const [i, [, pattern]] of (want as [string, RegExp][]).entries()) {
          assert.match(problems[i]?.message ?? "", pattern);
        }
      } else {
        assert.deepEqual(problems, want);
      }
    });
  }

  test("an inline secret is not repeated in the problem", async () => {
    const file = write({
      "jitflow.config.ts": configWith(
        "[]",
        'hook: { type: "webhook", url: "https://hooks.example.com/x", secret: "hunter2" }',
      ),
    });
    const err = await loadConfig(file, {}).catch((e: unknown) => e);
    assert.ok(err instanceof ConfigError);
    assert.doesNotMatch(err.message, /hunter2/);
  });

  test("a config file that does not exist", async () => {
    const file = join(write({ "other.ts": "" }), "..", "jitflow.config.ts");
    assert.deepEqual(await problemsOf(file), [{ path: "", message: "file not found" }]);
  });

  test("a module with a defineFlow default export and named hooks as well", async () => {
    const file = write({
      "jitflow.config.ts": configWith('[{ name: "a", implementation: "./flows/both.ts" }]'),
      "flows/both.ts": `import { defineFlow, deny } from "jitflow";
export default defineFlow({ async onRequest() { return deny({ reason: "default" }); } });
export async function onApprove() { return undefined; }
`,
    });
    assert.deepEqual(await problemsOf(file), [
      {
        path: "flows[0].implementation",
        message: "exports a default flow (defineFlow) and also onApprove: keep the hooks in one place",
      },
    ]);
  });

  test("the message of a missing implementation names the file as written and where it was looked for", async () => {
    const file = write({
      "jitflow.config.ts": configWith('[{ name: "a", implementation: "./flows/missing.ts" }]'),
    });
    const [problem] = await problemsOf(file);
    assert.equal(
      problem?.message,
      `file not found: ./flows/missing.ts (looked for ${join(file, "..", "flows", "missing.ts")})`,
    );
  });
});

describe("jitflow check, as a process", () => {
  const check = (file: string, env: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, [mainTs, "check", "--config", file], { env: { ...process.env, ...env } }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );

  test("a good config: exit 0 and ok", async () => {
    const file = write({
      "jitflow.config.ts": configWith('[{ name: "a", targets: ["hook"], durations: ["1h"] }, { name: "b" }]'),
    });
    const result = await check(file, { HOOK_SECRET: "s" });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `ok: ${file}: 2 flow(s), 1 target(s), 0 integration(s)\n`);
  });

  test("a bad config: non-zero exit, one line per problem naming the file, the path and the problem", async () => {
    const file = write({
      "jitflow.config.ts": configWith(
        '[{ name: "a", targets: ["hook"], durations: ["1h"] }, { name: "b", targets: ["hook"], durations: ["soon"], fields: [{ name: "ok", type: "bool", allowedValues: ["y"] }] }]',
      ),
    });
    const result = await check(file, { HOOK_SECRET: "s" });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.deepEqual(result.stderr.trimEnd().split("\n"), [
      `${file}: flows[1].durations[0]: "soon" is not a duration; use "30s", "90m", "1h", "1d" or a number of seconds`,
      `${file}: flows[1].fields[0].allowedValues: a bool field cannot have allowedValues`,
      "2 problem(s) found",
    ]);
  });

  test("a misspelt hook export: exit 1, naming it and the hook it looks like", async () => {
    const file = write({
      "jitflow.config.ts": configWith('[{ name: "a", implementation: "./flows/a.ts" }]'),
      "flows/a.ts":
        'import { approve } from "jitflow";\nexport async function onRequst() { return approve(); }\n',
    });
    const result = await check(file, { HOOK_SECRET: "s" });
    assert.equal(result.code, 1);
    assert.deepEqual(result.stderr.trimEnd().split("\n"), [
      `${file}: flows[0].implementation: exports "onRequst", which is not a hook jitflow calls: did you mean "onRequest"?`,
      "1 problem(s) found",
    ]);
  });

  test("a missing environment variable is reported by check too", async () => {
    const file = write({ "jitflow.config.ts": configWith("[]") });
    const env = { ...process.env };
    delete env.HOOK_SECRET;
    const result = await run(process.execPath, [mainTs, "check", "--config", file], { env }).then(
      () => ({ code: 0, stderr: "" }),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(
        `^${escapeRegExp(file)}: targets\\.hook\\.secret: environment variable HOOK_SECRET is not set$`,
        "m",
      ),
    );
  });
});
