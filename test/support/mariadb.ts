// MariaDB for connector tests: reachable or not, and why the tests skip (or, with CI=true, fail).

import { type Connection, createConnection } from "mysql2/promise";

export const mariadbAdminUrl = process.env.JITFLOW_TEST_MARIADB_URL ?? "mysql://root@127.0.0.1:3306/test";

let reachable: Promise<boolean> | undefined;

export function isMariadbReachable(): Promise<boolean> {
  reachable ??= (async () => {
    try {
      const connection = await createConnection({ uri: mariadbAdminUrl, connectTimeout: 3000 });
      await connection.query("select 1");
      await connection.end();
      return true;
    } catch {
      return false;
    }
  })();
  return reachable;
}

/**
 * Why MariaDB tests cannot run, or undefined when they can. With CI=true a missing server throws
 * instead, so CI never passes by skipping.
 */
export async function mariadbSkipReason(): Promise<string | undefined> {
  if (await isMariadbReachable()) return undefined;
  const message = `MariaDB is not reachable at ${mariadbAdminUrl} (set JITFLOW_TEST_MARIADB_URL); start it with: service mariadb start`;
  if (process.env.CI === "true") throw new Error(message);
  return message;
}

/** A connection as the admin (root) account, for setting up and checking what the tests need. */
export function mariadbAdmin(): Promise<Connection> {
  return createConnection({ uri: mariadbAdminUrl });
}
