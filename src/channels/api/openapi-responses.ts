// The error responses every API route may give, and a helper for JSON bodies, as the OpenAPI document shows them.

import { ErrorBody } from "./schemas.ts";

export const errors = {
  400: { description: "Invalid input", content: { "application/json": { schema: ErrorBody } } },
  401: {
    description: "Missing, unknown, revoked or expired token",
    content: { "application/json": { schema: ErrorBody } },
  },
  403: { description: "Not allowed", content: { "application/json": { schema: ErrorBody } } },
  404: { description: "Not found", content: { "application/json": { schema: ErrorBody } } },
  409: {
    description: "Not possible in the request's state",
    content: { "application/json": { schema: ErrorBody } },
  },
} as const;

export const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
