// The jitflow CLI as a process against a running server: tokens on its database, client commands over HTTP.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { schemaVersion } from "../src/store/schema-version.ts";
import { hashToken } from "../src/store/tokens.ts";
import { createSqliteDatabase, type TestDatabase } from "./support/databases.ts";
import { client, eventually, importJitflow, startTestServer, type TestServer } from "./support/harness.ts";

const execFileAsync = promisify(execFile);
const mainTs = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `jitflow ARGS` with Node 24 and returns its exit code and output, whatever the code. */
function jitflow(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const base = { ...process.env };
  for (const name of ["JITFLOW_URL", "JITFLOW_TOKEN", "JITFLOW_DATABASE_URL", "JITFLOW_CONFIG"])
    delete base[name];
  return execFileAsync(process.execPath, [mainTs, ...args], { env: { ...base, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
}

const config = `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"], memberDomains: ["example.com"] },
  targets: { sandbox: { type: "custom", label: "Sandbox admin" } },
  flows: [
    {
      name: "sandbox",
      targets: ["sandbox"],
      durations: ["15m", "1h"],
      fields: [
        { name: "reason", type: "text" },
        { name: "count", type: "int", required: false },
        { name: "tags", type: "str_list", required: false },
      ],
      approvers: { users: ["bob@example.com"] },
      implementation: "./flows/sandbox.ts",
    },
  ],
});
`;

const flowModule = `
export async function escalate() {}
export async function deescalate() {}
`;

describe("jitflow CLI", () => {
  let database: TestDatabase;
  let t: TestServer;
  const tokens: Record<string, { id: string; token: string }> = {};

  /** `tokens create` through the CLI; returns the id and the token from its output. */
  async function createToken(
    user: string,
    role: string,
    ...extra: string[]
  ): Promise<{ id: string; token: string; out: Run }> {
    const out = await jitflow([
      "tokens",
      "create",
      "--user",
      user,
      "--role",
      role,
      "--database",
      database.url,
      ...extra,
    ]);
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trimEnd().split("\n");
    const token = lines.at(-1) as string;
    assert.match(token, /^jft_[A-Za-z0-9_-]{43}$/, "the token is the last line");
    const id = /^created token (\S+) for /.exec(lines[0] ?? "")?.[1];
    assert.ok(id, out.stdout);
    return { id, token, out };
  }

  const as = (who: string, args: string[]) =>
    jitflow(args, { JITFLOW_URL: t.url, JITFLOW_TOKEN: tokens[who]?.token });

  before(async () => {
    database = await createSqliteDatabase();
    t = await startTestServer({ config, files: { "flows/sandbox.ts": flowModule }, database });
    const people = [
      ["alice@example.com", "member"],
      ["bob@example.com", "member"],
      ["admin@example.com", "admin"],
    ] as const;
    const created = await Promise.all(people.map(([user, role]) => createToken(user, role)));
    for (const [i, [user]] of people.entries()) tokens[user] = created[i] as { id: string; token: string };
  });
  after(async () => {
    await t?.close();
    await database?.drop();
  });

  test("--version prints the package's version and the database schema this build expects", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    const out = await jitflow(["--version"]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, `jitflow ${pkg.version} (database schema ${schemaVersion})\n`);
  });

  test("tokens against a database that does not exist: refused, saying which one and why, and nothing is created", async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), "jitflow-elsewhere-"));
    try {
      const missing = join(elsewhere, "nope", "jitflow.db");
      const named = await jitflow([
        "tokens",
        "create",
        "--user",
        "ci@example.com",
        "--database",
        `sqlite:${missing}`,
      ]);
      assert.equal(named.code, 1);
      assert.equal(named.stdout, "");
      assert.match(
        named.stderr,
        /^error: DATABASE_NOT_FOUND: there is no database at .*nope\/jitflow\.db \(--database\); nothing was created\./,
      );
      // Run from another directory with the server's config: its default database is relative to here.
      const config = join(t.dir, "jitflow.config.ts");
      const moved = await execFileAsync(process.execPath, [mainTs, "tokens", "list"], {
        cwd: elsewhere,
        env: { ...process.env, JITFLOW_CONFIG: config, JITFLOW_DATABASE_URL: "" },
      }).then(
        () => ({ code: 0, stderr: "" }),
        (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
      );
      assert.equal(moved.code, 1);
      assert.match(moved.stderr, /DATABASE_NOT_FOUND: there is no database at .*\(the default, under /);
      assert.deepEqual(readdirSync(elsewhere), [], "nothing was created");
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  describe("tokens", () => {
    test("create prints the token once, on the last line; list never shows it; only its hash is stored", async () => {
      const { id, token, out } = await createToken("dave@example.com", "member", "--name", "laptop");
      assert.match(out.stdout, new RegExp(`^created token ${id} for dave@example\\.com \\(member\\)\\n`));
      assert.equal(out.stdout.split(token).length, 2, "printed exactly once");

      const flows = await client(t.url, token).get("/api/v1/flows");
      assert.equal(flows.status, 200, "the printed token works against the server");

      const listed = await jitflow(["tokens", "list", "--json", "--database", database.url]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.ok(!listed.stdout.includes(token));
      for (const { token: other } of Object.values(tokens)) assert.ok(!listed.stdout.includes(other));
      const mine = (JSON.parse(listed.stdout) as Record<string, unknown>[]).find((x) => x.id === id);
      assert.deepEqual(
        { user: mine?.user, role: mine?.role, name: mine?.name, revokedAt: mine?.revokedAt },
        { user: "dave@example.com", role: "member", name: "laptop", revokedAt: null },
      );
      assert.deepEqual(Object.keys(mine ?? {}).sort(), [
        "createdAt",
        "expiresAt",
        "id",
        "lastUsedAt",
        "name",
        "revokedAt",
        "role",
        "user",
      ]);
      const table = await jitflow(["tokens", "list", "--database", database.url]);
      assert.match(table.stdout, new RegExp(`^${id}\\s+dave@example\\.com\\s+member\\s+laptop\\s`, "m"));
      assert.ok(!table.stdout.includes(token));

      const path = database.url.slice("sqlite:".length);
      const db = new DatabaseSync(path, { readOnly: true });
      try {
        const row = db.prepare("select hash from tokens where id = ?").get(id) as { hash: string };
        assert.equal(row.hash, hashToken(token));
      } finally {
        db.close();
      }
      for (const file of [path, `${path}-wal`]) {
        let bytes: Buffer;
        try {
          bytes = readFileSync(file);
        } catch {
          continue;
        }
        assert.equal(bytes.indexOf(token), -1, `${file} holds no plaintext token`);
        assert.equal(bytes.indexOf(token.slice(4)), -1, `${file} holds no token secret`);
      }
    });

    test("revoke makes the API answer 401 TOKEN_REVOKED", async () => {
      const { id, token } = await createToken("carol@example.com", "member");
      assert.equal((await client(t.url, token).get("/api/v1/flows")).status, 200);
      const revoked = await jitflow(["tokens", "revoke", id, "--database", database.url]);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.equal(revoked.stdout, `revoked ${id}\n`);
      const res = await client(t.url, token).get("/api/v1/flows");
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, "TOKEN_REVOKED");
      const listed = await jitflow(["tokens", "list", "--json", "--database", database.url]);
      const row = (JSON.parse(listed.stdout) as { id: string; revokedAt: string | null }[]).find(
        (x) => x.id === id,
      );
      assert.ok(row?.revokedAt, "listed as revoked");
      assert.equal(
        (await client(t.url, tokens["alice@example.com"]?.token ?? "").get("/api/v1/flows")).status,
        200,
      );
    });

    test("revoking an unknown token fails with TOKEN_NOT_FOUND", async () => {
      const res = await jitflow(["tokens", "revoke", "no-such-token", "--database", database.url]);
      assert.equal(res.code, 1);
      assert.equal(
        res.stderr,
        `database: ${database.url} (--database)\nerror: TOKEN_NOT_FOUND: there is no token no-such-token\n`,
      );
    });

    test("--expires: the token works, then is refused with TOKEN_EXPIRED once its time has passed", async () => {
      const before = Date.now();
      // Long enough for a busy machine to finish the command and use the token before it expires.
      const { token, out } = await createToken("carol@example.com", "member", "--expires", "10s");
      const expiresAt = Date.parse(/, expires (\S+)\n/.exec(out.stdout)?.[1] ?? "");
      assert.ok(expiresAt > before + 9000 && expiresAt <= Date.now() + 10_000, out.stdout);
      const first = await client(t.url, token).get("/api/v1/flows");
      assert.equal(first.status, 200);
      const expired = await eventually(async () => {
        const res = await client(t.url, token).get("/api/v1/flows");
        if (res.status === 200) return undefined;
        return res;
      }, "the token to expire");
      assert.ok(Date.now() >= expiresAt, "not refused before its time");
      assert.equal(expired.status, 401);
      assert.equal(expired.body.error.code, "TOKEN_EXPIRED");
    });

    test("bad arguments are refused before anything is written", async () => {
      const cases: [string[], string][] = [
        [["--user", "not-an-email"], 'error: --user must be an email address, not "not-an-email"\n'],
        [["--user", "x@example.com", "--role", "root"], "error: --role must be one of admin, member, bot\n"],
        [
          ["--user", "x@example.com", "--expires", "forever"],
          'error: --expires must be a duration such as 30d, not "forever"\n',
        ],
      ];
      const results = await Promise.all(
        cases.map(([args]) => jitflow(["tokens", "create", ...args, "--database", database.url])),
      );
      for (const [i, [args, stderr]] of cases.entries()) {
        assert.equal(results[i]?.code, 2, args.join(" "));
        assert.equal(results[i]?.stderr, stderr);
      }
      const listed = await jitflow(["tokens", "list", "--json", "--database", database.url]);
      assert.ok(!listed.stdout.includes("x@example.com"));
    });
  });

  describe("client commands", () => {
    test("request → approve → status → revoke, with --json and readable output", async () => {
      const created = await as("alice@example.com", [
        "request",
        "sandbox",
        "--target",
        "sandbox",
        "--duration",
        "1h",
        "--field",
        "reason=x",
        "--field",
        "count=3",
        "--field",
        "tags=a, b",
        "--json",
      ]);
      assert.equal(created.code, 0, created.stderr);
      const request = JSON.parse(created.stdout);
      assert.equal(request.state, "pending");
      assert.equal(request.flow, "sandbox");
      assert.equal(request.target, "sandbox");
      assert.equal(request.duration, 3600);
      assert.equal(request.requester.email, "alice@example.com");
      assert.deepEqual(
        request.fields,
        { reason: "x", count: 3, tags: ["a", "b"] },
        "values typed by the flow",
      );
      const id: string = request.id;

      const approving = Date.now();
      const approved = await as("bob@example.com", ["approve", id, "--reason", "looks fine"]);
      assert.equal(approved.code, 0, approved.stderr);
      assert.match(approved.stdout, new RegExp(`^id\\s+${id}$`, "m"));
      assert.match(approved.stdout, /^state\s+(escalating|active)$/m);
      assert.match(approved.stdout, /^approved by\s+bob@example\.com \(looks fine\)$/m);

      const active = await eventually(async () => {
        const res = await as("alice@example.com", ["status", id]);
        return /^state\s+active$/m.test(res.stdout) ? res : undefined;
      }, "the grant to become active");
      assert.match(active.stdout, new RegExp(`^id\\s+${id}$`, "m"));
      assert.match(active.stdout, /^flow\s+sandbox$/m);
      assert.match(active.stdout, /^target\s+sandbox$/m);
      assert.match(active.stdout, /^requester\s+alice@example\.com$/m);
      assert.match(active.stdout, /^duration\s+1h$/m);
      assert.match(active.stdout, /^field count\s+3$/m);

      const status = await as("alice@example.com", ["status", id, "--json"]);
      const view = JSON.parse(status.stdout);
      assert.equal(view.id, id);
      assert.equal(view.state, "active");
      // The expiry is written just before the target is called, so it is an hour from a moment after the
      // approval and no later than the activation.
      const from = Date.parse(view.expiresAt) - 3_600_000;
      assert.ok(
        from >= approving && from <= Date.parse(view.activatedAt),
        `an hour from ${new Date(from).toISOString()}, approved after ${new Date(approving).toISOString()}`,
      );

      const list = await as("alice@example.com", ["requests", "--json"]);
      assert.equal(list.code, 0, list.stderr);
      const page = JSON.parse(list.stdout);
      assert.ok(Array.isArray(page.items));
      assert.ok("nextCursor" in page);
      assert.deepEqual(
        page.items.filter((r: { id: string }) => r.id === id).map((r: { state: string }) => r.state),
        ["active"],
      );
      const table = await as("alice@example.com", ["requests", "--state", "active"]);
      assert.match(table.stdout, /^ID\s+FLOW\s+TARGET\s+REQUESTER\s+STATE\s+EXPIRES$/m);
      assert.match(
        table.stdout,
        new RegExp(`^${id}\\s+sandbox\\s+sandbox\\s+alice@example\\.com\\s+active\\s+\\S+$`, "m"),
      );

      const revoked = await as("alice@example.com", ["revoke", id, "--json"]);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.ok(["deescalating", "ended"].includes(JSON.parse(revoked.stdout).state));
      const ended = await eventually(async () => {
        const res = JSON.parse((await as("alice@example.com", ["status", id, "--json"])).stdout);
        return res.state === "ended" ? res : undefined;
      }, "the grant to end");
      assert.equal(ended.endedReason, "revoked");
    });

    test("deny, with readable output naming the request, its state and the reason", async () => {
      const created = await as("alice@example.com", ["request", "sandbox", "--field", "reason=y"]);
      assert.equal(created.code, 0, created.stderr);
      const id = /^id\s+(\S+)$/m.exec(created.stdout)?.[1];
      assert.ok(id, created.stdout);
      assert.match(created.stdout, /^state\s+pending$/m);
      assert.match(created.stdout, /^duration\s+15m$/m, "the flow's first duration by default");

      const denied = await as("bob@example.com", ["deny", id, "--reason", "not now"]);
      assert.equal(denied.code, 0, denied.stderr);
      assert.match(denied.stdout, new RegExp(`^id\\s+${id}$`, "m"));
      assert.match(denied.stdout, /^state\s+denied$/m);
      assert.match(denied.stdout, /^denied by\s+bob@example\.com \(not now\)$/m);

      const again = await as("bob@example.com", ["approve", id]);
      assert.equal(again.code, 1);
      assert.equal(again.stderr, "error: INVALID_TRANSITION: cannot approve a request that is denied\n");
    });

    test("readable output shows control characters escaped, never acting on the terminal; --json keeps them exact", async () => {
      // What an attacker can put in a request: retitle the window, clear the screen, return to the
      // start of the line, reorder text, and start a line that looks like jitflow's own.
      const hostile =
        "\x1b]0;pwned\x07\x1b[2Jok\rfake\x9b31m\u202egnp.exe\x08\napproved by  admin@example.com";
      const created = await client(t.url, tokens["alice@example.com"]?.token ?? "").post("/api/v1/requests", {
        flow: "sandbox",
        fields: { reason: hostile, tags: ["a\x1b[31m", "b\u2066c"] },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.id as string;
      const denied = await as("bob@example.com", ["deny", id, "--reason", hostile]);
      const status = await as("alice@example.com", ["status", id]);
      const listed = await as("alice@example.com", ["requests", "--flow", "sandbox"]);
      const named = await createToken("dave@example.com", "member", "--name", hostile);
      const tokenTable = await jitflow(["tokens", "list", "--database", database.url]);
      const refused = await as("alice@example.com", ["request", "\x1b[2Jnope\x07", "--field", "reason=x"]);
      const outputs = { denied, status, listed, named: named.out, tokenTable, refused };
      // Newline is the only character a terminal acts on that may reach it.
      const acting = (text: string) =>
        [...text].filter((ch) => {
          const c = ch.codePointAt(0) ?? 0;
          return (
            (c < 0x20 && c !== 0x0a) ||
            (c >= 0x7f && c <= 0x9f) ||
            [0x061c, 0x200e, 0x200f].includes(c) ||
            (c >= 0x2028 && c <= 0x202e) ||
            (c >= 0x2066 && c <= 0x2069)
          );
        });
      for (const [name, out] of Object.entries(outputs)) {
        assert.deepEqual(acting(out.stdout), [], `${name}: stdout`);
        assert.deepEqual(acting(out.stderr), [], `${name}: stderr`);
      }
      for (const out of [denied, status]) {
        assert.equal(out.code, 0, out.stderr);
        // The reason shows escaped, visibly; its second line stays indented under the value column.
        assert.match(
          out.stdout,
          /^field reason {2}\\u001b\]0;pwned\\u0007\\u001b\[2Jok\\rfake\\u009b31m\\u202egnp\.exe\\u0008$/m,
        );
        assert.match(out.stdout, /^ {14}approved by {2}admin@example\.com$/m);
        assert.match(out.stdout, /^field tags {4}a\\u001b\[31m, b\\u2066c$/m);
        assert.deepEqual(out.stdout.match(/^(approved|denied) by.*$/gm), [
          "denied by     bob@example.com (\\u001b]0;pwned\\u0007\\u001b[2Jok\\rfake\\u009b31m\\u202egnp.exe\\u0008",
        ]);
      }
      assert.match(
        tokenTable.stdout,
        /\\u001b\]0;pwned\\u0007\\u001b\[2Jok\\rfake\\u009b31m\\u202egnp\.exe\\u0008\\napproved by {2}admin/,
      );
      assert.equal(refused.code, 1);
      assert.equal(refused.stderr, 'error: FLOW_NOT_FOUND: there is no flow "\\u001b[2Jnope\\u0007"\n');

      // --json prints the API's values as they are.
      const json = await as("alice@example.com", ["status", id, "--json"]);
      const view = (
        await client(t.url, tokens["alice@example.com"]?.token ?? "").get(`/api/v1/requests/${id}`)
      ).body;
      assert.equal(json.stdout, `${JSON.stringify(view, null, 2)}\n`);
      assert.equal(JSON.parse(json.stdout).fields.reason, hostile);
      assert.equal(JSON.parse(json.stdout).decisions[0].reason, hostile);
    });

    test("errors print `error: CODE: message` on stderr and exit non-zero", async () => {
      const { id } = JSON.parse(
        (await as("alice@example.com", ["request", "sandbox", "--field", "reason=z", "--json"])).stdout,
      );
      const cases: [string, string[], RegExp][] = [
        ["alice@example.com", ["request", "nope", "--field", "reason=x"], /^error: FLOW_NOT_FOUND: .*nope/],
        [
          "alice@example.com",
          ["request", "sandbox", "--target", "nope", "--field", "reason=x"],
          /^error: TARGET_NOT_FOUND: /,
        ],
        [
          "alice@example.com",
          ["request", "sandbox", "--duration", "2h", "--field", "reason=x"],
          /^error: DURATION_NOT_ALLOWED: /,
        ],
        [
          "alice@example.com",
          ["request", "sandbox", "--field", "count=three", "--field", "reason=x"],
          /^error: FIELD_INVALID: /,
        ],
        ["alice@example.com", ["request", "sandbox"], /^error: FIELD_REQUIRED: /],
        ["alice@example.com", ["approve", id], /^error: SELF_APPROVAL: |^error: NOT_AN_APPROVER: /],
        ["alice@example.com", ["status", "does-not-exist"], /^error: REQUEST_NOT_FOUND: /],
        ["bob@example.com", ["cancel", id], /^error: CANCEL_NOT_ALLOWED: /],
      ];
      const results = await Promise.all(cases.map(([who, args]) => as(who, args)));
      for (const [i, [, args, pattern]] of cases.entries()) {
        const res = results[i] as Run;
        assert.equal(res.code, 1, `${args.join(" ")}: ${res.stdout}`);
        assert.match(res.stderr, pattern, args.join(" "));
        assert.equal(res.stderr.split("\n").length, 2, `one line: ${res.stderr}`);
        assert.equal(res.stdout, "");
      }
      const status = JSON.parse((await as("alice@example.com", ["status", id, "--json"])).stdout);
      assert.equal(status.state, "pending", "nothing above changed the request");
      assert.deepEqual(status.decisions, []);
    });

    test("without a token, with a bad token, and with no server", async () => {
      const [none, bad, down, malformed] = await Promise.all([
        jitflow(["requests"], { JITFLOW_URL: t.url }),
        jitflow(["requests"], { JITFLOW_URL: t.url, JITFLOW_TOKEN: "jft_nope" }),
        jitflow(["requests"], { JITFLOW_URL: "http://127.0.0.1:1", JITFLOW_TOKEN: "jft_x" }),
        as("alice@example.com", ["request", "sandbox", "--field", "reason"]),
      ]);
      assert.equal(none?.code, 1);
      assert.equal(
        none?.stderr,
        "error: UNAUTHENTICATED: set JITFLOW_TOKEN to an API token (jitflow tokens create)\n",
      );
      assert.equal(bad?.code, 1);
      assert.match(bad?.stderr ?? "", /^error: TOKEN_INVALID: /);
      assert.equal(down?.code, 1);
      assert.match(down?.stderr ?? "", /^error: UNREACHABLE: cannot reach http:\/\/127\.0\.0\.1:1: /);
      assert.equal(malformed?.code, 2);
      assert.equal(malformed?.stderr, 'error: --field takes name=value, not "reason"\n');
    });
  });
});
