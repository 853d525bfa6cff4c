// The container image, as an operator runs it: the Containerfile builds from the packed tarball (installed
// with --omit=dev) on a node:24-slim-like base made here from Debian's mirror (no registry is reachable);
// the container starts with a mounted TypeScript config and a data volume, answers /readyz and /healthz,
// completes a request through the API, and exits 0 on SIGTERM, with node as PID 1 and under --init.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { createPostgresDatabase, postgresSkipReason } from "./support/databases.ts";
import { client, eventually, freePort } from "./support/harness.ts";
import { copyCheckout, newDirectory, pack, repositoryRoot } from "./support/package.ts";

const run = promisify(execFile);
const podmanFound = await run("podman", ["--version"]).then(
  () => true,
  () => false,
);
const skip =
  !podmanFound && process.env.CI !== "true"
    ? "podman is not installed (bash .ci/run installs it)"
    : undefined;

const postgresSkip = await postgresSkipReason();
const baseImage = "localhost/jitflow-node-base:test";
const tag = `${process.pid}-${Date.now().toString(36)}`;
const image = `localhost/jitflow-test:${tag}`;
const volume = `jitflow-test-data-${tag}`;
const dirs: string[] = [];
const containers: string[] = [];

let env: NodeJS.ProcessEnv;
const podman = (args: string[], timeout = 600_000) =>
  run("podman", args, { env, timeout, maxBuffer: 64 * 1024 * 1024 });

const config = `import { defineConfig } from "jitflow";

export default defineConfig({
  users: { admins: ["admin@example.com"] },
  server: { shutdownGraceMs: 20000 },
  targets: { console: { type: "custom", label: "Console" } },
  flows: [{ name: "console", targets: ["console"], durations: ["1h"], implementation: "./flows/console.ts" }],
});
`;
const flow = `import { approve, type FlowEvent } from "jitflow";

export async function onRequest(_event: FlowEvent) {
  return approve({ reason: "containers approve themselves" });
}
export async function escalate(): Promise<void> {}
export async function deescalate(): Promise<void> {}
`;

