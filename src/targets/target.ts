// The connector interface every target type implements: escalate, deescalate, list — each idempotent.

import type { z } from "zod";
import type { FlowEvent, FlowModule, TargetInfo } from "../sdk/types.ts";

/** One call to a target, for one request. */
export interface TargetCall {
  evt: FlowEvent;
  /** The flow's implementation module (custom targets call into it). */
  module: FlowModule | undefined;
  signal: AbortSignal;
}

export interface TargetConnector {
  /** Grants access. Granting what already exists is success. */
  escalate(call: TargetCall): Promise<void>;
  /** Removes access. Removing what is already gone is success. */
  deescalate(call: TargetCall): Promise<void>;
  /** Who holds the target now (identities as the target knows them), when the target can tell. */
  list?(ctx: { module: FlowModule | undefined; signal: AbortSignal }): Promise<string[]>;
}

export interface ConnectorType<Settings> {
  type: string;
  /** Validates the target's settings at config load (the `type` and `label` keys are removed first). */
  settings: z.ZodType<Settings>;
  create(info: TargetInfo, settings: Settings): TargetConnector;
}

/** The target refuses for good (unknown group, permission denied): retrying will not help. */
export class PermanentTargetError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PermanentTargetError";
  }
}
