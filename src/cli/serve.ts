// `jitflow serve`: runs the server until SIGINT or SIGTERM, then stops within the grace period and exits.

import type { Command } from "commander";
import { defaultShutdownGraceMs } from "../config/server-defaults.ts";

/** How long after the grace period a stop that has not finished is cut short (exit 1). */
const hardStopAfterGraceMs = 5_000;

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "run the server (config: --config, $JITFLOW_CONFIG, ./jitflow.config.ts, else the quickstart)",
    )
    .option("--config <file>", "config module")
    .option("--port <port>", "port to listen on (default $PORT or 8080)", (v) => Number.parseInt(v, 10))
    .option("--host <host>", "address to bind (default $HOST or 127.0.0.1)")
    .action(async (options: { config?: string; port?: number; host?: string }) => {
      // Listening before the server starts: a signal that comes while it starts stops it once it has.
      let stopAsked: NodeJS.Signals | undefined;
      let stopNow: ((signal: NodeJS.Signals) => void) | undefined;
      /** The grace period once the config is known; until then its default. */
      let graceMs = defaultShutdownGraceMs;
      const onSignal = (signal: NodeJS.Signals) => {
        // A terminal's Ctrl-C reaches both `npm start` and this process, and npm passes it on as well:
        // a second signal is the same request to stop, bounded by the same grace period.
        if (stopAsked) return;
        stopAsked = signal;
        // However stopping goes (a start that hangs, a database that does not answer while leases are
        // given back or the pool drains), the process is gone a little after the grace period.
        setTimeout(() => {
          process.stderr.write(
            `jitflow: still stopping ${graceMs + hardStopAfterGraceMs} ms after ${signal}; exiting now\n`,
          );
          process.exit(1);
        }, graceMs + hardStopAfterGraceMs).unref();
        stopNow?.(signal);
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);

      // Loaded here so that other commands start fast.
      const { startServer } = await import("../server.ts");
      const server = await startServer({ config: options.config, port: options.port, host: options.host });
      const { logger } = server.deps;
      graceMs = server.deps.config.config.server.shutdownGraceMs;
      stopNow = (signal) => {
        const started = performance.now();
        server.close().then(
          ({ finished }) => {
            const ms = Math.round(performance.now() - started);
            if (finished) logger.info({ signal, ms }, "jitflow stopped");
            else logger.warn({ signal, ms }, "jitflow stopped after its grace period, with work left undone");
            logger.flush();
            process.exit(finished ? 0 : 1);
          },
          (err: unknown) => {
            logger.error({ err, signal }, "jitflow did not stop cleanly");
            logger.flush();
            process.exit(1);
          },
        );
      };
      if (stopAsked) stopNow(stopAsked);
    });
}
