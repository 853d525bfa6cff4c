// What an orchestrator and a monitoring system ask a running server: /healthz (alive), /readyz (send it
// traffic: its database answers at the expected schema), /metrics on a port of its own or behind a token;
// and what the server-side commands say about the database they open.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import {
  createPostgresDatabase,
  createSqliteDatabase,
  postgresAdminUrl,
  postgresSkipReason,
  type TestDatabase,
} from "./support/databases.ts";
import { importJitflow, startTestServer, type TestServer } from "./support/harness.ts";
import { runCli } from "./support/server-process.ts";

const config = (server = "") => `${importJitflow}
export default defineConfig({
  users: { admins: ["admin@example.com"] },
  server: { ${server} },
  flows: [{ name: "plain", durations: ["1h"] }],
});
`;

const skip = await postgresSkipReason();

async function admin<T>(work: (client: pg.Client) => Promise<T>, database = "postgres"): Promise<T> {
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function readyz(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("/healthz and /readyz on PostgreSQL", { skip }, () => {
  let database: TestDatabase;
  let t: TestServer;
  const name = () => new URL(database.url).pathname.slice(1);
  before(async () => {
    database = await createPostgresDatabase();
    t = await startTestServer({ config: config(), database, background: false });
  });
  after(async () => {
    await admin((c) => c.query(`alter database ${name()} allow_connections true`)).catch(() => {});
    await t?.close();
    await database?.drop();
  });

  test("ready: the database answers at the schema this version expects", async () => {
    assert.deepEqual(await readyz(t.url), {
      status: 200,
      body: { ready: true, database: "postgres", schema: "006-grants" },
    });
    const health = await fetch(`${t.url}/healthz`);
    assert.deepEqual([health.status, await health.json()], [200, { ok: true }]);
  });

  test("not ready, with the reason, while the database is at another schema", async () => {
    const last = await admin(
      (c) => c.query("delete from kysely_migration where name = '006-grants' returning *"),
      name(),
    );
    try {
      assert.deepEqual(await readyz(t.url), {
        status: 503,
        body: {
          ready: false,
          reason:
            "the database schema is 005-policies; this version expects 006-grants (run jitflow migrate)",
        },
      });
    } finally {
      const row = last.rows[0] as { name: string; timestamp: string };
      await admin(
        (c) =>
          c.query("insert into kysely_migration (name, timestamp) values ($1, $2)", [
            row.name,
            row.timestamp,
          ]),
        name(),
      );
    }
    assert.equal((await readyz(t.url)).status, 200);
  });

  test("a database a newer jitflow migrated: a running server stays ready, nothing of this version starts on it", async () => {
    await admin(
      (c) =>
        c.query(
          "insert into kysely_migration (name, timestamp) values ('007-future', '2027-01-01T00:00:00Z')",
        ),
      name(),
    );
    try {
      assert.equal(
        (await readyz(t.url)).status,
        200,
        "a replica of the old version, during a rolling upgrade",
      );
      const refusal = `the database ${database.url} was migrated by a newer jitflow (007-future); this version knows the schema up to 006-grants. Run the newer version, or restore a backup taken before it (docs/operations.md#upgrades)`;
      const tokens = await runCli(["tokens", "list", "--database", database.url]);
      assert.deepEqual([tokens.code, tokens.stderr], [1, `error: SCHEMA_MISMATCH: ${refusal}\n`]);
      const migrated = await runCli(["migrate", "--database", database.url]);
      assert.equal(migrated.code, 1);
      assert.ok(migrated.stderr.endsWith(`error: SCHEMA_MISMATCH: ${refusal}\n`), migrated.stderr);
      await assert.rejects(
        startTestServer({ config: config(), database, background: false }),
        (err: Error) => {
          assert.equal(err.message, refusal);
          return true;
        },
      );
    } finally {
      await admin((c) => c.query("delete from kysely_migration where name = '007-future'"), name());
    }
  });

  test("not ready while the database refuses connections; alive all along; ready again after", async () => {
    await admin(async (c) => {
      await c.query(`alter database ${name()} allow_connections false`);
      await c.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [name()]);
    });
    try {
      const down = await readyz(t.url);
      assert.equal(down.status, 503);
      assert.equal(down.body.ready, false);
      // The driver's words (host, user, database) stay in the log.
      assert.equal(down.body.reason, "the database cannot be reached (the server's log says why)");
      assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
    } finally {
      await admin((c) => c.query(`alter database ${name()} allow_connections true`));
    }
    assert.equal((await readyz(t.url)).status, 200);
  });
});

describe("/metrics", () => {
  test("on server.metricsPort: served there without a token, and not on the main port", async () => {
    const t = await startTestServer({ config: config('metricsPort: 0, metricsHost: "127.0.0.1"') });
    try {
      const metricsUrl = t.server.metricsUrl as string;
      assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      assert.notEqual(new URL(metricsUrl).port, new URL(t.url).port);
      const res = await fetch(metricsUrl);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
      assert.match(await res.text(), /^# TYPE jitflow_events_total counter$/m);
      const elsewhere = await fetch(new URL("/api/v1/flows", metricsUrl));
      assert.equal(elsewhere.status, 404);
      await elsewhere.body?.cancel();

      const main = await fetch(`${t.url}/metrics`, {
        headers: { authorization: `Bearer ${t.token("admin@example.com")}` },
      });
      assert.equal(main.status, 404);
      assert.deepEqual(await main.json(), {
        error: {
          code: "ROUTE_NOT_FOUND",
          message: `metrics are served on port ${new URL(metricsUrl).port} (server.metricsPort), not here`,
        },
      });
      // The API is on the main port as before.
      assert.equal((await t.as("alice@example.com").get("/api/v1/flows")).status, 200);
    } finally {
      await t.close();
    }
  });

  test("server.metricsToken: the scraper's secret reads /metrics on the main port, and nothing else", async () => {
    const t = await startTestServer({
      config: config('metricsToken: env("PROBES_METRICS_TOKEN")'),
      env: { PROBES_METRICS_TOKEN: "scrape-secret-0123456789" },
    });
    try {
      const scraper = { authorization: "Bearer scrape-secret-0123456789" };
      const metrics = await fetch(`${t.url}/metrics`, { headers: scraper });
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /^# TYPE jitflow_events_total counter$/m);
      const wrong = await fetch(`${t.url}/metrics`, {
        headers: { authorization: "Bearer scrape-secret-012345678" },
      });
      assert.equal(wrong.status, 401);
      await wrong.body?.cancel();
      const api = await fetch(`${t.url}/api/v1/flows`, { headers: scraper });
      assert.equal(api.status, 401, "the metrics secret is not an API token");
      await api.body?.cancel();
    } finally {
      await t.close();
    }
  });

  test("a metrics port already taken: the server does not start, and holds nothing", async () => {
    const first = await startTestServer({ config: config('metricsPort: 0, metricsHost: "127.0.0.1"') });
    const database = await createSqliteDatabase();
    try {
      const taken = new URL(first.server.metricsUrl as string).port;
      await assert.rejects(
        startTestServer({ config: config(`metricsPort: ${taken}, metricsHost: "127.0.0.1"`), database }),
        /EADDRINUSE/,
      );
      // The failed start let its database and serve lock go: another server starts on it.
      const again = await startTestServer({ config: config(), database });
      await again.close();
    } finally {
      await first.close();
      await database.drop();
    }
  });
});

describe("server-side commands on PostgreSQL", { skip }, () => {
  let database: TestDatabase;
  before(async () => {
    database = await createPostgresDatabase();
  });
  after(async () => {
    await database?.drop();
  });
  const tables = () =>
    admin(
      async (c) =>
        (
          await c.query(
            "select count(*)::int as n from information_schema.tables where table_schema = 'public'",
          )
        ).rows[0].n as number,
      new URL(database.url).pathname.slice(1),
    );

  test("tokens create on an empty database refuses, names it without its password, and creates nothing", async () => {
    const withPassword = new URL(database.url);
    withPassword.password = "s3cret-pw";
    // Trust authentication ignores the password: the database is reached, and the password never shown.
    const res = await runCli([
      "tokens",
      "create",
      "--user",
      "ops@example.com",
      "--database",
      withPassword.href,
    ]);
    assert.equal(res.code, 1);
    assert.equal(res.stdout, "");
    withPassword.password = "***";
    assert.equal(
      res.stderr,
      `error: DATABASE_NOT_MIGRATED: the database ${withPassword.href} (--database) has no jitflow tables; create them with jitflow migrate, or start jitflow serve on it\n`,
    );
    assert.ok(!res.stderr.includes("s3cret-pw"));
    assert.equal(await tables(), 0, "nothing was created");
  });

  test("migrate says which database it migrated; then tokens create works there and says so too", async () => {
    const migrated = await runCli(["migrate"], { JITFLOW_DATABASE_URL: database.url });
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.equal(migrated.stderr, `database: ${database.url} (JITFLOW_DATABASE_URL)\n`);
    assert.match(migrated.stdout, /^applied: 001-initial, .*006-grants\n$/);
    const created = await runCli(["tokens", "create", "--user", "ops@example.com", "--json"], {
      JITFLOW_DATABASE_URL: database.url,
    });
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stderr, `database: ${database.url} (JITFLOW_DATABASE_URL)\n`);
    assert.match((JSON.parse(created.stdout) as { token: string }).token, /^jft_/);
  });
});
