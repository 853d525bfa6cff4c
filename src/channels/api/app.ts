// The HTTP API: routes under /api/v1, errors turned into responses in one place, OpenAPI from the same schemas.

import { createHash, timingSafeEqual } from "node:crypto";
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { readSecret } from "../../config/secrets.ts";
import type { EngineDeps } from "../../engine/deps.ts";
import { readinessOf } from "../../engine/read/readiness.ts";
import { JitflowError } from "../../errors.ts";
import { metricsResponse } from "../../lib/metrics.ts";
import { maxSlackBodyBytes } from "../slack/receiver.ts";
import type { SlackChannel } from "../slack/slack-channel.ts";
import { registerAuthRoutes } from "../web/auth-routes.ts";
import { compression, loopbackOnly, registerWebApp, securityHeaders } from "../web/static.ts";
import { type ApiEnv, authenticate } from "./auth.ts";
import { registerPreferenceRoutes } from "./preference-routes.ts";
import { registerRoutes } from "./routes.ts";
import { registerSymRoutes } from "./sym-routes.ts";

export interface ApiOptions {
  /** /metrics is served on this port of its own (server.metricsPort), not on this one. */
  metricsPort?: number;
}

/** Whether an Authorization header carries exactly this bearer secret (compared in constant time). */
function bearerIs(header: string | undefined, secret: string): boolean {
  const given = createHash("sha256")
    .update(/^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1] ?? "")
    .digest();
  return timingSafeEqual(given, createHash("sha256").update(secret).digest());
}

export function createApi(
  deps: EngineDeps,
  slack?: SlackChannel,
  options: ApiOptions = {},
): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issues = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
      const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
      return c.json(
        new JitflowError("VALIDATION_FAILED", `invalid ${result.target}: ${summary}`, {
          details: issues,
        }).toJSON(),
        400,
      );
    },
  });

  app.onError((err, c) => {
    if (err instanceof JitflowError) return c.json(err.toJSON(), err.status as 400);
    if (err instanceof HTTPException) {
      if (err.status === 400 && /JSON/i.test(err.message)) {
        return c.json(new JitflowError("INVALID_JSON", "the request body is not valid JSON").toJSON(), 400);
      }
      const code =
        err.status === 413
          ? "BODY_TOO_LARGE"
          : err.status === 415
            ? "UNSUPPORTED_MEDIA_TYPE"
            : err.status === 401
              ? "UNAUTHENTICATED"
              : "VALIDATION_FAILED";
      return c.json(new JitflowError(code, err.message || "bad request").toJSON(), err.status);
    }
    // Input nested so deeply that serialising it overflows the stack: refused, nothing was written.
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      return c.json(
        new JitflowError("VALIDATION_FAILED", "the request body is nested too deeply").toJSON(),
        400,
      );
    }
    deps.logger.error({ err, path: c.req.path }, "unexpected error");
    return c.json(
      { error: { code: "INTERNAL", message: "an unexpected error occurred; it has been logged" } },
      500,
    );
  });
  app.notFound((c) =>
    c.json(new JitflowError("ROUTE_NOT_FOUND", `no route ${c.req.method} ${c.req.path}`).toJSON(), 404),
  );

  if (deps.config.config.web?.auth === "dev") app.use("*", loopbackOnly());
  app.use("*", securityHeaders());
  app.use("*", compression());
  app.use(
    "/auth/*",
    bodyLimit({
      maxSize: 16 * 1024,
      onError: () => {
        throw new JitflowError("BODY_TOO_LARGE", "the request body is larger than 16384 bytes");
      },
    }),
  );
  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/readyz", async (c) => {
    const readiness = await readinessOf(deps);
    return c.json(readiness, readiness.ready ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    if (options.metricsPort !== undefined) {
      throw new JitflowError(
        "ROUTE_NOT_FOUND",
        `metrics are served on port ${options.metricsPort} (server.metricsPort), not here`,
      );
    }
    // On the main port, whoever can reach the server could read them: the scraper's own secret
    // (server.metricsToken), which can read nothing else, or an admin's token.
    const { metricsToken } = deps.config.config.server;
    if (metricsToken && bearerIs(c.req.header("authorization"), readSecret(metricsToken))) {
      return metricsResponse();
    }
    const { actor } = await authenticate(deps, c);
    if (actor.role !== "admin") {
      throw new JitflowError("FORBIDDEN", "only server.metricsToken and admin tokens may read /metrics");
    }
    return metricsResponse();
  });
  app.doc31("/api/v1/openapi.json", {
    openapi: "3.1.0",
    info: { title: "jitflow API", version: "1" },
    security: [{ bearer: [] }],
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });

  const maxBytes = deps.config.config.server.maxBodyBytes;
  app.use(
    "/api/v1/*",
    bodyLimit({
      maxSize: maxBytes,
      onError: () => {
        throw new JitflowError("BODY_TOO_LARGE", `the request body is larger than ${maxBytes} bytes`);
      },
    }),
  );
  app.use("/api/v1/*", async (c, next) => {
    // PostgreSQL text cannot hold NUL, and no field needs one: refuse it before it reaches a query.
    if (/\\u0000|%00/i.test(c.req.url) || (c.req.method !== "GET" && /\\u0000/i.test(await c.req.text()))) {
      throw new JitflowError("VALIDATION_FAILED", "text may not contain NUL characters");
    }
    if (c.req.path === "/api/v1/openapi.json") return next();
    const { actor, source } = await authenticate(deps, c);
    c.set("actor", actor);
    c.set("source", source);
    return next();
  });
  registerRoutes(app, deps);
  registerSymRoutes(app, deps);
  registerPreferenceRoutes(app, deps);

  app.use(
    "/slack/*",
    bodyLimit({
      maxSize: maxSlackBodyBytes,
      onError: () => {
        throw new JitflowError(
          "BODY_TOO_LARGE",
          `the request body is larger than ${maxSlackBodyBytes} bytes`,
        );
      },
    }),
  );
  app.post("/slack/events", (c) => {
    if (!slack) {
      throw new JitflowError(
        "SLACK_NOT_CONFIGURED",
        "Slack is off on this server: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET",
      );
    }
    return slack.handle(c);
  });
  registerAuthRoutes(app, deps);
  // Last: every other GET path is a page of the web app.
  registerWebApp(app);
  return app;
}
