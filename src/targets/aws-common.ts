// What the AWS connectors share: the `aws` integration, SDK client options, and how SDK errors are classified.

import { z } from "zod";
import { secretRef } from "../config/schema.ts";
import { readSecret } from "../config/secrets.ts";
import { RetryLaterError } from "../errors.ts";
import { PermanentTargetError } from "./target.ts";

export const awsIntegration = z
  .strictObject({
    type: z.literal("aws"),
    /** The region of the IAM Identity Center instance (IAM is global: any region of the partition works). */
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, { error: 'region must be an AWS region such as "eu-west-1"' }),
    /** Another endpoint than AWS's own (a VPC endpoint, LocalStack, a test fake). */
    endpoint: z.url({ protocol: /^https?$/, error: "endpoint must be an http(s) URL" }).optional(),
    /** Static keys; without them the SDK's default chain is used (environment, instance or task role, SSO profile). */
    accessKeyId: secretRef.optional(),
    secretAccessKey: secretRef.optional(),
    sessionToken: secretRef.optional(),
    /** Attempts per API call, the SDK retrying throttling, 5xx and network errors in between. */
    maxAttempts: z
      .int()
      .min(1, { error: "maxAttempts must be 1 to 10" })
      .max(10, { error: "maxAttempts must be 1 to 10" })
      .default(3),
    /** Time limit of one HTTP request (and of opening its connection). */
    timeoutMs: z.int().min(100).max(120_000).default(10_000),
  })
  .refine((i) => (i.accessKeyId === undefined) === (i.secretAccessKey === undefined), {
    error: "give both accessKeyId and secretAccessKey, or neither (to use the default credential chain)",
  })
  .refine((i) => i.sessionToken === undefined || i.accessKeyId !== undefined, {
    error: "sessionToken needs accessKeyId and secretAccessKey",
  });

export type AwsIntegration = z.output<typeof awsIntegration>;

/** The options every AWS SDK v3 client of ours is created with. */
export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxAttempts: number;
  requestHandler: { requestTimeout: number; connectionTimeout: number; throwOnRequestTimeout: boolean };
}

/** Client options for the integration; reads the secrets, so call it when the first call needs a client. */
export function awsClientConfig(i: AwsIntegration): AwsClientConfig {
  const config: AwsClientConfig = {
    region: i.region,
    maxAttempts: i.maxAttempts,
    // Without throwOnRequestTimeout the SDK only logs a warning when an answer is late, and waits on.
    requestHandler: {
      requestTimeout: i.timeoutMs,
      connectionTimeout: i.timeoutMs,
      throwOnRequestTimeout: true,
    },
  };
  if (i.endpoint !== undefined) config.endpoint = i.endpoint;
  if (i.accessKeyId !== undefined && i.secretAccessKey !== undefined) {
    config.credentials = {
      accessKeyId: readSecret(i.accessKeyId),
      secretAccessKey: readSecret(i.secretAccessKey),
      ...(i.sessionToken ? { sessionToken: readSecret(i.sessionToken) } : {}),
    };
  }
  return config;
}

/** The parts of an SDK service exception we look at (duck-typed: each client has its own classes). */
export interface AwsErrorShape {
  name: string;
  message: string;
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number };
  RetryAfterSeconds?: number;
  $response?: { headers?: Record<string, string> };
}

/** The error's name when AWS answered with an error ("NoSuchEntityException", "ThrottlingException"…), else undefined. */
export function awsErrorName(err: unknown): string | undefined {
  // The SDK puts $metadata on network errors too; only an answer from AWS has a status code.
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as AwsErrorShape;
  return e.$metadata?.httpStatusCode === undefined ? undefined : e.name;
}

/** True when `err` is an AWS service error with one of these names (with or without the `Exception` suffix). */
export function isAwsError(err: unknown, ...names: string[]): boolean {
  const name = awsErrorName(err);
  if (name === undefined) return false;
  const bare = name.replace(/Exception$/, "");
  return names.some((n) => n.replace(/Exception$/, "") === bare);
}

// Codes that mean "not now": AWS asks to slow down, or something else is changing the same thing.
const transient = [
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "ConcurrentModification",
  "ConflictException",
  "InternalServerException",
  "InternalFailure",
  "ServiceFailure",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  // Temporary credentials run out; the default chain fetches new ones on the next call.
  "ExpiredToken",
  "RequestExpired",
];

/**
 * Turns an SDK failure into the error the scheduler understands: PermanentTargetError when retrying
 * cannot help (access denied, not found, invalid input), RetryLaterError when AWS said when to come
 * back, a plain Error (retried with backoff) otherwise. `what` is the message's prefix
 * ("aws_sso: CreateAccountAssignment").
 */
export function classifyAwsError(what: string, err: unknown): Error {
  if (err instanceof PermanentTargetError || err instanceof RetryLaterError) return err;
  const name = awsErrorName(err);
  if (name === undefined) {
    // No answer from AWS: a network error, a timeout, an abort, a missing secret.
    const message = err instanceof Error ? err.message : String(err);
    return new Error(`${what} failed: ${message}`, { cause: err });
  }
  const e = err as AwsErrorShape;
  const message = `${what} failed: ${name}: ${e.message}`;
  const status = e.$metadata?.httpStatusCode;
  if (isAwsError(err, ...transient) || e.$fault === "server" || (status !== undefined && status >= 500)) {
    const retryAfterMs = retryAfter(e);
    return retryAfterMs === undefined
      ? new Error(message, { cause: err })
      : new RetryLaterError(message, retryAfterMs, { cause: err });
  }
  return new PermanentTargetError(message, { cause: err });
}

/** How long AWS asked us to wait (a `RetryAfterSeconds` member or a `Retry-After` header), capped at a day. */
function retryAfter(e: AwsErrorShape): number | undefined {
  let seconds = e.RetryAfterSeconds;
  if (seconds === undefined) {
    const headers = e.$response?.headers ?? {};
    const header = Object.entries(headers).find(([k]) => k.toLowerCase() === "retry-after")?.[1];
    if (header !== undefined && /^\d+$/.test(header.trim())) seconds = Number(header.trim());
  }
  return seconds !== undefined && seconds > 0 ? Math.min(seconds * 1000, 86_400_000) : undefined;
}
