// Makes `import … from "jitflow"` resolve to this running jitflow from any directory, and user modules ESM.

import { readFileSync } from "node:fs";
import { registerHooks } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ownModuleUrl } from "../lib/own-modules.ts";

const sdkUrl = ownModuleUrl("../sdk/index", import.meta.url);
let installed = false;

/** Installs the resolve/load hooks once per process. */
export function installModuleHooks(): void {
  if (installed) return;
  installed = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === "jitflow") return { url: sdkUrl, shortCircuit: true };
      return nextResolve(specifier, context);
    },
    load(url, context, nextLoad) {
      const result = nextLoad(url, context);
      // Configs and flow modules are ES modules whatever a surrounding package.json says.
      if (!url.startsWith("file:") || fileURLToPath(url).includes("/node_modules/")) return result;
      const asModule =
        result.format === "commonjs-typescript" && url.endsWith(".ts")
          ? "module-typescript"
          : result.format === "commonjs" && url.endsWith(".js")
            ? "module"
            : undefined;
      if (!asModule) return result;
      return {
        format: asModule,
        source: result.source ?? readFileSync(fileURLToPath(url)),
        shortCircuit: true,
      };
    },
  });
}

export function fileUrl(path: string): string {
  return pathToFileURL(path).href;
}
