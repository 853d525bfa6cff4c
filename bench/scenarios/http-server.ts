// A real jitflow HTTP server (startServer: API, scheduler, outbox worker) on a temp database, for
// http-throughput.ts. Prints { url, token, dbFile } as one JSON line, then serves until stdin closes.

import { rmSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { startServer } from "../../src/server.ts";
import { createToken } from "../../src/store/tokens.ts";
import { configFile, tempDir } from "../support.ts";

const dir = tempDir();
const dbFile = join(dir, "jitflow.db");
const server = await startServer({
  config: configFile,
  databaseUrl: `sqlite:${dbFile}`,
  port: 0,
  host: "127.0.0.1",
  logger: pino({ level: "silent" }),
});
const { token } = await createToken(
  server.deps.store.db,
  { user: "bench-bot@example.com", role: "bot", name: "bench", expiresAt: null },
  Date.now(),
);
process.stdout.write(`${JSON.stringify({ url: server.url, token, dbFile })}\n`);
process.stdin.resume();
process.stdin.on("end", async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
