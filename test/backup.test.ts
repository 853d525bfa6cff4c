// `jitflow backup`: a consistent copy of the SQLite database taken while the server serves and writes,
// which `jitflow audit verify` finds intact; and the refusals (a file that exists, PostgreSQL).

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { migrate, openStore } from "../src/store/database.ts";
import { createPostgresDatabase, postgresSkipReason } from "./support/databases.ts";
import { client, eventually, importJitflow, startTestServer, writeTree } from "./support/harness.ts";
import { createTokenWithCli, runCli, startServerProcess } from "./support/server-process.ts";

const run = promisify(execFile);
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test("a backup taken while requests are being made is consistent: audit verify passes on the copy", async () => {
  const dir = writeTree({
    "jitflow.config.ts": `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"] },
  targets: { noop: { type: "custom" } },
  flows: [{ name: "noop", targets: ["noop"], durations: ["1h"], implementation: "./flows/noop.ts" }],
});
`,
    "flows/noop.ts": `import { approve } from "jitflow";
export async function onRequest() { return approve(); }
export async function escalate() {}
export async function deescalate() {}
`,
  });
  dirs.push(dir);
  const database = `sqlite:${join(dir, "jitflow.db")}`;
  const token = await createTokenWithCli(database, "alice@example.com", "member");
  const server = await startServerProcess({
    config: join(dir, "jitflow.config.ts"),
    env: { JITFLOW_DATABASE_URL: database },
  });
  try {
    const alice = client(server.url, token);
    const submit = async () => {
      const res = await alice.post("/api/v1/requests", { flow: "noop", duration: "1h" });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    };
    for (let i = 0; i < 20; i++) await submit();

    // Requests keep coming while the copy is taken.
    let copying = true;
    let during = 0;
    const load = (async () => {
      while (copying) {
        await submit();
        during += 1;
      }
    })();
    // The copy starts once writes are under way, and the load goes on until it has finished.
    await eventually(async () => (during > 0 ? true : undefined), "the load to be under way");
    const backupFile = join(dir, "copy.db");
    const backup = await runCli(["backup", backupFile, "--database", database]);
    copying = false;
    await load;
    assert.equal(backup.code, 0, backup.stderr);
    assert.equal(backup.stderr, `database: ${database} (--database)\n`);
    const [, requests, events] =
      /^backed up to .*copy\.db: schema 006-grants, (\d+) request\(s\), (\d+) audit event\(s\)\n$/.exec(
        backup.stdout,
      ) ?? [undefined, "-1", "-1"];
    assert.ok(Number(requests) >= 20 && Number(requests) <= 20 + during, backup.stdout);
    assert.ok(Number(events) > Number(requests), "each request has its events");

    assert.equal(
      statSync(backupFile).mode & 0o777,
      0o600,
      "token hashes and the audit log: its owner's only",
    );
    const verified = await runCli(["audit", "verify", "--database", `sqlite:${backupFile}`]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /^ok: \d+ event\(s\), chain intact/);
  } finally {
    await server.stop();
  }
});

test("backup refuses a file that exists, a database that does not, and PostgreSQL; nothing is written", async () => {
  const dir = writeTree({ "taken.db": "mine" });
  dirs.push(dir);
  const database = `sqlite:${join(dir, "jitflow.db")}`;
  const missing = await runCli(["backup", join(dir, "copy.db"), "--database", database]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: DATABASE_NOT_FOUND: there is no database at /);
  assert.equal(existsSync(join(dir, "copy.db")), false);

  // A database an older version left (the backup before an upgrade) is copied as it is.
  const older = openStore(database);
  await migrate(older, { to: "005-policies" });
  await older.close();
  const before = await runCli(["backup", join(dir, "before-upgrade.db"), "--database", database]);
  assert.equal(before.code, 0, before.stderr);
  assert.match(before.stdout, /: schema 005-policies, 0 request\(s\), 0 audit event\(s\)\n$/);

  await runCli(["migrate", "--database", database]);
  const taken = await runCli(["backup", join(dir, "taken.db"), "--database", database]);
  assert.equal(
    taken.stderr,
    `error: VALIDATION_FAILED: ${join(dir, "taken.db")} exists; nothing was written\n`,
  );
  assert.equal(readFileSync(join(dir, "taken.db"), "utf8"), "mine");

  const postgres = await runCli([
    "backup",
    join(dir, "pg.db"),
    "--database",
    "postgres://u:secret@127.0.0.1:1/x",
  ]);
  assert.equal(
    postgres.stderr,
    "error: VALIDATION_FAILED: jitflow backup copies a SQLite database; back PostgreSQL up with pg_dump (docs/operations.md#backups)\n",
  );
  assert.equal(existsSync(join(dir, "pg.db")), false);
});

test("PostgreSQL, as docs/operations.md says: pg_dump, pg_restore into an empty database, audit verify", {
  skip: await postgresSkipReason(),
}, async () => {
  const source = await createPostgresDatabase();
  const restored = await createPostgresDatabase();
  const dir = writeTree({});
  dirs.push(dir);
  const t = await startTestServer({
    config: `${importJitflow}
export default defineConfig({ flows: [{ name: "ask", durations: ["1h"], approvers: { users: ["bob@example.com"] } }] });
`,
    database: source,
  });
  try {
    for (let i = 0; i < 5; i++) {
      const res = await t.as("alice@example.com").post("/api/v1/requests", { flow: "ask", duration: "1h" });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    const dump = join(dir, "jitflow.dump");
    await run("pg_dump", ["--format=custom", `--file=${dump}`, source.url]);
    await run("pg_restore", [`--dbname=${restored.url}`, dump]);
    const verified = await runCli(["audit", "verify", "--database", restored.url]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    const original = await runCli(["audit", "verify", "--database", source.url]);
    assert.equal(verified.stdout, original.stdout, "the same chain, to its head");
  } finally {
    await t.close();
    await source.drop();
    await restored.drop();
  }
});
