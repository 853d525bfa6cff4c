// Whether this server should be sent traffic (GET /readyz): its database answers, at the schema this version
// expects. (A server answers at all only once its config has loaded, and stops listening when it stops.)

import { appliedSchemaVersion } from "../../store/database.ts";
import { schemaVersion } from "../../store/schema-version.ts";
import type { EngineDeps } from "../deps.ts";

export type Readiness =
  | { ready: true; database: "sqlite" | "postgres"; schema: string }
  | { ready: false; reason: string };

/** How long the database may take to answer before the server is called not ready. */
const databaseAnswerMs = 2000;

export async function readinessOf(deps: Pick<EngineDeps, "store" | "logger">): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), databaseAnswerMs);
  });
  try {
    const applied = await Promise.race([appliedSchemaVersion(deps.store), timedOut]);
    if (applied === "timeout") {
      return { ready: false, reason: `the database did not answer within ${databaseAnswerMs} ms` };
    }
    if (applied !== schemaVersion) {
      return {
        ready: false,
        reason: `the database schema is ${applied ?? "missing"}; this version expects ${schemaVersion} (run jitflow migrate)`,
      };
    }
    return { ready: true, database: deps.store.dialect, schema: applied };
  } catch (err) {
    // The driver's message names hosts, users and databases: it goes to the log, not to whoever asks.
    deps.logger.warn({ err }, "/readyz: the database cannot be reached");
    return { ready: false, reason: "the database cannot be reached (the server's log says why)" };
  } finally {
    clearTimeout(timer);
  }
}
