// How `jitflow serve` stops and starts as a process: SIGTERM and SIGINT let the work in flight finish
// within the grace period and give back what they hold; `npm start` leaves no server behind; and a second
// server on the same SQLite file refuses to start.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { openStore } from "../src/store/database.ts";
import { client, eventually, importJitflow, writeTree } from "./support/harness.ts";
import { cliPath, createTokenWithCli, runCli, startServerProcess } from "./support/server-process.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A flow approved at once whose target's escalate writes `started` and then waits until `release` exists:
 * a target call the test holds in flight for as long as it likes.
 */
function heldTargetTree(graceMs?: number): { dir: string; config: string; started: string; release: string } {
  const dir = writeTree({
    "jitflow.config.ts": `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"] },
  server: { ${graceMs === undefined ? "" : `shutdownGraceMs: ${graceMs}`} },
  targets: { held: { type: "custom" } },
  flows: [{ name: "held", targets: ["held"], durations: ["1h"], implementation: "./flows/held.ts" }],
});
`,
    "flows/held.ts": `import { approve } from "jitflow";
import { existsSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
export async function onRequest() { return approve(); }
export async function escalate() {
  writeFileSync(new URL("../started", import.meta.url), "");
  // Held until the test writes the release file (or the process ends): a condition, polled.
  while (!existsSync(new URL("../release", import.meta.url))) await sleep(20);
}
export async function deescalate() {}
`,
  });
  dirs.push(dir);
  return {
    dir,
    config: join(dir, "jitflow.config.ts"),
    started: join(dir, "started"),
    release: join(dir, "release"),
  };
}

async function refused(url: string): Promise<true | undefined> {
  try {
    await fetch(`${url}/readyz`);
    return undefined;
  } catch {
    return true;
  }
}

