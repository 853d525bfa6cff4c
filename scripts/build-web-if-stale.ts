// `npm start` in a checkout: builds the web app (web/dist) only when a file it is built from is newer than
// the last build, so that starting the server does not rebuild it every time.

import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const web = fileURLToPath(new URL("../web/", import.meta.url));
const built = join(web, "dist/index.html");

/** The newest modification time under `path` (a file or a folder), skipping the build's own output. */
function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === "dist" || entry === "node_modules") continue;
    latest = Math.max(latest, newest(join(path, entry)));
  }
  return latest;
}

function builtAt(): number | undefined {
  try {
    return statSync(built).mtimeMs;
  } catch {
    return undefined;
  }
}

const last = builtAt();
if (last !== undefined && newest(web) <= last) {
  console.log("the web app is up to date (web/dist)");
} else {
  execFileSync("npm", ["run", "build:web"], { stdio: "inherit" });
}
