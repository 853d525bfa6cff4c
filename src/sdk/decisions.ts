// The values `on*` hooks return: approve, deny or ignore.

import type { ApproveResult, DenyResult, IgnoreResult } from "../model/types.ts";

/** Approve the request (from `onRequest`) or let the approval through (from `onApprove`). */
export function approve(options: { reason?: string } = {}): ApproveResult {
  return Object.freeze({ kind: "approve", ...(options.reason ? { reason: options.reason } : {}) });
}

/** Deny the request. */
export function deny(options: { reason?: string } = {}): DenyResult {
  return Object.freeze({ kind: "deny", ...(options.reason ? { reason: options.reason } : {}) });
}

/** Block the action, tell the actor why, and change nothing. */
export function ignore(options: { message: string }): IgnoreResult {
  return Object.freeze({ kind: "ignore", message: options.message });
}