describe("jitflow serve, stopped by a signal", () => {
  test("SIGTERM: no new connections, the target call in flight finishes, one log line, exit 0", async () => {
    const tree = heldTargetTree();
    const database = `sqlite:${join(tree.dir, "jitflow.db")}`;
    const token = await createTokenWithCli(database, "alice@example.com", "member");
    const server = await startServerProcess({ config: tree.config, env: { JITFLOW_DATABASE_URL: database } });
    try {
      const alice = client(server.url, token);
      const created = await alice.post("/api/v1/requests", { flow: "held", duration: "1h" });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      await eventually(async () => (existsSync(tree.started) ? true : undefined), "escalate to start");

      server.signal("SIGTERM");
      // The server stops listening at once, while the grant it is making is still in flight.
      await eventually(() => refused(server.url), "the server to stop accepting connections");
      assert.equal(existsSync(tree.release), false);
      writeFileSync(tree.release, "");
      const [code, signal] = await server.exited;
      assert.deepEqual([code, signal], [0, null], server.output());

      const lines = server
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { msg: string; signal?: string; level: number });
      const last = lines.at(-1);
      assert.equal(last?.msg, "jitflow stopped");
      assert.equal(last?.signal, "SIGTERM");
      assert.ok(!lines.some((l) => l.level >= 40), `no warnings or errors:\n${server.output()}`);

      // The batch finished: the grant was made and recorded, and nothing is left leased.
      const store = openStore(database);
      try {
        const request = await store.db
          .selectFrom("requests")
          .select(["state", "lease_owner"])
          .where("id", "=", created.body.id)
          .executeTakeFirstOrThrow();
        assert.deepEqual({ ...request }, { state: "active", lease_owner: null });
        const leased = await store.db
          .selectFrom("grants")
          .select("id")
          .where("lease_owner", "is not", null)
          .execute();
        assert.deepEqual(leased, []);
      } finally {
        await store.close();
      }
    } finally {
      await server.kill();
    }
  });

  test("SIGINT past the grace period: the lease is given back, exit 1, and the next start finishes the grant", async () => {
    const tree = heldTargetTree(1000);
    const database = `sqlite:${join(tree.dir, "jitflow.db")}`;
    const token = await createTokenWithCli(database, "alice@example.com", "member");
    const first = await startServerProcess({ config: tree.config, env: { JITFLOW_DATABASE_URL: database } });
    let id: string;
    try {
      const created = await client(first.url, token).post("/api/v1/requests", {
        flow: "held",
        duration: "1h",
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      id = created.body.id;
      await eventually(async () => (existsSync(tree.started) ? true : undefined), "escalate to start");
      first.signal("SIGINT");
      const [code] = await first.exited;
      assert.equal(code, 1, first.output());
      assert.match(first.output(), /"msg":"jitflow stopped after its grace period, with work left undone"/);
    } finally {
      await first.kill();
    }

    const store = openStore(database);
    try {
      const grant = await store.db
        .selectFrom("grants")
        .select(["lease_owner", "lease_until"])
        .where("request_id", "=", id)
        .executeTakeFirstOrThrow();
      assert.deepEqual({ ...grant }, { lease_owner: null, lease_until: null }, "the lease was given back");
    } finally {
      await store.close();
    }

    // Nothing was lost: the next server takes the grant up again and makes it.
    writeFileSync(tree.release, "");
    const second = await startServerProcess({ config: tree.config, env: { JITFLOW_DATABASE_URL: database } });
    try {
      await eventually(async () => {
        const res = await client(second.url, token).get(`/api/v1/requests/${id}`);
        return res.body?.state === "active" ? true : undefined;
      }, "the grant to be made by the next server");
      assert.equal(await second.stop(), 0, second.output());
    } finally {
      await second.kill();
    }
  });

  test("a second serve on the same SQLite file refuses to start; once the first stops, one can", async () => {
    const tree = heldTargetTree();
    const database = `sqlite:${join(tree.dir, "jitflow.db")}`;
    const env = { JITFLOW_DATABASE_URL: database };
    const first = await startServerProcess({ config: tree.config, env });
    try {
      const second = await runCli(["serve", "--config", tree.config, "--port", "0"], env);
      assert.equal(second.code, 1);
      assert.equal(
        second.stderr,
        `error: SERVER_ALREADY_RUNNING: another jitflow serve is using the database ${database.slice("sqlite:".length)} (it holds ${database.slice("sqlite:".length)}-serve.lock); stop it first. To run several servers, use PostgreSQL\n`,
      );
      // The first is untouched and still ready.
      const ready = await fetch(`${first.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(await first.stop(), 0);
    } finally {
      await first.kill();
    }
    const third = await startServerProcess({ config: tree.config, env });
    try {
      assert.equal((await fetch(`${third.url}/readyz`)).status, 200);
    } finally {
      await third.kill();
    }
    // Killed with -9, it holds nothing: the kernel dropped its lock.
    const fourth = await startServerProcess({ config: tree.config, env });
    assert.equal(await fourth.stop(), 0);
  });
});

describe("jitflow serve, stopped while it starts", () => {
  test("a start that hangs (a config awaiting for ever) still ends a little after the default grace period: exit 1", async () => {
    const dir = writeTree({
      "jitflow.config.ts": `${importJitflow}
import { writeFileSync } from "node:fs";
writeFileSync(new URL("./loading", import.meta.url), "");
// A start that never ends: a promise nothing settles, the process kept alive by an interval.
await new Promise(() => setInterval(() => {}, 60_000));
export default defineConfig({ flows: [{ name: "never", durations: ["1h"] }] });
`,
    });
    dirs.push(dir);
    const child = spawn(
      process.execPath,
      [cliPath, "serve", "--config", join(dir, "jitflow.config.ts"), "--port", "0"],
      {
        env: { ...process.env, JITFLOW_DATABASE_URL: `sqlite:${join(dir, "jitflow.db")}` },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    try {
      // The config is being loaded, so the signal handlers are in place: they are installed first.
      await eventually(
        async () => (existsSync(join(dir, "loading")) ? true : undefined),
        "the config to load",
      );
      child.kill("SIGTERM");
      assert.deepEqual(await exited, [1, null]);
      assert.equal(stderr, "jitflow: still stopping 30000 ms after SIGTERM; exiting now\n");
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("npm start", () => {
  test("SIGTERM to npm stops the server it started: no process is left on the port", async () => {
    const dir = mkdtempSync(join(tmpdir(), "jitflow-npm-start-"));
    dirs.push(dir);
    const child = spawn("npm", ["start", "--", "--port", "0"], {
      cwd: root,
      env: {
        ...process.env,
        JITFLOW_DATABASE_URL: `sqlite:${join(dir, "jitflow.db")}`,
        JITFLOW_GRANTS_FILE: join(dir, "grants.json"),
        JITFLOW_CONFIG: "",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    const lines: string[] = [];
    createInterface({ input: child.stderr }).on("line", (l) => lines.push(l));
    const serving = new Promise<{ pid: number; url: string }>((resolve, reject) => {
      createInterface({ input: child.stdout }).on("line", (line) => {
        lines.push(line);
        if (!line.startsWith("{")) return;
        const entry = JSON.parse(line) as { msg?: string; pid: number; url?: string };
        if (entry.msg === "jitflow is serving" && entry.url) resolve({ pid: entry.pid, url: entry.url });
      });
      void exited.then(([code]) => reject(new Error(`npm start exited (${code}):\n${lines.join("\n")}`)));
    });
    const { pid, url } = await serving;
    try {
      assert.notEqual(pid, child.pid, "the server runs in a process of its own, under npm");
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      child.kill("SIGTERM");
      await exited;
      await eventually(async () => {
        try {
          process.kill(pid, 0);
          return undefined;
        } catch {
          return true;
        }
      }, `the server (pid ${pid}) to exit after npm did`);
      assert.ok(await refused(url));
      assert.ok(
        lines.some((l) => l.includes('"msg":"jitflow stopped"')),
        `the server stopped by itself:\n${lines.join("\n")}`,
      );
    } finally {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone, as it should be
      }
    }
  });
});
