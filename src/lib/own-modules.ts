// jitflow's own modules are TypeScript in a checkout (Node strips the types) and JavaScript in the built
// package (dist/): paths that name one of them at run time take the extension this module was loaded with.

/** ".ts" when jitflow runs from its sources, ".js" when it runs from the built package. */
export const ownExtension: ".ts" | ".js" = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/** The URL of one of jitflow's own modules, `path` without its extension, relative to `base` (import.meta.url). */
export function ownModuleUrl(path: string, base: string): string {
  return new URL(`${path}${ownExtension}`, base).href;
}
