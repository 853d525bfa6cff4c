// Starts a real jitflow server on a free port with a config written to a temp dir, plus API clients per user.

import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type Logger, pino } from "pino";
import type { Clock } from "../../src/lib/clock.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { createToken, type TokenRole } from "../../src/store/tokens.ts";
import { createSqliteDatabase, type TestDatabase } from "./databases.ts";

export interface Response<T = any> {
  status: number;
  body: T;
}

export interface Client {
  token: string;
  get<T = any>(path: string): Promise<Response<T>>;
  post<T = any>(path: string, body?: unknown): Promise<Response<T>>;
  raw(path: string, init: RequestInit): Promise<Response>;
}

export const users: Record<string, TokenRole> = {
  "admin@example.com": "admin",
  "alice@example.com": "member",
  "bob@example.com": "member",
  "carol@example.com": "member",
  "dave@example.com": "member",
  "bot@example.com": "bot",
  "eve@outside.org": "member",
};

export interface TestServerOptions {
  /** Source of jitflow.config.ts. */
  config: string;
  /** Other files, by path relative to the config's directory. */
  files?: Record<string, string>;
  database?: TestDatabase;
  /** Environment variables the config's secrets read. */
  env?: Record<string, string>;
  clock?: Clock;
  /** Run the scheduler and outbox worker on their own (default true). */
  background?: boolean;
  /** Port to listen on (default: any free one), for configs that must name their own URL. */
  port?: number;
  /** Host to listen on (default 127.0.0.1). */
  host?: string;
  /** Where the server logs (default: nowhere). */
  logger?: Logger;
}

export interface TestServer {
  url: string;
  dir: string;
  server: RunningServer;
  as(email: string): Client;
  /** The API token the harness made for this person (for requests a Client does not make, /metrics). */
  token(email: string): string;
  close(): Promise<void>;
}

/** Writes files into a fresh temp directory; returns it. */
export function writeTree(
  files: Record<string, string>,
  dir = mkdtempSync(join(tmpdir(), "jitflow-test-")),
): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

export function client(url: string, token: string): Client {
  async function raw(path: string, init: RequestInit): Promise<Response> {
    const res = await fetch(`${url}${path}`, init);
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body };
  }
  const auth = { authorization: `Bearer ${token}` };
  return {
    token,
    raw,
    get: (path) => raw(path, { headers: auth }),
    post: (path, body) =>
      raw(path, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify(body ?? {}),
      }),
  };
}

export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const dir = writeTree({ "jitflow.config.ts": options.config, ...options.files });
  for (const [k, v] of Object.entries(options.env ?? {})) process.env[k] = v;
  const database = options.database ?? (await createSqliteDatabase());
  const server = await startServer({
    config: join(dir, "jitflow.config.ts"),
    databaseUrl: database.url,
    port: options.port ?? 0,
    host: options.host ?? "127.0.0.1",
    logger: options.logger ?? pino({ level: "silent" }),
    clock: options.clock,
    background: options.background,
  });
  const tokens = new Map<string, string>();
  for (const [email, role] of Object.entries(users)) {
    const { token } = await createToken(
      server.deps.store.db,
      { user: email, role, name: "test", expiresAt: null },
      Date.now(),
    );
    tokens.set(email, token);
  }
  const tokenOf = (email: string) => {
    const token = tokens.get(email);
    if (!token) throw new Error(`no test token for ${email}`);
    return token;
  };
  return {
    url: server.url,
    dir,
    server,
    as: (email) => client(server.url, tokenOf(email)),
    token: tokenOf,
    async close() {
      await server.close();
      if (!options.database) await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * How long a test waits for something that should happen by itself before calling it a failure: only a
 * bound on a wait that ends as soon as the condition holds, so it is generous, for a machine whose cores
 * are kept busy by other work.
 */
export const patienceMs = 60_000;

/** Polls until check() returns a value other than undefined, or throws after the deadline. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = patienceMs,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until a request reaches one of the states. */
export async function waitForState(
  c: Client,
  id: string,
  states: string[],
  timeoutMs = patienceMs,
): Promise<any> {
  return eventually(
    async () => {
      const res = await c.get(`/api/v1/requests/${id}`);
      return states.includes(res.body?.state) ? res.body : undefined;
    },
    `request ${id} to reach ${states.join("|")}`,
    timeoutMs,
  );
}

export const importJitflow = 'import { defineConfig, env } from "jitflow";';

/** A port nothing listens on now on 127.0.0.1 (for a process that must be told its port: nginx, a container). */
export async function freePort(): Promise<number> {
  const server = createNetServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
