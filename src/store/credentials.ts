// Temporary logins' credentials, sealed with AES-256-GCM until their requester reads them; deleted when the grant ends.

import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { GrantCredentials } from "../model/types.ts";
import type { Executor } from "./requests.ts";

/** The 32-byte key from its base64 or hex text; undefined if it is neither. */
export function parseKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex");
  // Strict base64 of exactly 32 bytes: a 43-character passphrase is not a key.
  if (!/^[A-Za-z0-9+/]{43}=$/.test(trimmed)) return undefined;
  const key = Buffer.from(trimmed, "base64");
  return key.length === 32 && key.toString("base64") === trimmed ? key : undefined;
}

/** `v1.<iv>.<tag>.<ciphertext>`, base64url; the request id is bound in as additional data. */
export function seal(key: Buffer, requestId: string, credentials: GrantCredentials): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(requestId));
  const body = Buffer.concat([cipher.update(JSON.stringify(credentials), "utf8"), cipher.final()]);
  return ["v1", iv, cipher.getAuthTag(), body]
    .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
    .join(".");
}

export function unseal(key: Buffer, requestId: string, sealed: string): GrantCredentials {
  const [version, iv, tag, body] = sealed.split(".");
  if (version !== "v1" || !iv || !tag || body === undefined)
    throw new Error("sealed credentials are malformed");
  const ivBytes = Buffer.from(iv, "base64url");
  const tagBytes = Buffer.from(tag, "base64url");
  if (ivBytes.length !== 12 || tagBytes.length !== 16) throw new Error("sealed credentials are malformed");
  // The full 16-byte tag only: a shortened one would be accepted otherwise.
  const decipher = createDecipheriv("aes-256-gcm", key, ivBytes, { authTagLength: 16 });
  decipher.setAAD(Buffer.from(requestId));
  decipher.setAuthTag(tagBytes);
  const text = Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString(
    "utf8",
  );
  return JSON.parse(text) as GrantCredentials;
}

export async function storeCredentials(
  db: Executor,
  requestId: string,
  sealed: string,
  now: number,
): Promise<void> {
  await db.deleteFrom("grant_credentials").where("request_id", "=", requestId).execute();
  await db
    .insertInto("grant_credentials")
    .values({ request_id: requestId, sealed, created_at: now })
    .execute();
}

export async function readCredentials(db: Executor, requestId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("grant_credentials")
    .select("sealed")
    .where("request_id", "=", requestId)
    .executeTakeFirst();
  return row?.sealed;
}

export async function deleteCredentials(db: Executor, requestIds: string[]): Promise<void> {
  if (requestIds.length === 0) return;
  await db.deleteFrom("grant_credentials").where("request_id", "in", requestIds).execute();
}
