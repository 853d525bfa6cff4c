// API tokens: created once and shown once, stored only as a SHA-256 hash, revocable, optionally expiring.

import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database, TokensTable } from "./schema.ts";

export const tokenRoles = ["admin", "member", "bot"] as const;
export type TokenRole = (typeof tokenRoles)[number];

export interface TokenInfo {
  id: string;
  name: string;
  user: string;
  role: TokenRole;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toTokenInfo(row: TokensTable): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    user: row.user_email,
    role: row.role as TokenRole,
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: iso(row.expires_at),
    revokedAt: iso(row.revoked_at),
    lastUsedAt: iso(row.last_used_at),
  };
}

/** Creates a token; the secret is returned here and nowhere else. */
export async function createToken(
  db: Kysely<Database>,
  input: { user: string; role: TokenRole; name: string; expiresAt: number | null },
  now: number,
): Promise<{ token: string; info: TokenInfo }> {
  const id = randomUUID();
  const token = `jft_${randomBytes(32).toString("base64url")}`;
  const row: TokensTable = {
    id,
    name: input.name,
    user_email: input.user.toLowerCase(),
    role: input.role,
    hash: hashToken(token),
    created_at: now,
    expires_at: input.expiresAt,
    revoked_at: null,
    last_used_at: null,
  };
  await db.insertInto("tokens").values(row).execute();
  return { token, info: toTokenInfo(row) };
}

export async function findToken(db: Kysely<Database>, token: string): Promise<TokensTable | undefined> {
  return db.selectFrom("tokens").selectAll().where("hash", "=", hashToken(token)).executeTakeFirst();
}

export async function touchToken(db: Kysely<Database>, id: string, now: number): Promise<void> {
  await db.updateTable("tokens").set({ last_used_at: now }).where("id", "=", id).execute();
}

export async function listTokens(db: Kysely<Database>): Promise<TokenInfo[]> {
  const rows = await db.selectFrom("tokens").selectAll().orderBy("created_at").execute();
  return rows.map(toTokenInfo);
}

/** Revokes a token by id; false when there is no such token. */
export async function revokeToken(db: Kysely<Database>, id: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable("tokens")
    .set({ revoked_at: now })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 1) return true;
  return (await db.selectFrom("tokens").select("id").where("id", "=", id).executeTakeFirst()) !== undefined;
}
