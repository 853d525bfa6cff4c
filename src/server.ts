// Wires a running jitflow: config, store and migrations, scheduler, outbox worker, and the HTTP server.

import type { Server as HttpServer, IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type Logger, pino } from "pino";
import { createApi } from "./channels/api/app.ts";
import { eventStreamOf } from "./channels/api/stream.ts";
import { createFanOutSender, emailPlanner } from "./channels/email/fan-out.ts";
import { slackPlanner } from "./channels/slack/planner.ts";
import type { SlackChannel } from "./channels/slack/slack-channel.ts";
import { createDirectory, type Directory } from "./directory/directory.ts";
import { type AuditHeadPublisher, createAuditHeadPublisher } from "./engine/audit-head-publisher.ts";
import type { EngineDeps } from "./engine/deps.ts";
import { createDriftReconciler, type DriftReconciler } from "./engine/drift.ts";
import { changedTargetWarnings, closeRecordedTargets } from "./engine/granted-targets.ts";
import { type HelperContext, withHelpers } from "./engine/hook-helpers.ts";
import { type LoadedConfig, loadConfig } from "./engine/load-config.ts";
import { createScheduler, type Scheduler } from "./engine/scheduler/loop.ts";
import { targetExpirySender } from "./engine/target-expiry.ts";
import { type Clock, systemClock } from "./lib/clock.ts";
import { metricsResponse } from "./lib/metrics.ts";
import { createEmailSender, createMailer } from "./notify/email/mailer.ts";
import { logPlanner, webhookPlanner } from "./notify/event-planners.ts";
import { createOutboxWorker, type OutboxWorker } from "./notify/outbox-worker.ts";
import { countRequesterEvents } from "./store/audit-log.ts";
import { migrate, openStore, type Store } from "./store/database.ts";
import { chooseDatabase, describeDatabase, sqlitePathOf } from "./store/database-url.ts";
import { releaseLeases } from "./store/leases.ts";
import { type EventPlanner, enqueue, type Sender } from "./store/outbox.ts";
import { type ServeLock, takeServeLock } from "./store/serve-lock.ts";

export interface ServerOptions {
  config?: string | LoadedConfig;
  databaseUrl?: string;
  port?: number;
  host?: string;
  logger?: Logger;
  clock?: Clock;
  /** Start the scheduler and outbox worker (default true). */
  background?: boolean;
}

export interface RunningServer {
  url: string;
  /** Where /metrics is served when server.metricsPort is set. */
  metricsUrl?: string;
  deps: EngineDeps;
  scheduler: Scheduler;
  outbox: OutboxWorker;
  drift: DriftReconciler;
  auditHead: AuditHeadPublisher;
  /**
   * Stops: no new connections or work; the requests, scheduler and outbox batches in flight may finish
   * within `graceMs` (default server.shutdownGraceMs); leases still held are given back; the database closes.
   * Resolves to whether everything in flight finished in time.
   */
  close(options?: { graceMs?: number }): Promise<{ finished: boolean }>;
}

export function createLogger(): Logger {
  return pino({ level: process.env.LOG_LEVEL ?? "info", redact: ["*.token", "*.secret", "*.password"] });
}

/** Builds the engine's dependencies and workers over an open store (no HTTP). */
export function createRuntime(
  store: Store,
  config: LoadedConfig,
  logger: Logger,
  clock: Clock = systemClock,
): {
  deps: EngineDeps;
  scheduler: Scheduler;
  outbox: OutboxWorker;
  senders: Map<string, Sender>;
  /** Connections to close when the server stops (the SMTP pool). */
  closers: (() => void)[];
  directory: Directory;
} {
  const senders = new Map<string, Sender>();
  const closers: (() => void)[] = [];
  const outbox = createOutboxWorker({ store, config, clock, logger, senders });
  const planners = plannersFor(config);
  const scheduler = createScheduler({ store, config, clock, logger, planners, notify: () => outbox.wake() });
  const directory = createDirectory(config, clock);
  const deps: EngineDeps = {
    store,
    config,
    clock,
    logger,
    planners,
    wake: (at) => scheduler.wake(at),
    notify: () => outbox.wake(),
    lookups: directory,
  };
  senders.set("target.expiry", targetExpirySender(deps));
  senders.set("notify", createFanOutSender(deps));
  if (config.config.email) {
    const mailer = createMailer(config.config.email);
    senders.set("email", createEmailSender(mailer));
    closers.push(() => mailer.close());
  }
  return { deps, scheduler, outbox, senders, closers, directory };
}

