// The package as a user gets it: `npm pack` run in a copy of this checkout (so that building dist/ and
// web/dist never disturbs the tests running beside it), and the oldest Node.js package.json's engines allows.

import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const repositoryRoot = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);

/** What a copy of the checkout needs to build and pack: the tracked sources, not their build output. */
const packedFrom = [
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "tsconfig.build.json",
  "LICENSE",
  "README.md",
  "CHANGELOG.md",
  "Containerfile",
  "slack-app-manifest.yaml",
  "bin",
  "src",
  "web",
  "docs",
  "examples",
  "deploy",
  "scripts",
];

/** Copies the checkout (without dist/ and web/dist) to a new directory that shares node_modules. */
export function copyCheckout(): string {
  const copy = mkdtempSync(join(tmpdir(), "jitflow-checkout-"));
  for (const entry of packedFrom) {
    cpSync(join(repositoryRoot, entry), join(copy, entry), {
      recursive: true,
      filter: (source) => !/\/(web\/)?dist$|\/node_modules$/.test(source),
    });
  }
  symlinkSync(join(repositoryRoot, "node_modules"), join(copy, "node_modules"));
  return copy;
}

/** `npm pack` in `checkout` (which builds it); resolves with the tarball's path. */
export async function pack(checkout: string, destination: string): Promise<string> {
  await run("npm", ["pack", "--silent", "--pack-destination", destination], {
    cwd: checkout,
    maxBuffer: 16 * 1024 * 1024,
    timeout: 600_000,
  });
  const tarball = readdirSync(destination).find((f) => /^jitflow-.*\.tgz$/.test(f));
  if (!tarball) throw new Error(`npm pack wrote no tarball to ${destination}`);
  return join(destination, tarball);
}

/** The oldest Node.js version package.json's `engines.node` allows: the first it names ("^22.18.0 || …"). */
export function minimumNodeVersion(): string {
  const { engines } = JSON.parse(readFileSync(join(repositoryRoot, "package.json"), "utf8")) as {
    engines: { node: string };
  };
  const match = /^[\^>=~]*(\d+)\.(\d+)(?:\.(\d+))?/.exec(engines.node);
  if (!match) throw new Error(`engines.node does not start with the oldest version: ${engines.node}`);
  return `${match[1]}.${match[2]}.${match[3] ?? 0}`;
}

/** Where .ci/run puts that Node.js (the official binary, from the npm registry); undefined if it is not there. */
export function minimumNodeBinary(): string | undefined {
  const path = join(repositoryRoot, ".ci/cache", `node-${minimumNodeVersion()}`, "bin/node");
  return existsSync(path) ? path : undefined;
}

export function newDirectory(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
