// Applying an extension to an active grant: within the flow's limits, its end moved later, and a target that
// enforces the end itself told through the outbox. Used by extend and by an approved extension request.

import { JitflowError } from "../../errors.ts";
import type { AccessRequest } from "../../store/requests.ts";
import { type ChangeSet, invalidTransition } from "../changes.ts";
import type { EngineDeps } from "../deps.ts";
import { flowOf } from "../engine.ts";

export type ExtensionLimits = NonNullable<ReturnType<typeof flowOf>>["config"]["extensions"] | undefined;

/** The flow's maximum count and total of extensions. */
export function checkExtensionLimits(row: AccessRequest, seconds: number, limits: ExtensionLimits): void {
  if (limits?.max !== undefined && row.extensions >= limits.max) {
    throw new JitflowError(
      "EXTEND_LIMIT",
      `this grant was extended ${row.extensions} times; the flow allows ${limits.max}`,
      {
        details: { max: limits.max, extensions: row.extensions },
      },
    );
  }
  if (limits?.maxTotal !== undefined && row.extendedSeconds + seconds > limits.maxTotal) {
    throw new JitflowError(
      "EXTEND_LIMIT",
      `extensions would add ${row.extendedSeconds + seconds} seconds in all; the flow allows ${limits.maxTotal}`,
      { details: { maxTotal: limits.maxTotal, extendedSeconds: row.extendedSeconds } },
    );
  }
}

/** Moves an active grant's end later, within the flow's limits; the target is told through the outbox. */
export async function applyExtension(
  deps: EngineDeps,
  changes: ChangeSet,
  current: AccessRequest,
  seconds: number,
  actor: string,
  data: Record<string, unknown> = {},
): Promise<AccessRequest> {
  if (current.state !== "active" || current.expiresAt === null)
    throw invalidTransition(current.state, "extend");
  const flow = flowOf(deps, current.flow);
  checkExtensionLimits(current, seconds, flow?.config.extensions);
  const expiresAt = current.expiresAt + seconds * 1000;
  const maxMs = (flow?.maxDuration ?? 0) * 1000;
  if (expiresAt - changes.now > maxMs) {
    throw new JitflowError(
      "EXTEND_TOO_LONG",
      `that would leave ${Math.ceil((expiresAt - changes.now) / 1000)} seconds of access; flow "${current.flow}" allows at most ${maxMs / 1000}`,
      { details: { maxSeconds: maxMs / 1000 } },
    );
  }
  const scheduled = flow?.config.scheduleDeescalation ?? true;
  const extended = await changes.apply(
    current,
    "extend",
    actor,
    {
      expiresAt: expiresAt,
      grant: { dueAt: scheduled ? expiresAt : null },
      extensions: current.extensions + 1,
      extendedSeconds: current.extendedSeconds + seconds,
    },
    { by: seconds, expiresAt: new Date(expiresAt).toISOString(), ...data },
  );
  // Targets that enforce the end themselves (a login's VALID UNTIL) are told the new one, through
  // the outbox so a crash cannot lose it.
  const target = current.target === null ? undefined : deps.config.targets.get(current.target);
  if (scheduled && target?.connector.setExpiry) {
    changes.messages.push({
      kind: "target.expiry",
      payload: { requestId: current.id },
      requestId: current.id,
      orderKey: `target.expiry:${current.id}`,
    });
  }
  return extended;
}
