// The release as a platform team installs it: `npm pack` holds only what runs; installed with
// `npm install --omit=dev` into an empty directory and run on the oldest Node.js that engines allows, it
// serves a TypeScript config and flow module, completes a request, and stops cleanly on SIGTERM. A user's
// config project type-checks against the package's declarations. And `npm start` builds the web app only
// when it is out of date.

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { client, eventually } from "./support/harness.ts";
import {
  copyCheckout,
  minimumNodeBinary,
  minimumNodeVersion,
  newDirectory,
  pack,
  repositoryRoot,
} from "./support/package.ts";

const run = promisify(execFile);
const minimumNode = minimumNodeBinary();
const skip =
  minimumNode === undefined && process.env.CI !== "true"
    ? `Node.js ${minimumNodeVersion()} is not in .ci/cache (bash .ci/run puts it there)`
    : undefined;

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function directory(prefix: string): string {
  const dir = newDirectory(prefix);
  dirs.push(dir);
  return dir;
}

/** The user's config project: a TypeScript config and a typed flow module with a custom target. */
const userConfig = `import { defineConfig } from "jitflow";

export default defineConfig({
  users: { admins: ["admin@example.com"] },
  targets: { notes: { type: "custom", label: "Release notes" } },
  flows: [
    {
      name: "notes",
      targets: ["notes"],
      durations: ["1h"],
      fields: [{ name: "reason", type: "text" }],
      implementation: "./flows/notes.ts",
    },
  ],
});
`;
const userFlow = `import { appendFileSync } from "node:fs";
import { approve, type FlowEvent } from "jitflow";

interface Grant {
  who: string;
  change: "+" | "-";
}

function record(grant: Grant): void {
  appendFileSync(process.env.GRANTS_LOG as string, \`\${grant.change}\${grant.who}\\n\`);
}

export async function onRequest(event: FlowEvent) {
  return event.fields.reason === "release" ? approve({ reason: "a release" }) : undefined;
}
export async function escalate(event: FlowEvent): Promise<void> {
  record({ who: event.requester.email, change: "+" });
}
export async function deescalate(event: FlowEvent): Promise<void> {
  record({ who: event.requester.email, change: "-" });
}
`;

