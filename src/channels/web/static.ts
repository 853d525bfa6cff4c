// Serves the built web app (web/dist): hashed assets cached for a year, index.html for every page path,
// everything compressed.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { serveStatic } from "@hono/node-server/serve-static";
import type { Hono, MiddlewareHandler } from "hono";
import { compress } from "hono/compress";

export const webDist = fileURLToPath(new URL("../../../web/dist/", import.meta.url));

/** Paths that belong to the server, never to the web app's pages. */
const serverPaths = /^\/(api|auth|slack|healthz|metrics)(\/|$)/;

/**
 * The web app's pages run only the app's own files: scripts and styles from this server (no inline code,
 * so injected markup cannot run or restyle anything), calls to this server only, no plugins, no <base>,
 * forms sent only here, and no framing by anyone (the Approve button is not to be clickjacked).
 */
export const pagePolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Every other answer (JSON, the event stream, assets, redirects) loads and runs nothing if opened as a page. */
export const strictPolicy = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Headers for every answer: its Content-Security-Policy (pagePolicy for HTML, strictPolicy for the rest),
 * no framing by other sites, no content-type sniffing, no referrer sent elsewhere.
 */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const html = /^text\/html\b/i.test(c.res.headers.get("content-type") ?? "");
    c.header("Content-Security-Policy", html ? pagePolicy : strictPolicy);
    c.header("X-Frame-Options", "DENY");
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "same-origin");
  };
}

/** In dev sign-in mode, only requests addressed to this machine: a proxy in front must not expose it. */
export function loopbackOnly(): MiddlewareHandler {
  return async (c, next) => {
    const host = (c.req.header("host") ?? "").replace(/:\d+$/, "").toLowerCase();
    if (!["localhost", "127.0.0.1", "[::1]"].includes(host)) {
      return c.text('web.auth is "dev": this server answers only requests addressed to localhost', 403);
    }
    return next();
  };
}

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
  // Files at the top of dist (favicon.svg) are served as they are; every other page path is the app, whose
  // router reads it (a flow name may contain a dot: /request/db.prod is a page, not a file).
  const topFiles = new Set(readdirSync(dist).filter((f) => f !== "index.html" && f !== "assets"));
  app.get("*", async (c, next) => {
    if (serverPaths.test(c.req.path)) return next();
    if (topFiles.has(c.req.path.slice(1))) {
      return serveStatic({
        root: dist,
        onFound: (_path, ctx) => {
          ctx.header("Cache-Control", "public, max-age=3600");
        },
      })(c, next);
    }
    // Never cached as is: after an upgrade it names the new build's assets.
    c.header("Cache-Control", "no-cache");
    return c.html(html);
  });
}
