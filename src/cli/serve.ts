// `jitflow serve`: runs the server until SIGINT or SIGTERM.

import type { Command } from "commander";

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
      // Loaded here so that other commands start fast.
      const { startServer } = await import("../server.ts");
      const server = await startServer({ config: options.config, port: options.port, host: options.host });
      let closing = false;
      const shutdown = () => {
        if (closing) return;
        closing = true;
        server.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on("SIGINT", shutdown);
      process.on("SIGTERM", shutdown);
    });
}
