// Serves the built web app (web/dist): hashed assets cached for a year, index.html for every page path,
// everything compressed.

import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { serveStatic } from "@hono/node-server/serve-static";
import type { Hono, MiddlewareHandler } from "hono";
import { compress } from "hono/compress";

export const webDist = fileURLToPath(new URL("../../../web/dist/", import.meta.url));

/** Paths that belong to the server, never to the web app's pages. */
const serverPaths = /^\/(api|auth|slack|healthz|metrics)(\/|$)/;

/** Compresses every answer but the event stream, which must reach the browser as it is written. */
export function compression(): MiddlewareHandler {
  const compressing = compress();
  return (c, next) => (c.req.path === "/api/v1/stream" ? next() : compressing(c, next));
}

// biome-ignore lint/suspicious/noExplicitAny: mounted on the API's OpenAPIHono, whatever its env.
export function registerWebApp(app: Hono<any>, dist = webDist): void {
  const index = `${dist}index.html`;
  if (!existsSync(index)) {
    app.get("/", (c) =>
      c.text("The web app is not built here: run `npm run build:web` (npm install does it).", 404),
    );
    return;
  }
  const html = readFileSync(index, "utf8");
  app.use(
    "/assets/*",
    serveStatic({
      root: dist,
      onFound: (_path, c) => {
        // File names carry a hash of their content: a new build has new names.
        c.header("Cache-Control", "public, max-age=31536000, immutable");
      },
    }),
  );
  app.get("*", async (c, next) => {
    if (serverPaths.test(c.req.path)) return next();
    if (/\.[a-z0-9]+$/i.test(c.req.path)) {
      return serveStatic({
        root: dist,
        onFound: (_path, ctx) => {
          ctx.header("Cache-Control", "public, max-age=3600");
        },
      })(c, next);
    }
    c.header("Cache-Control", "no-cache");
    return c.html(html);
  });
}
