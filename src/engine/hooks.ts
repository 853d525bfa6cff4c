// Runs a flow module's hooks and reducers with a time limit, turning throws and bad returns into values.

import { messageOf } from "../errors.ts";
import type { FlowModule, HookResult } from "../model/types.ts";

export type HookOutcome<T> = { ok: true; value: T } | { ok: false; error: string };

export class HookTimeoutError extends Error {
  constructor(name: string, ms: number) {
    super(`${name} did not finish within ${ms} ms`);
    this.name = "HookTimeoutError";
  }
}

/** Calls fn with a time limit; never throws. */
export async function withTimeLimit<T>(
  name: string,
  ms: number,
  fn: () => Promise<T>,
): Promise<HookOutcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HookTimeoutError(name, ms)), ms);
  });
  try {
    const value = await Promise.race([Promise.resolve().then(fn), timeout]);
    return { ok: true, value };
  } catch (err) {
    return { ok: false, error: `${name} failed: ${messageOf(err)}` };
  } finally {
    clearTimeout(timer);
  }
}

export function isHookResult(value: unknown): value is HookResult {
  if (typeof value !== "object" || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  if (kind === "ignore") return typeof (value as { message?: unknown }).message === "string";
  return kind === "approve" || kind === "deny";
}

type OnHookName = "onPrompt" | "onRequest" | "onApprove" | "onDeny" | "onEscalate" | "onDeescalate";
type AfterHookName =
  | "afterPrompt"
  | "afterRequest"
  | "afterApprove"
  | "afterDeny"
  | "afterEscalate"
  | "afterDeescalate";

/** Runs an `on*` hook; `value` is undefined when the module has no such hook or it returned nothing. */
export async function runOnHook(
  module: FlowModule | undefined,
  name: OnHookName,
  evt: Parameters<NonNullable<FlowModule[OnHookName]>>[0],
  ms: number,
): Promise<HookOutcome<HookResult | undefined>> {
  const hook = module?.[name];
  if (!hook) return { ok: true, value: undefined };
  const outcome = await withTimeLimit(name, ms, () => hook({ ...evt, name }));
  if (!outcome.ok) return outcome;
  if (outcome.value === undefined || outcome.value === null) return { ok: true, value: undefined };
  if (!isHookResult(outcome.value)) {
    return {
      ok: false,
      error: `${name} returned something that is not approve(), deny(), ignore() or nothing`,
    };
  }
  return { ok: true, value: outcome.value };
}

/** Runs an `after*` hook; it cannot change anything, so only its error matters. */
export async function runAfterHook(
  module: FlowModule | undefined,
  name: AfterHookName,
  evt: Parameters<NonNullable<FlowModule[AfterHookName]>>[0],
  ms: number,
): Promise<string | undefined> {
  const hook = module?.[name];
  if (!hook) return undefined;
  const outcome = await withTimeLimit(name, ms, () => hook({ ...evt, name }));
  return outcome.ok ? undefined : outcome.error;
}
