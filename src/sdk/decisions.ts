// The values `on*` hooks return: approve, deny or ignore.

import type { ApproveResult, DenyResult, IgnoreResult } from "../model/types.ts";

/**
 * Approve the request (from `onRequest`) or let the approval through (from `onApprove`).
 *
 * @example
 * export async function onRequest(evt: FlowEvent) {
 *   if (evt.duration <= 900) return approve({ reason: "fifteen minutes or less" });
 * }
 */
export function approve(options: { reason?: string } = {}): ApproveResult {
  return Object.freeze({ kind: "approve", ...(options.reason ? { reason: options.reason } : {}) });
}

/**
 * Deny the request.
 *
 * @example
 * export async function onApprove(evt: FlowEvent<{ ticket: string }>) {
 *   if (!evt.fields.ticket.startsWith("INC-")) return deny({ reason: "an incident ticket is required" });
 * }
 */
export function deny(options: { reason?: string } = {}): DenyResult {
  return Object.freeze({ kind: "deny", ...(options.reason ? { reason: options.reason } : {}) });
}

/**
 * Block the action, tell the actor why, and change nothing.
 *
 * @example
 * export async function onRequest(evt: FlowEvent) {
 *   if (evt.source === "api") return ignore({ message: "ask in Slack, so your team sees it" });
 * }
 */
export function ignore(options: { message: string }): IgnoreResult {
  return Object.freeze({ kind: "ignore", message: options.message });
}
