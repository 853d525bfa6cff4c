// Which jitflow this is, and which database schema it expects and finds (GET /api/v1/version).

import { jitflowVersion } from "../../lib/version.ts";
import { appliedSchemaVersion } from "../../store/database.ts";
import { schemaVersion } from "../../store/schema-version.ts";
import type { EngineDeps } from "../deps.ts";

export interface VersionInfo {
  version: string;
  schema: { expected: string; applied: string | null };
}

export async function versionOf(deps: Pick<EngineDeps, "store">): Promise<VersionInfo> {
  return {
    version: jitflowVersion,
    schema: { expected: schemaVersion, applied: await appliedSchemaVersion(deps.store) },
  };
}
