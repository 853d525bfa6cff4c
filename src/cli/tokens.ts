// `jitflow tokens create|list|revoke`: API tokens, stored hashed; the secret is printed once, on the last line.

import type { Command } from "commander";
import { parseDuration } from "../lib/duration.ts";
import type { Store } from "../store/database.ts";
import { createToken, listTokens, revokeToken, type TokenRole, tokenRoles } from "../store/tokens.ts";
import { openExistingStore } from "./database-url.ts";
import { printJson, printTable } from "./output.ts";
import { oneLine } from "./terminal-text.ts";

interface DbOptions {
  config?: string;
  database?: string;
}

async function withStore<T>(options: DbOptions, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openExistingStore(options);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function usage(message: string): never {
  process.stderr.write(`error: ${oneLine(message)}\n`);
  process.exit(2);
}

export function registerTokens(program: Command): void {
  const tokens = program.command("tokens").description("manage API tokens");
  const dbOptions = (c: Command) =>
    c
      .option("--config <file>", "config module (for database.url)")
      .option("--database <url>", "database URL");

  dbOptions(tokens.command("create"))
    .description("create a token and print it once")
    .requiredOption("--user <email>", "whose token it is")
    .option("--role <role>", "admin, member or bot", "member")
    .option("--name <name>", "a name to recognise it by")
    .option("--expires <duration>", "lifetime, e.g. 30d")
    .option("--json", "print JSON")
    .action(
      async (
        options: DbOptions & { user: string; role: string; name?: string; expires?: string; json?: boolean },
      ) => {
        if (!/^[^@\s]+@[^@\s]+$/.test(options.user))
          usage(`--user must be an email address, not "${options.user}"`);
        if (!(tokenRoles as readonly string[]).includes(options.role))
          usage(`--role must be one of ${tokenRoles.join(", ")}`);
        let expiresAt: number | null = null;
        if (options.expires !== undefined) {
          const seconds = parseDuration(options.expires);
          if (seconds === undefined)
            usage(`--expires must be a duration such as 30d, not "${options.expires}"`);
          expiresAt = Date.now() + seconds * 1000;
        }
        const { token, info } = await withStore(options, (store) =>
          createToken(
            store.db,
            {
              user: options.user,
              role: options.role as TokenRole,
              name: options.name ?? `${options.role} token`,
              expiresAt,
            },
            Date.now(),
          ),
        );
        if (options.json) {
          printJson({ ...info, token });
          return;
        }
        process.stdout.write(
          `created token ${info.id} for ${oneLine(info.user)} (${info.role})${info.expiresAt ? `, expires ${info.expiresAt}` : ""}\n`,
        );
        process.stdout.write("store it now: it is shown only once\n");
        process.stdout.write(`${token}\n`);
      },
    );

  dbOptions(tokens.command("list"))
    .description("list tokens (never their secrets)")
    .option("--json", "print JSON")
    .action(async (options: DbOptions & { json?: boolean }) => {
      const list = await withStore(options, (store) => listTokens(store.db));
      if (options.json) printJson(list);
      else
        printTable(list as unknown as Record<string, unknown>[], [
          "id",
          "user",
          "role",
          "name",
          "expiresAt",
          "revokedAt",
          "lastUsedAt",
        ]);
    });

  dbOptions(tokens.command("revoke"))
    .description("revoke a token by id")
    .argument("<id>", "the token's id (from tokens list)")
    .action(async (id: string, options: DbOptions) => {
      const found = await withStore(options, (store) => revokeToken(store.db, id, Date.now()));
      if (!found) {
        process.stderr.write(`error: TOKEN_NOT_FOUND: there is no token ${oneLine(id)}\n`);
        process.exit(1);
      }
      process.stdout.write(`revoked ${oneLine(id)}\n`);
    });
}