describe("the package", { skip }, () => {
  let tarball: string;
  /** The user's project: the tarball installed with --omit=dev, the config and its flow module written. */
  let project: string;
  before(async () => {
    const checkout = copyCheckout();
    dirs.push(checkout);
    tarball = await pack(checkout, directory("jitflow-pack-"));
    project = directory("jitflow-user-");
    writeFileSync(
      join(project, "package.json"),
      `${JSON.stringify({ private: true, name: "access", type: "module" })}\n`,
    );
    await run("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline", tarball], {
      cwd: project,
      maxBuffer: 16 * 1024 * 1024,
      timeout: 600_000,
    });
    writeFileSync(join(project, "jitflow.config.ts"), userConfig);
    mkdirSync(join(project, "flows"));
    writeFileSync(join(project, "flows/notes.ts"), userFlow);
  });

  test("npm pack holds what runs: compiled JavaScript, declarations, the web app, docs, the manifest, LICENSE", async () => {
    const { stdout } = await run("tar", ["-tzf", tarball], { maxBuffer: 16 * 1024 * 1024 });
    const files = stdout
      .trim()
      .split("\n")
      .map((f) => f.replace(/^package\//, ""));
    for (const needed of [
      "package.json",
      "LICENSE",
      "README.md",
      "CHANGELOG.md",
      "bin/jitflow.js",
      "dist/cli/main.js",
      "dist/server.js",
      "dist/sdk/index.js",
      "dist/sdk/index.d.ts",
      "dist/quickstart/jitflow.config.js",
      "web/dist/index.html",
      "docs/operations.md",
      "slack-app-manifest.yaml",
      "Containerfile",
    ])
      assert.ok(files.includes(needed), `${needed} is in the package`);
    const stray = files.filter(
      (f) => /^(src|test|bench|scripts|web\/src|node_modules)\//.test(f) || /\.test\.(js|ts)$/.test(f),
    );
    assert.deepEqual(stray, [], "no sources, tests or benchmarks");
    assert.ok(!files.some((f) => f.startsWith("dist/") && f.endsWith(".ts") && !f.endsWith(".d.ts")));
  });

  test("installed with --omit=dev on the oldest Node.js engines allows: a TypeScript config serves a request, and SIGTERM stops it", async () => {
    const node = minimumNode as string;
    const grantsLog = join(project, "grants.log");
    writeFileSync(grantsLog, "");

    // `npx jitflow` in the project, with only that Node.js on the PATH before the system's.
    const { JITFLOW_CONFIG: _config, JITFLOW_DATABASE_URL: _database, ...inherited } = process.env;
    const env = {
      ...inherited,
      PATH: `${join(node, "..")}:${join(project, "node_modules/.bin")}:${process.env.PATH}`,
      GRANTS_LOG: grantsLog,
      LOG_LEVEL: "info",
    };
    const jitflow = (args: string[]) => run("jitflow", args, { cwd: project, env, timeout: 120_000 });
    const pkg = JSON.parse(readFileSync(join(repositoryRoot, "package.json"), "utf8")) as { version: string };
    assert.equal(
      (await jitflow(["--version"])).stdout,
      `jitflow ${pkg.version} (database schema 006-grants)\n`,
    );
    const checked = await jitflow(["check"]);
    assert.equal(
      checked.stdout,
      `ok: ${join(project, "jitflow.config.ts")}: 1 flow(s), 1 target(s), 0 integration(s)\n`,
    );
    await jitflow(["migrate"]);
    const token = (await jitflow(["tokens", "create", "--user", "dana@example.com"])).stdout
      .trim()
      .split("\n")
      .at(-1);
    assert.match(token ?? "", /^jft_/);

    const server = spawn("jitflow", ["serve", "--port", "0"], {
      cwd: project,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = once(server, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    const lines: string[] = [];
    createInterface({ input: server.stderr }).on("line", (l) => lines.push(l));
    const serving = new Promise<{ url: string; pid: number; node: string }>((resolve, reject) => {
      createInterface({ input: server.stdout }).on("line", (line) => {
        lines.push(line);
        if (!line.startsWith("{")) return;
        const entry = JSON.parse(line) as { msg?: string; url?: string; pid: number; node: string };
        if (entry.msg === "jitflow is serving" && entry.url) resolve(entry as never);
      });
      void exited.then(([code]) => reject(new Error(`jitflow serve exited (${code}):\n${lines.join("\n")}`)));
    });
    const { url, pid, node: version } = await serving;
    try {
      assert.equal(
        version,
        `v${minimumNodeVersion()}`,
        "the server runs on the oldest Node.js engines allows",
      );
      await eventually(
        async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined),
        "/readyz",
      );
      const dana = client(url, token as string);
      const created = await dana.post("/api/v1/requests", {
        flow: "notes",
        duration: "1h",
        fields: { reason: "release" },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      await eventually(async () => {
        const res = await dana.get(`/api/v1/requests/${created.body.id}`);
        return res.body.state === "active" ? true : undefined;
      }, "the request to be active");
      assert.equal(readFileSync(grantsLog, "utf8"), "+dana@example.com\n");
      // The web app is served from the package.
      const page = await fetch(`${url}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<div id="root">/);

      server.kill("SIGTERM");
      const [code, signal] = await exited;
      assert.deepEqual([code, signal], [0, null], lines.join("\n"));
      assert.match(lines.at(-1) ?? "", /"msg":"jitflow stopped"/);
      assert.throws(() => process.kill(pid, 0), "no process is left");
      await assert.rejects(fetch(`${url}/healthz`), "nothing listens on the port");
    } finally {
      server.kill("SIGKILL");
    }
  });

  test("a user's config project type-checks against the package's declarations, and a wrong config does not", async () => {
    const tsconfig = {
      compilerOptions: {
        target: "es2024",
        module: "nodenext",
        strict: true,
        noEmit: true,
        allowImportingTsExtensions: true,
        skipLibCheck: true,
        typeRoots: [join(repositoryRoot, "node_modules/@types")],
        types: ["node"],
      },
      include: ["jitflow.config.ts", "flows", "wrong.ts"],
    };
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify(tsconfig));
    const tsc = join(repositoryRoot, "node_modules/.bin/tsc");
    await run(tsc, ["-p", "."], { cwd: project });

    // The types are real: a wrong type and a misspelt option are errors, each where it is.
    const errorsOf = async (source: string) => {
      writeFileSync(join(project, "wrong.ts"), `import { defineConfig } from "jitflow";\n${source}\n`);
      return run(tsc, ["-p", "."], { cwd: project }).then(
        () => "",
        (err: { stdout: string }) => err.stdout,
      );
    };
    assert.match(
      await errorsOf('export default defineConfig({ flows: [{ name: "x", durations: 60 }] });'),
      /^wrong\.ts\(2,\d+\): error TS2322: Type 'number' is not assignable/,
    );
    assert.match(
      await errorsOf("export default defineConfig({ usres: { admins: [] } });"),
      /^wrong\.ts\(2,\d+\): error TS2561: .*'usres' does not exist.*Did you mean to write 'users'/,
    );
  });
});

describe("npm start's web build", () => {
  test("builds web/dist when a source is newer, and otherwise leaves it as it is", async () => {
    const checkout = copyCheckout();
    dirs.push(checkout);
    const script = join(checkout, "scripts/build-web-if-stale.ts");
    const built = join(checkout, "web/dist/index.html");
    const first = await run(process.execPath, [script], { cwd: checkout, timeout: 300_000 });
    assert.doesNotMatch(first.stdout, /up to date/);
    const at = statSync(built).mtimeMs;

    const again = await run(process.execPath, [script], { cwd: checkout, timeout: 300_000 });
    assert.equal(again.stdout, "the web app is up to date (web/dist)\n");
    assert.equal(statSync(built).mtimeMs, at, "not rebuilt");

    const later = new Date(Date.now() + 5000);
    utimesSync(join(checkout, "web/src/main.tsx"), later, later);
    const changed = await run(process.execPath, [script], { cwd: checkout, timeout: 300_000 });
    assert.doesNotMatch(changed.stdout, /up to date/);
    assert.ok(statSync(built).mtimeMs > at, "rebuilt after a source changed");
  });
});
