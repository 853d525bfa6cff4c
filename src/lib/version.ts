// jitflow's own version, as its package.json states it.

import { createRequire } from "node:module";

/** The version of this jitflow (package.json's `version`). */
export const jitflowVersion: string = (
  createRequire(import.meta.url)("../../package.json") as { version: string }
).version;
