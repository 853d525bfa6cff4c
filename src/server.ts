// Wires a running jitflow: config, store and migrations, scheduler, outbox worker, and the HTTP server.

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
import { createEmailSender, createMailer } from "./notify/email/mailer.ts";
import { logPlanner, webhookPlanner } from "./notify/event-planners.ts";
import { createOutboxWorker, type OutboxWorker } from "./notify/outbox-worker.ts";
import { countRequesterEvents } from "./store/audit-log.ts";
import { defaultDatabaseUrl, migrate, openStore, type Store } from "./store/database.ts";
import { releaseAllLeases } from "./store/leases.ts";
import { type EventPlanner, enqueue, type Sender } from "./store/outbox.ts";

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
  deps: EngineDeps;
  scheduler: Scheduler;
  outbox: OutboxWorker;
  drift: DriftReconciler;
  auditHead: AuditHeadPublisher;
  close(): Promise<void>;
}

export function databaseUrlOf(config: LoadedConfig, explicit?: string): string {
  return explicit ?? process.env.JITFLOW_DATABASE_URL ?? config.config.database.url ?? defaultDatabaseUrl;
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
  const store = openStore(databaseUrlOf(config, options.databaseUrl));
  await migrate(store);
  for (const warning of await changedTargetWarnings(store.db, config)) logger.warn(warning);
  const { deps, scheduler, outbox, senders, closers, directory } = createRuntime(
    store,
    config,
    logger,
    options.clock,
  );
  const slack = await slackChannelOf(deps, senders);
  const app = createApi(deps, slack);
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
  const server = serve({
    fetch: (request, env) => inScope(() => app.fetch(request, env)),
    port,
    hostname: host,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const address = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
  if (store.dialect === "sqlite") {
    // The embedded database has one process: leases left by a killed one are stale, and waiting for
    // them to run out would make revocations late.
    await releaseAllLeases(store.db, "requests");
    await releaseAllLeases(store.db, "grants");
    await releaseAllLeases(store.db, "outbox");
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
  logger.info(
    { url, config: config.file, database: store.dialect, flows: config.flows.size, slack: Boolean(slack) },
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
    scheduler: scoped(scheduler),
    outbox: scoped(outbox),
    drift: scoped(drift),
    auditHead,
    async close() {
      // First: open event streams would keep server.close() waiting for ever.
      await eventStreamOf(deps).close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await drift.stop();
      await auditHead.stop();
      await scheduler.stop();
      await outbox.stop();
      for (const close of closers) close();
      await store.close();
      for (const target of config.targets.values()) {
        await target.connector
          .close?.()
          .catch((err: unknown) => logger.warn({ err }, "a target's connections did not close"));
      }
      await closeRecordedTargets(config).catch((err: unknown) =>
        logger.warn({ err }, "a removed target's connections did not close"),
      );
    },
  };
}
