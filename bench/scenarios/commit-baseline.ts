// Baseline: the raw durable-commit rate of this disk, node:sqlite single-row insert transactions
// with jitflow's pragmas (WAL, synchronous=FULL) on a temp file.

import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { report, tempDir } from "../support.ts";

const count = Number(process.argv[2] ?? 3000);
const dir = tempDir();
try {
  const db = new DatabaseSync(join(dir, "baseline.db"));
  db.exec("pragma journal_mode = wal; pragma synchronous = full; pragma busy_timeout = 5000;");
  db.exec("create table t (id text primary key, created_at integer not null, payload text not null)");
  const insert = db.prepare("insert into t (id, created_at, payload) values (?, ?, ?)");
  const payload = "x".repeat(200);
  const one = () => {
    db.exec("begin");
    insert.run(randomUUID(), Date.now(), payload);
    db.exec("commit");
  };
  for (let i = 0; i < 200; i++) one();
  const started = performance.now();
  for (let i = 0; i < count; i++) one();
  const ms = performance.now() - started;
  db.close();
  report({ commits: count, ms, perSecond: (count / ms) * 1000 });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