/** How events become messages: log lines and webhooks always, Slack and email when they are configured. */
function plannersFor(config: LoadedConfig): EventPlanner[] {
  const planners = [logPlanner, webhookPlanner(config.config.notify.webhooks)];
  if (config.slack) planners.push(slackPlanner(config));
  if (config.config.email) planners.push(emailPlanner);
  return planners;
}

/** What the hook helpers of flow modules (slack, okta, pagerduty, email, countEvents) use. */
function helperContext(deps: EngineDeps, directory: Directory): HelperContext {
  return {
    directory,
    email: deps.config.config.email !== undefined,
    now: () => deps.clock.now(),
    async enqueue(messages) {
      const now = deps.clock.now();
      await deps.store.transaction((trx) => enqueue(trx, messages, now));
      deps.notify();
    },
    countEvents: (requester, query, since) => countRequesterEvents(deps.store.db, requester, query, since),
  };
}

/** The Slack channel when Slack is on; Bolt and the Web API client are loaded only then. */
async function slackChannelOf(
  deps: EngineDeps,
  senders: Map<string, Sender>,
): Promise<SlackChannel | undefined> {
  if (!deps.config.slack) return undefined;
  const { createSlackChannel } = await import("./channels/slack/slack-channel.ts");
  const slack = createSlackChannel(deps, deps.config.slack);
  for (const [kind, sender] of slack.senders) senders.set(kind, sender);
  return slack;
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger();
  const config = typeof options.config === "object" ? options.config : await loadConfig(options.config);
  const { url: databaseUrl } = chooseDatabase(options.databaseUrl, config);
  const store = openStore(databaseUrl);
  const sqlitePath = sqlitePathOf(databaseUrl);
  let serveLock: ServeLock | undefined;
  /** A start that failed part way leaves nothing held: the database and its serve lock are let go. */
  const abandon = async () => {
    serveLock?.release();
    await store.close();
  };
  try {
    if (sqlitePath !== undefined) serveLock = takeServeLock(sqlitePath);
    await migrate(store, { described: describeDatabase(databaseUrl) });
  } catch (err) {
    await abandon();
    throw err;
  }
  for (const warning of await changedTargetWarnings(store.db, config)) logger.warn(warning);
  const { deps, scheduler, outbox, senders, closers, directory } = createRuntime(
    store,
    config,
    logger,
    options.clock,
  );
  const slack = await slackChannelOf(deps, senders);
  const helpers = helperContext(deps, directory);
  /** What runs for this server, hooks included, runs with its helpers. */
  const inScope = <T>(work: () => T): T => withHelpers(helpers, work);
  /** A background worker whose start and hand-run passes run in that scope. */
  const scoped = <W extends { start(): void; runOnce(): Promise<void> }>(worker: W): W => ({
    ...worker,
    start: () => inScope(() => worker.start()),
    runOnce: () => inScope(() => worker.runOnce()),
  });

  const port =
    options.port ?? (process.env.PORT ? Number(process.env.PORT) : (config.config.server.port ?? 8080));
  let host = options.host ?? process.env.HOST ?? config.config.server.host ?? "127.0.0.1";
  if (config.config.web?.auth === "dev" && !["127.0.0.1", "localhost", "::1"].includes(host)) {
    // Anyone who can reach a dev sign-in can be anyone: it never listens beyond this machine.
    logger.warn({ host }, 'web.auth is "dev": listening on 127.0.0.1 only, not on the configured host');
    host = "127.0.0.1";
  }
  // Metrics first, so that the API can say where they are.
  const { metricsPort, metricsHost = host } = config.config.server;
  let metricsServer: HttpServer | undefined;
  if (metricsPort !== undefined) {
    metricsServer = await listen(
      (request) =>
        new URL(request.url).pathname === "/metrics"
          ? metricsResponse()
          : new Response("not found: this port serves /metrics only\n", { status: 404 }),
      metricsPort,
      metricsHost,
    ).catch(async (err: unknown) => {
      await abandon();
      throw err;
    });
  }
  const app = createApi(deps, slack, {
    metricsPort: metricsServer ? (metricsServer.address() as AddressInfo).port : undefined,
  });
  const server = await listen((request, env) => inScope(() => app.fetch(request, env)), port, host).catch(
    async (err: unknown) => {
      await new Promise((resolve) => (metricsServer ? metricsServer.close(resolve) : resolve(undefined)));
      await abandon();
      throw err;
    },
  );
  const url = urlOf(server, host);
  if (store.dialect === "sqlite") {
    // The embedded database has one process: leases left by a killed one are stale, and waiting for
    // them to run out would make revocations late.
    for (const table of ["requests", "grants", "outbox"] as const)
      await releaseLeases(store.db, table, "any");
  }
  const drift = createDriftReconciler(deps);
  const auditHead = createAuditHeadPublisher(deps);
  if (options.background !== false) {
    // Their timers keep the scope they were started in.
    inScope(() => {
      scheduler.start();
      outbox.start();
      drift.start();
      auditHead.start();
    });
  }
  const metricsUrl = metricsServer ? `${urlOf(metricsServer, metricsHost)}/metrics` : undefined;
  logger.info(
    {
      url,
      ...(metricsUrl ? { metrics: metricsUrl } : {}),
      config: config.file,
      database: describeDatabase(databaseUrl),
      node: process.version,
      flows: config.flows.size,
      slack: Boolean(slack),
    },
    "jitflow is serving",
  );
  if (!slack) {
    logger.info(
      "Slack is off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to turn it on (see docs/slack.md)",
    );
  }

  return {
    url,
    deps,
    // Passes run by hand (tests, benchmarks) run with the helpers too.
    ...(metricsUrl ? { metricsUrl } : {}),
    scheduler: scoped(scheduler),
    outbox: scoped(outbox),
    drift: scoped(drift),
    auditHead,
    async close(closeOptions = {}) {
      const graceMs = closeOptions.graceMs ?? config.config.server.shutdownGraceMs;
      // First: open event streams would keep server.close() waiting for ever.
      await eventStreamOf(deps).close();
      // No new connections; requests in flight finish (idle keep-alive connections are closed now), and
      // a client that sends another on a kept-alive connection gets its answer and the connection closed.
      for (const http of [server, metricsServer]) {
        http?.on("request", (_request: IncomingMessage, response: ServerResponse) => {
          response.setHeader("connection", "close");
        });
      }
      const served = Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        metricsServer && new Promise<void>((resolve) => metricsServer.close(() => resolve())),
      ]);
      // No new work; the batches in flight finish.
      const worked = Promise.all([drift.stop(), auditHead.stop(), scheduler.stop(), outbox.stop()]);
      const finished = await withinMs(Promise.all([served, worked]), graceMs);
      if (!finished) {
        server.closeAllConnections();
        metricsServer?.closeAllConnections();
        logger.warn(
          { graceMs },
          "work was still running when the grace period ran out; giving its leases back",
        );
      }
      // Whatever another replica should take up now rather than when the lease runs out.
      await Promise.all([scheduler.releaseLeases(), outbox.releaseLeases()]).catch((err: unknown) =>
        logger.warn({ err }, "could not give leases back; they run out by themselves"),
      );
      for (const close of closers) close();
      await store.close();
      serveLock?.release();
      for (const target of config.targets.values()) {
        await target.connector
          .close?.()
          .catch((err: unknown) => logger.warn({ err }, "a target's connections did not close"));
      }
      await closeRecordedTargets(config).catch((err: unknown) =>
        logger.warn({ err }, "a removed target's connections did not close"),
      );
      return { finished };
    },
  };
}

/** Starts an HTTP server and resolves once it listens. */
async function listen(
  fetch: (request: Request, env: unknown) => Response | Promise<Response>,
  port: number,
  hostname: string,
): Promise<HttpServer> {
  const server = serve({ fetch, port, hostname }) as HttpServer;
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  return server;
}

function urlOf(server: HttpServer, host: string): string {
  const { port } = server.address() as AddressInfo;
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Whether `work` settles within `ms` (it goes on either way). */
async function withinMs(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
