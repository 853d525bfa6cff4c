// One `jitflow serve` per SQLite database. A second server on the same file would take its leases back at
// start (an embedded database has one process, so start-up treats every lease as stale) and run the same
// grants and revocations twice. The lock is SQLite's own exclusive lock on a file beside the database: the
// kernel drops it when the process ends, however it ends, so a server killed with -9 never blocks the next.

import { DatabaseSync } from "node:sqlite";
import { JitflowError } from "../errors.ts";

export interface ServeLock {
  /** Where the lock is held: the database's path with "-serve.lock" after it. */
  path: string;
  release(): void;
}

/** Takes the serve lock of the SQLite database at `databasePath`, or throws SERVER_ALREADY_RUNNING. */
export function takeServeLock(databasePath: string): ServeLock {
  const path = `${databasePath}-serve.lock`;
  const lock = new DatabaseSync(path, { timeout: 0 });
  try {
    lock.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = OFF; BEGIN EXCLUSIVE");
  } catch (err) {
    lock.close();
    if ((err as { errcode?: number }).errcode === 5 /* SQLITE_BUSY */) {
      throw new JitflowError(
        "SERVER_ALREADY_RUNNING",
        `another jitflow serve is using the database ${databasePath} (it holds ${path}); stop it first. To run several servers, use PostgreSQL`,
      );
    }
    // A lock file this user may not write (made by another user, a read-only directory): say which.
    throw new Error(`cannot take the serve lock ${path}: ${(err as Error).message}`, { cause: err });
  }
  return { path, release: () => lock.close() };
}