describe("the container image", { skip }, () => {
  let configDir: string;
  before(async () => {
    const work = newDirectory("jitflow-container-");
    dirs.push(work);
    const containersConf = join(work, "containers.conf");
    await run(join(repositoryRoot, "test/support/container-conf.sh"), [containersConf]);
    env = { ...process.env, CONTAINERS_CONF: containersConf };
    // The base: made once from Debian's mirror and kept in podman's storage for the next run.
    await run(join(repositoryRoot, "test/support/container-base.sh"), [baseImage], {
      env,
      timeout: 900_000,
      maxBuffer: 64 * 1024 * 1024,
    });

    const context = join(work, "context");
    mkdirSync(context);
    const checkout = copyCheckout();
    dirs.push(checkout);
    await pack(checkout, context);
    copyFileSync(join(repositoryRoot, "Containerfile"), join(context, "Containerfile"));
    copyFileSync(join(repositoryRoot, ".dockerignore"), join(context, ".dockerignore"));
    await podman([
      "build",
      "--pull=never",
      "--format=docker",
      "--layers=false",
      "--build-arg",
      `NODE_IMAGE=${baseImage}`,
      "-t",
      image,
      "-f",
      join(context, "Containerfile"),
      context,
    ]);
    await podman(["volume", "create", volume]);

    configDir = join(work, "config");
    mkdirSync(join(configDir, "flows"), { recursive: true });
    writeFileSync(join(configDir, "jitflow.config.ts"), config);
    writeFileSync(join(configDir, "flows/console.ts"), flow);
  });
  after(async () => {
    for (const name of containers) await podman(["rm", "-f", "-t", "0", name]).catch(() => {});
    await podman(["volume", "rm", "-f", volume]).catch(() => {});
    await podman(["rmi", "-f", image]).catch(() => {});
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Starts a container of the image with the config mounted read-only and the data volume; resolves with
   * its name and URL once /readyz answers 200. Its port is published on 127.0.0.1, or, given `hostPort`,
   * it is on the host's network (with `--network=host` in `extra`) listening there.
   */
  async function start(extra: string[] = [], hostPort?: number): Promise<{ name: string; url: string }> {
    const name = `jitflow-test-${tag}-${containers.length}`;
    containers.push(name);
    const publish = hostPort === undefined ? ["-p", "127.0.0.1::8080"] : [];
    await podman([
      "run",
      "-d",
      "--name",
      name,
      ...extra,
      ...publish,
      "-v",
      `${configDir}:/etc/jitflow:ro`,
      "-v",
      `${volume}:/var/lib/jitflow`,
      image,
    ]);
    const url =
      hostPort === undefined
        ? `http://${(await podman(["port", name, "8080"])).stdout.trim().split("\n")[0]}`
        : `http://127.0.0.1:${hostPort}`;
    await eventually(async () => {
      const res = await fetch(`${url}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    }, `${name} to be ready`);
    return { name, url };
  }

  /** SIGTERM (podman stop), giving it longer than its grace period; the exit code and what it logged. */
  async function stop(name: string): Promise<{ code: number; logs: string }> {
    await podman(["stop", "-t", "60", name]);
    const { stdout } = await podman(["inspect", name, "--format", "{{.State.ExitCode}}"]);
    const logs = await podman(["logs", name]);
    return { code: Number(stdout.trim()), logs: logs.stdout + logs.stderr };
  }

  /** `jitflow tokens create` inside a container, as an operator runs it: the token, and what it said on stderr. */
  async function tokenIn(container: string, ...args: string[]): Promise<{ token: string; stderr: string }> {
    const created = await podman(["exec", container, "jitflow", "tokens", "create", ...args]);
    return { token: created.stdout.trim().split("\n").at(-1) as string, stderr: created.stderr };
  }

  /** Asks for the console through the API and waits until the grant is made; the request's id. */
  async function granted(url: string, token: string): Promise<string> {
    const submitted = await client(url, token).post("/api/v1/requests", { flow: "console", duration: "1h" });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    await eventually(async () => {
      const res = await client(url, token).get(`/api/v1/requests/${submitted.body.id}`);
      return res.body.state === "active" ? true : undefined;
    }, "the request to be active");
    return submitted.body.id;
  }

  test("runs as a user that is not root, with the mounted config; /readyz, /healthz and the HEALTHCHECK answer", async () => {
    const { name, url } = await start();
    const ready = await fetch(`${url}/readyz`);
    assert.deepEqual(await ready.json(), { ready: true, database: "sqlite", schema: "006-grants" });
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    const { stdout: user } = await podman(["exec", name, "id", "-u"]);
    assert.equal(user.trim(), "10001");
    await podman(["healthcheck", "run", name]);
    const { code, logs } = await stop(name);
    assert.equal(code, 0, logs);
  });

  test("a request through the API is granted; SIGTERM to PID 1 stops it within the grace period, exit 0", async () => {
    const { name, url } = await start();
    const { token, stderr } = await tokenIn(name, "--user", "dana@example.com");
    assert.match(stderr, /^database: sqlite:\/var\/lib\/jitflow\/jitflow\.db \(JITFLOW_DATABASE_URL\)\n$/);
    await granted(url, token);

    const { code, logs } = await stop(name);
    assert.equal(code, 0, logs);
    const last = logs.trim().split("\n").at(-1) ?? "";
    assert.match(last, /"msg":"jitflow stopped"/);
    assert.match(last, /"signal":"SIGTERM"/);
  });

  test("the README's production steps on PostgreSQL: check, migrate, serve, a token, a request; then an upgrade's migrate and a new container", {
    skip: postgresSkip,
  }, async () => {
    const database = await createPostgresDatabase();
    const port = await freePort();
    // The container shares the host's network, where PostgreSQL listens on 127.0.0.1.
    const withDatabase = [
      "--network=host",
      "-e",
      `JITFLOW_DATABASE_URL=${database.url}`,
      "-e",
      `PORT=${port}`,
    ];
    const oneOff = (args: string[]) =>
      podman(["run", "--rm", ...withDatabase, "-v", `${configDir}:/etc/jitflow:ro`, image, ...args]);
    try {
      const checked = await oneOff(["check"]);
      assert.equal(
        checked.stdout,
        "ok: /etc/jitflow/jitflow.config.ts: 1 flow(s), 1 target(s), 0 integration(s)\n",
      );
      const migrated = await oneOff(["migrate"]);
      assert.match(migrated.stdout, /^applied: 001-initial, .*006-grants\n$/);

      const serve = () => start(withDatabase, port);
      const first = await serve();
      assert.deepEqual(await (await fetch(`${first.url}/readyz`)).json(), {
        ready: true,
        database: "postgres",
        schema: "006-grants",
      });
      const { token } = await tokenIn(first.name, "--user", "you@example.com", "--role", "admin");
      const id = await granted(first.url, token);

      // The upgrade: the new image's migrate (nothing to do between equal versions), then a new container.
      assert.equal((await oneOff(["migrate"])).stdout, "up to date\n");
      const stopped = await stop(first.name);
      assert.equal(stopped.code, 0, stopped.logs);
      const second = await serve();
      const again = await client(second.url, token).get(`/api/v1/requests/${id}`);
      assert.equal(again.body.state, "active");
      assert.equal((await stop(second.name)).code, 0);
    } finally {
      await database.drop();
    }
  });

  test("under --init too; and the data volume keeps what the last container wrote", async () => {
    const first = await start(["--init"]);
    const { stdout: pid1 } = await podman(["exec", first.name, "cat", "/proc/1/comm"]);
    // podman mounts its init (tini here) as /run/podman-init; docker's is docker-init.
    assert.match(pid1.trim(), /^(podman-init|docker-init|tini)$/, "node is not PID 1");
    const { token } = await tokenIn(first.name, "--user", "erin@example.com");
    const id = await granted(first.url, token);
    const stopped = await stop(first.name);
    assert.equal(stopped.code, 0, stopped.logs);
    assert.match(stopped.logs, /"msg":"jitflow stopped"/);

    const second = await start();
    const again = await client(second.url, token).get(`/api/v1/requests/${id}`);
    assert.equal(again.status, 200, "the token and the request are in the volume");
    assert.equal(again.body.state, "active");
    assert.equal((await stop(second.name)).code, 0);
  });
});
