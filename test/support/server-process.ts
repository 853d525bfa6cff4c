// Runs `jitflow serve` as a child process that tests can kill -9, and the CLI's one-shot commands.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const cliPath = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export interface ServerProcess {
  url: string;
  pid: number;
  /** The last lines it printed, for failure messages. */
  output(): string;
  /** kill -9, then wait until it is gone. Does nothing if it already exited. */
  kill(): Promise<void>;
  /** SIGTERM, then wait for the graceful exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** Sends a signal and returns at once. */
  signal(name: NodeJS.Signals): void;
  /** Resolves with the exit code (or the signal that ended it) once the process has exited. */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `jitflow ARGS…` to completion. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliPath, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * Creates an API token with the CLI (the way an operator would: the database made first with `jitflow
 * migrate`, since `tokens` never creates one) and returns it.
 */
export async function createTokenWithCli(databaseUrl: string, user: string, role: string): Promise<string> {
  const migrated = await runCli(["migrate", "--database", databaseUrl]);
  if (migrated.code !== 0) throw new Error(`migrate failed (${migrated.code}): ${migrated.stderr}`);
  const result = await runCli([
    "tokens",
    "create",
    "--user",
    user,
    "--role",
    role,
    "--database",
    databaseUrl,
  ]);
  if (result.code !== 0) throw new Error(`tokens create failed (${result.code}): ${result.stderr}`);
  const token = result.stdout.trim().split("\n").at(-1);
  if (!token) throw new Error(`tokens create printed no token: ${result.stdout}`);
  return token;
}

/**
 * Starts `jitflow serve --config FILE --port 0` and resolves once it logs that it is serving,
 * with the URL it logged. `env` adds to this process's environment.
 */
export async function startServerProcess(options: {
  config: string;
  env: Record<string, string>;
  timeoutMs?: number;
}): Promise<ServerProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [cliPath, "serve", "--config", options.config, "--port", "0", "--host", "127.0.0.1"],
    {
      env: { ...process.env, LOG_LEVEL: "info", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const lines: string[] = [];
  const remember = (line: string) => {
    lines.push(line);
    if (lines.length > 300) lines.shift();
  };
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  let alive = true;
  void exited.then(() => {
    alive = false;
  });

  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start in time:\n${lines.join("\n")}`)),
      options.timeoutMs ?? 30_000,
    );
    // Every line must be read, or a full pipe would block the child.
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", remember);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      remember(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === "jitflow is serving" && entry.url) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not a log line
      }
    });
    void exited.then(([code, signal]) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before serving:\n${lines.join("\n")}`));
    });
  });

  let served: string;
  try {
    served = await url;
  } catch (err) {
    if (alive) child.kill("SIGKILL");
    throw err;
  }
  return {
    url: served,
    pid: child.pid as number,
    output: () => lines.join("\n"),
    async kill() {
      if (!alive) return;
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (alive) child.kill("SIGTERM");
      const [code] = await exited;
      return code;
    },
    signal(name) {
      if (alive) child.kill(name);
    },
    exited,
  };
}
